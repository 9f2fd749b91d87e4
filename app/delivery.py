"""From webhook to reply, losing nothing: inbound events are stored (deduplicated) before the
webhook is acknowledged; a worker answers them and writes replies to the outbox; a sender
delivers the outbox with retries, in order per conversation, and records permanent failures
on an escalation for staff. Both loops resume after a restart from what the database holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app import models, storage
from app.models import utcnow
from app.service import ConversationService, Runtime
from app.text import fold
from app.windows import aware, decide
from webhooks.base import (
    FEEDBACK_HELPFUL,
    FEEDBACK_WRONG,
    FOLLOW,
    NON_TEXT,
    OWN_ECHO,
    STAFF_ECHO,
    TEXT,
    Channel,
    Choice,
    InboundEvent,
    OutgoingMessage,
)

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
# a claim older than this belongs to a worker that died (sends time out long before)
STALE_CLAIM = 120.0
_FEEDBACK_WORDS = {"huu ich": True, "chua dung": False}


class NoSuchConversation(LookupError):
    pass


class WindowClosed(RuntimeError):
    """A staff reply the platform would refuse; the message says why, in Vietnamese."""


@dataclass
class Stored:
    new: int
    duplicates: int


def _choices(reply) -> list[Choice]:
    return [Choice(c.title, c.short_title, c.entry_id) for c in reply.choices]


class Delivery:
    def __init__(self, runtime: Runtime, channels: dict[str, Channel]):
        self.runtime = runtime
        self.channels = channels
        self.conversations = ConversationService(runtime)
        self._wake_inbound = threading.Event()
        self._wake_outbox = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # how long an idle loop sleeps; woken at once by this process's webhooks, so a separate
        # worker process (`bhxh-bot worker`) polls the database at this interval
        self.idle_wait = 0.5
        self._senders = ThreadPoolExecutor(max_workers=runtime.settings.send_concurrency, thread_name_prefix="send")

    @property
    def db(self):
        return self.runtime.db

    @property
    def settings(self):
        return self.runtime.settings

    # --- inbound: store first, answer later -----------------------------------------

    def store(self, events: list[InboundEvent]) -> Stored:
        """Persist webhook events; a redelivered event (same platform id) is dropped here."""
        new = dup = 0
        with Session(self.db) as session:
            for ev in events:
                record = models.InboundRecord(
                    channel=ev.channel, dedupe_key=ev.dedupe_key[:250], kind=ev.kind, user_id=ev.user_id[:120],
                    text=ev.text, payload=ev.payload, platform_message_id=ev.platform_message_id,
                    staff_id=ev.staff_id, status="pending" if ev.kind != "ignored" else "done",
                )
                try:
                    with session.begin_nested():
                        session.add(record)
                    new += 1
                except IntegrityError:
                    dup += 1
            session.commit()
        if new:
            self._wake_inbound.set()
        return Stored(new, dup)

    def process_pending(self, limit: int = 100) -> int:
        table = models.InboundRecord
        with Session(self.db) as session:
            rows = list(session.exec(select(table.id, table.channel, table.user_id, table.status)
                                     .where(table.status.in_(("pending", "working"))).order_by(table.id).limit(limit * 5)))
        done = 0
        busy: set[tuple[str, str]] = set()
        for record_id, channel, user, status in rows:
            if (channel, user) in busy:
                continue  # one message per citizen at a time, in order, across workers and processes
            busy.add((channel, user))
            if status != "pending" or not self._claim(table, record_id, "pending", "working"):
                continue  # another worker has it
            with Session(self.db) as session:
                record = session.get(models.InboundRecord, record_id)
            try:
                self._handle(record)
                status, error = "done", ""
            except Exception as exc:  # one bad event never stops the worker
                log.exception("inbound event %s failed", record_id)
                status, error = "failed", repr(exc)[:500]
            with Session(self.db) as session:
                session.exec(update(models.InboundRecord).where(models.InboundRecord.id == record_id)
                             .values(status=status, error=error, attempts=models.InboundRecord.attempts + 1))
                session.commit()
            done += 1
        return done

    def _claim(self, table, row_id: int, old: str, new: str) -> bool:
        with Session(self.db) as session:
            result = session.exec(update(table).where(table.id == row_id, table.status == old)
                                  .values(status=new, claimed_at=utcnow()))
            session.commit()
            return result.rowcount == 1

    def _handle(self, record: models.InboundRecord) -> None:
        now = utcnow()
        with Session(self.db) as session:
            conv = storage.get_conversation(session, record.channel, record.user_id)
            conv_id = conv.id
            if record.kind == OWN_ECHO:
                # our own send coming back: confirms delivery (it may arrive before the send call returns)
                if record.platform_message_id:
                    session.exec(update(models.OutboxMessage)
                                 .where(models.OutboxMessage.channel == record.channel,
                                        models.OutboxMessage.platform_message_id == record.platform_message_id)
                                 .values(echoed_at=now))
                    session.commit()
                return
            if record.kind == STAFF_ECHO:
                # a person replied in the platform's own inbox: record it and keep the bot out of the way
                session.add(models.Message(conversation_id=conv_id, direction="out", author="staff", text=record.text))
                conv.bot_paused_until = now + dt.timedelta(hours=self.settings.bot_quiet_hours)
                session.add(conv)
                session.commit()
                return
            conv.last_inbound_at = now
            if record.platform_message_id:
                conv.last_platform_message_id = record.platform_message_id
            session.add(conv)
            session.commit()
            paused = aware(conv.bot_paused_until) is not None and aware(conv.bot_paused_until) > now
            if paused:
                text = record.text or "[tin nhắn không phải chữ]"
                session.add(models.Message(conversation_id=conv_id, direction="in", author="citizen", text=text))
                session.commit()
                return
            if record.kind == FOLLOW:
                reply = self.runtime.engine.welcome()
                session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=reply.text,
                                           outcome=reply.outcome))
                session.commit()
                self.enqueue(conv_id, OutgoingMessage(reply.body, _choices(reply), reply.choices_prompt), "bot")
                return
            if record.kind == NON_TEXT:
                text = self.runtime.engine.non_text_reply()
                session.add(models.Message(conversation_id=conv_id, direction="in", author="citizen",
                                           text=record.text or "[hình ảnh, nhãn dán hoặc tệp]"))
                session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=text))
                session.commit()
                self.enqueue(conv_id, OutgoingMessage(text), "bot")
                return
            helpful = self._feedback(record)
            if helpful is not None and conv.last_answer_message_id:
                answered = session.get(models.Message, conv.last_answer_message_id)
                session.add(models.Feedback(conversation_id=conv_id, message_id=conv.last_answer_message_id,
                                            entry_id=answered.entry_id if answered else None, helpful=helpful))
                conv.last_answer_message_id = None
                session.add(conv)
                text = ("Cảm ơn bạn đã góp ý!" if helpful else
                        "Cảm ơn bạn đã góp ý. Bạn có thể nhắn lại câu hỏi chi tiết hơn, hoặc nhắn \"gặp cán bộ\" "
                        "để được cán bộ trả lời.")
                session.add(models.Message(conversation_id=conv_id, direction="in", author="citizen",
                                           text=record.text or ("Hữu ích" if helpful else "Chưa đúng")))
                session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=text))
                session.commit()
                self.enqueue(conv_id, OutgoingMessage(text), "bot")
                return
        chosen = record.payload if record.payload and record.payload in self.runtime.engine.kb.entries else None
        text = record.text or (record.payload or "")
        done = self.conversations.handle_turn(record.channel, record.user_id, text, chosen_entry=chosen,
                                              platform_message_id=record.platform_message_id)
        reply = done.reply
        self.enqueue(done.conversation_id,
                     OutgoingMessage(reply.body, _choices(reply), reply.choices_prompt, feedback=reply.outcome == "answered"),
                     "bot", escalation_id=done.escalation_id)

    @staticmethod
    def _feedback(record: models.InboundRecord) -> bool | None:
        if record.payload in (FEEDBACK_HELPFUL, FEEDBACK_WRONG):
            return record.payload == FEEDBACK_HELPFUL
        if record.kind == TEXT:
            return _FEEDBACK_WORDS.get(" ".join(fold(record.text).split()).strip(" .!"))
        return None

    # --- outbound --------------------------------------------------------------------

    def enqueue(self, conversation_id: int, message: OutgoingMessage, author: str,
                escalation_id: int | None = None) -> list[int]:
        """Write the reply to the outbox (one row per platform message) if its window allows it."""
        with Session(self.db) as session:
            conv = session.get(models.Conversation, conversation_id)
            channel = self.channels.get(conv.channel)
            if channel is None:
                return []  # cli / api conversations: the reply was returned directly
            window = decide(conv.channel, conv.last_inbound_at, utcnow(), author, self.settings.fb_human_agent_approved)
            if not window.allowed:
                if author == "staff":
                    raise WindowClosed(window.reason)
                log.warning("bot reply to conversation %s not sent: %s", conversation_id, window.reason)
                return []
            ids = []
            reply_to = conv.last_platform_message_id if conv.channel == "zalo" and author == "bot" else None
            for part in channel.render(message):
                row = models.OutboxMessage(conversation_id=conversation_id, channel=conv.channel, recipient=conv.external_id,
                                           author=author, payload=part, tag=window.tag, paid=window.paid,
                                           reply_to=reply_to, escalation_id=escalation_id)
                session.add(row)
                session.flush()
                ids.append(row.id)
                reply_to = None
            session.commit()
        self._wake_outbox.set()
        return ids

    def staff_reply(self, conversation_id: int, text: str, staff: str = "") -> list[int]:
        """A staff member's reply, through the conversation's channel, within its window."""
        self._conversation(conversation_id)
        ids = self.enqueue(conversation_id, OutgoingMessage(text), "staff")
        with Session(self.db) as session:
            conv = session.get(models.Conversation, conversation_id)
            session.add(models.Message(conversation_id=conversation_id, direction="out", author="staff", text=text))
            conv.bot_paused_until = utcnow() + dt.timedelta(hours=self.settings.bot_quiet_hours)
            session.add(conv)
            session.commit()
        return ids

    def release(self, conversation_id: int) -> None:
        """Hand the conversation back to the bot."""
        self._conversation(conversation_id)
        with Session(self.db) as session:
            conv = session.get(models.Conversation, conversation_id)
            conv.bot_paused_until = None
            session.add(conv)
            session.commit()

    def _conversation(self, conversation_id: int) -> None:
        with Session(self.db) as session:
            if session.get(models.Conversation, conversation_id) is None:
                raise NoSuchConversation(f"no conversation {conversation_id}")

    def send_due(self, limit: int = 100) -> int:
        now = utcnow()
        with Session(self.db) as session:
            rows = list(session.exec(
                select(models.OutboxMessage.id, models.OutboxMessage.conversation_id, models.OutboxMessage.next_attempt_at)
                .where(models.OutboxMessage.status.in_(("pending", "sending")))
                .order_by(models.OutboxMessage.id).limit(limit * 5)
            ))
        blocked: set[int] = set()
        claimed = []
        for row_id, conv_id, next_at in rows:
            if conv_id in blocked:
                continue
            blocked.add(conv_id)  # later rows of this conversation wait for this one: order is kept
            if aware(next_at) > now:
                continue
            if not self._claim(models.OutboxMessage, row_id, "pending", "sending"):
                continue
            claimed.append(row_id)
            if len(claimed) >= limit:
                break
        # at most one row per conversation is in this batch, so sending them concurrently keeps the order
        list(self._senders.map(self._send_one, claimed))
        return len(claimed)

    def _send_one(self, row_id: int) -> None:
        with Session(self.db) as session:
            row = session.get(models.OutboxMessage, row_id)
            channel = self.channels[row.channel]
            result = channel.send(row.recipient, row.payload, tag=row.tag, reply_to=row.reply_to)
            row.attempts += 1
            if result.ok:
                row.status, row.sent_at = "sent", utcnow()
                row.platform_message_id = result.platform_message_id
                row.error_code, row.last_error = None, ""
            elif result.transient and row.attempts < self.settings.send_max_attempts:
                delay = min(MAX_BACKOFF, 2.0 ** row.attempts) * random.uniform(0.8, 1.2)
                row.status = "pending"
                row.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
                row.error_code, row.last_error = result.error_code, result.error_message[:500]
            else:
                row.status = "failed"
                row.error_code, row.last_error = result.error_code, result.error_message[:500]
                self._show_failure(session, row, result.window_closed)
            session.add(row)
            session.commit()

    def _show_failure(self, session: Session, row: models.OutboxMessage, window_closed: bool) -> None:
        """A reply that can never be delivered goes onto an open escalation, for staff to see."""
        reason = ("Không gửi được tin: đã hết khung thời gian nhắn tin" if window_closed
                  else f"Không gửi được tin (mã lỗi {row.error_code}): {row.last_error}")[:200]
        escalation = session.get(models.Escalation, row.escalation_id) if row.escalation_id else None
        if escalation is None:
            escalation = session.exec(select(models.Escalation).where(
                models.Escalation.conversation_id == row.conversation_id, models.Escalation.status == "open")).first()
        if escalation is None:
            last_in = session.exec(select(models.Message.id).where(models.Message.conversation_id == row.conversation_id)
                                   .order_by(models.Message.id.desc())).first()
            if last_in is None:
                return
            escalation = models.Escalation(conversation_id=row.conversation_id, message_id=last_in, kind="escalated")
        escalation.reason = reason
        session.add(escalation)
        session.flush()
        row.escalation_id = escalation.id

    # --- workers ---------------------------------------------------------------------

    def recover(self, older_than: float = 0.0) -> int:
        """After a crash: events being answered are answered again; sends in flight are retried.

        With `older_than`, only claims older than that many seconds are taken back, so that a
        live worker in another process keeps what it is working on."""
        cutoff = utcnow() - dt.timedelta(seconds=older_than)
        taken = 0
        with Session(self.db) as session:
            for table, status in ((models.InboundRecord, "working"), (models.OutboxMessage, "sending")):
                stale = (table.claimed_at.is_(None)) | (table.claimed_at <= cutoff)
                taken += session.exec(update(table).where(table.status == status, stale).values(status="pending")).rowcount
            session.commit()
        if taken:
            log.warning("took back %d events or sends left in flight", taken)
        return taken

    def start(self, inbound: bool = True, outbox: bool = True, alone: bool = True) -> None:
        """`alone`: no other worker process shares this database, so everything in flight is ours
        to take back now; otherwise only stale claims are, periodically."""
        self.recover(0.0 if alone else STALE_CLAIM)
        loops = ([(self.process_pending, self._wake_inbound)] if inbound else []) + \
                ([(self.send_due, self._wake_outbox)] if outbox else [])
        for target, wake in loops:
            t = threading.Thread(target=self._loop, args=(target, wake), daemon=True, name=target.__name__)
            t.start()
            self._threads.append(t)

    def wait(self) -> None:
        for t in self._threads:
            while t.is_alive():
                t.join(timeout=1)

    def stop(self) -> None:
        self._stop.set()
        self._wake_inbound.set()
        self._wake_outbox.set()
        for t in self._threads:
            t.join(timeout=10)

    def _loop(self, work, wake: threading.Event) -> None:
        last_recovery = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_recovery > STALE_CLAIM / 2:
                last_recovery = time.monotonic()
                try:
                    self.recover(STALE_CLAIM)  # claims of a worker that died meanwhile
                except Exception:
                    log.exception("recovery failed")
            try:
                busy = work()
            except Exception:
                log.exception("%s failed; retrying", work.__name__)
                busy = 0
            if not busy:
                wake.wait(self.idle_wait)
                wake.clear()
            if work == self.process_pending and busy:
                self._wake_outbox.set()

    def status(self) -> dict[str, Any]:
        with Session(self.db) as session:
            counts = {}
            for status in ("pending", "sending", "sent", "failed"):
                counts[status] = len(session.exec(select(models.OutboxMessage.id)
                                                  .where(models.OutboxMessage.status == status)).all())
        return counts
