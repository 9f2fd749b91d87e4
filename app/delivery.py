"""From webhook to reply, losing nothing: inbound events are stored (deduplicated) before the
webhook is acknowledged; a worker answers them and writes replies to the outbox; a sender
delivers the outbox with retries, in order per conversation, and records permanent failures
on an escalation for staff. Both loops resume after a restart from what the database holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app import metrics, models, storage
from app.engine import Reply
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
    SendResult,
)

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
FLOOD_NOTICE = ("Bạn đã gửi nhiều tin nhắn trong thời gian ngắn. Các tin nhắn đã được ghi nhận; "
                "vui lòng chờ khoảng một phút rồi gửi lại câu hỏi để được trả lời.")
_FEEDBACK_WORDS = {"huu ich": True, "chua dung": False}
# a citizen wrote to a conversation staff hold (the bot paused) with no request open: a new one, at the top
FOLLOWUP_REASON = "citizen wrote while staff held the conversation"
# a staff reply to a conversation no platform carries (`bhxh-bot ask`, /api/v1/ask)
NO_RECIPIENT = "Đây là câu hỏi thử từ dòng lệnh/API, không có người nhận."


PRUNE_EVERY = 3600.0  # seconds between two prunings of old webhook events

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


def _clean(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; nothing a citizen typed is lost by dropping it
    return text.replace("\x00", "") if text else text


class EventLog:
    """Stores webhook events with group commit.

    Concurrent webhook requests hand their events to one writer thread, which stores everything
    waiting in a single INSERT .. ON CONFLICT DO NOTHING and one commit, then releases the
    requests. A request is acknowledged only after its events are durable; a redelivered event
    (same channel and platform id) is dropped by the unique key, across processes too. One
    writer instead of one transaction per request keeps SQLite's single write lock uncontended
    and PostgreSQL's commits few."""

    MAX_BATCH = 400

    def __init__(self, db, on_new=None):
        self.db = db
        self.on_new = on_new
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def submit(self, events: list[InboundEvent]) -> Future:
        future: Future = Future()
        rows = [self._row(ev) for ev in events]
        if not rows:
            future.set_result(Stored(0, 0))
            return future
        with self._guard:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="event-log")
                self._thread.start()
        self._queue.put((rows, future))
        return future

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

    @staticmethod
    def _row(ev: InboundEvent) -> dict[str, Any]:
        key = _clean(ev.dedupe_key)
        if ev.province != "default":  # unique per channel across provinces, whatever the platform's ids
            key = f"{ev.province}/{key}"
            if len(key) > 250:
                key = f"{ev.province}/sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
        record = models.InboundRecord(
            channel=ev.channel, dedupe_key=key[:250], province=ev.province, kind=ev.kind, user_id=_clean(ev.user_id)[:120],
            text=_clean(ev.text) or "", payload=_clean(ev.payload), platform_message_id=_clean(ev.platform_message_id),
            staff_id=_clean(ev.staff_id), status="pending" if ev.kind != "ignored" else "done",
        )
        return record.model_dump(exclude={"id"})

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                results = self._write([rows for rows, _ in batch])
            except Exception:
                log.exception("storing %d webhook requests together failed; storing them one by one", len(batch))
                for rows, future in batch:
                    try:
                        future.set_result(self._write([rows])[0])
                    except Exception as exc:
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)

    def _write(self, requests: list[list[dict[str, Any]]]) -> list[Stored]:
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for rows in requests:
            for row in rows:
                unique.setdefault((row["channel"], row["dedupe_key"]), row)
        table = models.InboundRecord.__table__
        insert = postgresql.insert if self.db.dialect.name == "postgresql" else sqlite.insert
        stmt = (insert(table).values(list(unique.values()))
                .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
                .returning(table.c.channel, table.c.dedupe_key))
        with self.db.begin() as conn:
            inserted = {(channel, key) for channel, key in conn.execute(stmt)}
        results, credited = [], set()
        for rows in requests:
            new = 0
            for row in rows:
                key = (row["channel"], row["dedupe_key"])
                if key in inserted and key not in credited:
                    credited.add(key)
                    new += 1
            results.append(Stored(new, len(rows) - new))
        if inserted and self.on_new is not None:
            self.on_new()
        return results


class Delivery:
    def __init__(self, runtime: Runtime, channels: dict[str, dict[str, Channel]]):
        """`channels`: per province code, its channels by name (each with that province's credentials)."""
        self.runtime = runtime
        self.channels = channels
        self.conversations = ConversationService(runtime)
        self._wake_inbound = threading.Event()
        self.events = EventLog(runtime.db, on_new=self._wake_inbound.set)
        self._wake_outbox = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # how long an idle loop sleeps; woken at once by this process's webhooks, so a separate
        # worker process (`bhxh-bot worker`) polls the database at this interval
        self.idle_wait = 0.2
        self._senders = ThreadPoolExecutor(max_workers=runtime.settings.send_concurrency, thread_name_prefix="send")

    @property
    def db(self):
        return self.runtime.db

    def channel(self, name: str, province: str | None) -> Channel | None:
        """The channel that speaks for `province` (None for cli / api conversations)."""
        return self.channels.get(province or "default", {}).get(name)

    @property
    def settings(self):
        return self.runtime.settings

    # --- inbound: store first, answer later -----------------------------------------

    def submit(self, events: list[InboundEvent]) -> Future:
        """Persist webhook events (group commit); the future resolves once they are durable."""
        return self.events.submit(events)

    def store(self, events: list[InboundEvent]) -> Stored:
        """Persist webhook events; a redelivered event (same platform id) is dropped here."""
        return self.events.submit(events).result()

    def process_pending(self, limit: int = 64) -> int:
        """Answer a batch of stored events: at most one per citizen, in order, across workers and processes.

        The answers are worked out first, with no write lock held; then the whole batch is stored
        in one transaction (replies, escalations, outbox rows and the events' status together, so a
        crash never leaves an event answered but not marked done)."""
        table = models.InboundRecord
        with Session(self.db) as session:
            rows = list(session.exec(select(table.id, table.channel, table.user_id, table.status)
                                     .where(table.status.in_(("pending", "working"))).order_by(table.id).limit(limit * 5)))
        first: list[int] = []
        seen: set[tuple[str, str]] = set()
        for record_id, channel, user, status in rows:
            if (channel, user) in seen:
                continue  # a later message of a citizen waits for the earlier one
            seen.add((channel, user))
            if status == "pending":
                first.append(record_id)
            if len(first) >= limit:
                break
        claimed = self._claim(table, first, "pending", "working")
        if not claimed:
            return 0
        with Session(self.db) as session:
            records = list(session.exec(select(table).where(table.id.in_(claimed)).order_by(table.id)))
            conversations = storage.find_conversations(session, {(r.channel, r.user_id) for r in records})
            flood = self._flooding(session, records)
            replies = {r.id: None if r.id in flood else self._answer(r, conversations.get((r.channel, r.user_id)))
                       for r in records}
            try:
                # the batch's new conversations in one insert, so that nothing below needs a flush
                new = {(r.channel, r.user_id): models.Conversation(channel=r.channel, external_id=r.user_id,
                                                                   province=r.province)
                       for r in records if r.kind != OWN_ECHO and (r.channel, r.user_id) not in conversations}
                if new:
                    session.add_all(new.values())
                    session.flush()
                    conversations.update(new)
                for record in records:
                    self._handle(session, record, conversations.get((record.channel, record.user_id)), replies[record.id],
                                 flood.get(record.id))
                    record.status, record.error, record.attempts = "done", "", record.attempts + 1
                    session.add(record)
                session.commit()
                return len(records)
            except Exception:
                session.rollback()
                log.exception("a batch of %d events failed; storing them one by one", len(records))
        for record_id in claimed:  # one bad event never holds up the others
            self._handle_alone(record_id, replies.get(record_id))
        return len(claimed)

    def _handle_alone(self, record_id: int, reply: Reply | None) -> None:
        table = models.InboundRecord
        with Session(self.db) as session:
            record = session.get(table, record_id)
            try:
                conv = storage.find_conversation(session, record.channel, record.user_id)
                self._handle(session, record, conv, reply, self._flooding(session, [record]).get(record_id))
                record.status, record.error = "done", ""
            except Exception as exc:
                log.exception("inbound event %s failed", record_id)
                session.rollback()
                record = session.get(table, record_id)
                record.status, record.error = "failed", repr(exc)[:500]
            record.attempts += 1
            session.add(record)
            session.commit()

    def _claim(self, table, ids: list[int], old: str, new: str) -> list[int]:
        """Take rows from `old` to `new` status; returns the ids this worker got (others were taken)."""
        if not ids:
            return []
        where = (table.id.in_(ids), table.status == old)
        if self.db.dialect.name == "postgresql":
            # skip rows another instance holds instead of queueing behind its lock
            locked = select(table.id).where(*where).with_for_update(skip_locked=True)
            where = (table.id.in_(locked), table.status == old)
        with Session(self.db) as session:
            got = [row[0] for row in session.exec(update(table).where(*where)
                                                   .values(status=new, claimed_at=utcnow()).returning(table.id))]
            session.commit()
        return sorted(got)

    @staticmethod
    def _settle_doubt(session: Session, record: models.InboundRecord, now: dt.datetime) -> None:
        """An echo of a send cut off by a crash proves it arrived: the oldest such send to this
        citizen with the same text is marked sent instead of being sent again."""
        table = models.OutboxMessage
        doubtful = session.exec(select(table).where(table.channel == record.channel, table.province == record.province,
                                                    table.recipient == record.user_id,
                                                    table.in_doubt.is_(True), table.status == "pending")
                                .order_by(table.id)).all()
        for row in doubtful:
            if (row.payload or {}).get("text") == record.text:
                row.status, row.in_doubt, row.sent_at, row.echoed_at = "sent", False, now, now
                row.platform_message_id = row.platform_message_id or record.platform_message_id
                session.add(row)
                return

    def _flooding(self, session: Session, records: list[models.InboundRecord]) -> dict[int, str]:
        """Events from citizens over their per-minute limit: the first one over gets a notice
        ("notice"), the rest no reply ("drop") until a minute has passed. Decided before any answering."""
        limit = self.settings.citizen_messages_per_minute
        counted = [r for r in records if r.kind in (TEXT, NON_TEXT)]
        if limit <= 0 or not counted:
            return {}
        table = models.InboundRecord
        window = dt.timedelta(minutes=1)
        since = min(aware(r.received_at) for r in counted) - window
        recent = session.exec(select(table.channel, table.user_id, table.id, table.received_at)
                              .where(table.user_id.in_({r.user_id for r in counted}), table.received_at >= since,
                                     table.kind.in_((TEXT, NON_TEXT)))).all()
        verdicts = {}
        for r in counted:
            at = aware(r.received_at)
            n = sum(1 for channel, user, rid, received in recent
                    if channel == r.channel and user == r.user_id and rid <= r.id and at - window <= aware(received) <= at)
            if n > limit:
                verdicts[r.id] = "notice" if n == limit + 1 else "drop"
        return verdicts

    def _answer(self, record: models.InboundRecord, conv: models.Conversation | None) -> Reply | None:
        """The engine's reply to a text event, worked out before any write; None where none is needed."""
        if record.kind != TEXT or self._feedback(record) is not None:
            return None
        chosen = self._chosen(record)
        try:
            conv = conv or models.Conversation(channel=record.channel, external_id=record.user_id,
                                               province=record.province)
            return self.conversations.reply_for(conv, record.text or (record.payload or ""), chosen)
        except Exception:
            log.exception("answering event %s failed", record.id)
            return None

    def _chosen(self, record: models.InboundRecord) -> str | None:
        return record.payload if record.payload and record.payload in self.runtime.engine.kb.entries else None

    def _handle(self, session: Session, record: models.InboundRecord, conv: models.Conversation | None,
                reply: Reply | None, flood: str | None = None) -> None:
        """Store what an event means for its conversation and queue the bot's reply (no commit)."""
        now = utcnow()
        if record.kind == OWN_ECHO:
            # our own send coming back: confirms delivery (it may arrive before the send call returns)
            if record.platform_message_id:
                session.exec(update(models.OutboxMessage)
                             .where(models.OutboxMessage.channel == record.channel,
                                    models.OutboxMessage.province == record.province,
                                    models.OutboxMessage.platform_message_id == record.platform_message_id)
                             .values(echoed_at=now))
            self._settle_doubt(session, record, now)
            return
        if conv is None:
            conv = models.Conversation(channel=record.channel, external_id=record.user_id, province=record.province)
            session.add(conv)
            session.flush()
        conv_id = conv.id
        if record.kind == STAFF_ECHO:
            # a person replied in the platform's own inbox: record it and keep the bot out of the way
            session.add(models.Message(conversation_id=conv_id, direction="out", author="staff", text=record.text))
            conv.bot_paused_until = now + dt.timedelta(hours=self.settings.bot_quiet_hours)
            session.add(conv)
            return
        conv.last_inbound_at = now
        if record.platform_message_id:
            conv.last_platform_message_id = record.platform_message_id
        session.add(conv)
        paused = aware(conv.bot_paused_until) is not None and aware(conv.bot_paused_until) > now
        if paused:
            text = record.text or "[tin nhắn không phải chữ]"
            message = models.Message(conversation_id=conv_id, direction="in", author="citizen", text=text, created_at=now)
            session.add(message)
            conv.updated_at = now
            if record.kind in (TEXT, NON_TEXT):  # a message, not a follow
                self._reopen(session, conv, message)
            return
        if flood is not None:
            # stored for staff, never answered by the engine; one notice per flood
            session.add(models.Message(conversation_id=conv_id, direction="in", author="citizen",
                                       text=record.text or "[tin nhắn không phải chữ]", outcome="flood"))
            if flood == "notice":
                session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=FLOOD_NOTICE))
                self._enqueue(session, conv, OutgoingMessage(FLOOD_NOTICE), "bot")
            return
        if record.kind == FOLLOW:
            welcome = self.runtime.engine.welcome(self.runtime.provinces.get(conv.province))
            session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=welcome.text,
                                       outcome=welcome.outcome))
            self._enqueue(session, conv, OutgoingMessage(welcome.body, _choices(welcome), welcome.choices_prompt), "bot")
            return
        if record.kind == NON_TEXT:
            text = self.runtime.engine.non_text_reply(self.runtime.provinces.get(conv.province))
            session.add(models.Message(conversation_id=conv_id, direction="in", author="citizen",
                                       text=record.text or "[hình ảnh, nhãn dán hoặc tệp]"))
            session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=text))
            self._enqueue(session, conv, OutgoingMessage(text), "bot")
            return
        helpful = self._feedback(record)
        answered = self._last_answered(session, conv_id) if helpful is not None else None
        if answered is not None:
            # about the bot's latest answer; the feedback message below ends that turn, so a second
            # "Hữu ích" is read as an ordinary message
            session.add(models.Feedback(conversation_id=conv_id, message_id=answered.id, entry_id=answered.entry_id,
                                        helpful=helpful))
            text = ("Cảm ơn bạn đã góp ý!" if helpful else
                    "Cảm ơn bạn đã góp ý. Bạn có thể nhắn lại câu hỏi chi tiết hơn, hoặc nhắn \"gặp cán bộ\" "
                    "để được cán bộ trả lời.")
            session.add(models.Message(conversation_id=conv_id, direction="in", author="citizen",
                                       text=record.text or ("Hữu ích" if helpful else "Chưa đúng")))
            session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=text))
            self._enqueue(session, conv, OutgoingMessage(text), "bot")
            return
        text = record.text or (record.payload or "")
        if reply is None:
            reply = self.conversations.reply_for(conv, text, self._chosen(record))
        done = self.conversations.record_turn(session, conv, text, reply, platform_message_id=record.platform_message_id)
        self._enqueue(session, conv,
                      OutgoingMessage(reply.body, _choices(reply), reply.choices_prompt, feedback=reply.outcome == "answered"),
                      "bot", escalation_id=done.escalation_id)

    @staticmethod
    def _reopen(session: Session, conv: models.Conversation, message: models.Message) -> None:
        """Staff hold the conversation (the bot is silent): make sure a request is open for it, so the
        citizen's message is seen. An open one is left as it is (the inbox shows the latest message)."""
        esc = models.Escalation
        if session.exec(select(esc.id).where(esc.conversation_id == conv.id, esc.status == "open").limit(1)).first():
            return
        session.flush()  # the request points at the message
        session.add(esc(conversation_id=conv.id, message_id=message.id, kind="followup", reason=FOLLOWUP_REASON,
                        province=conv.province or "default"))

    @staticmethod
    def _last_answered(session: Session, conv_id: int) -> models.Message | None:
        """The citizen's latest message, if the bot answered it."""
        last = session.exec(select(models.Message)
                            .where(models.Message.conversation_id == conv_id, models.Message.direction == "in")
                            .order_by(models.Message.id.desc()).limit(1)).first()
        return last if last is not None and last.outcome == "answered" else None

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
            if conv is None:
                raise NoSuchConversation(f"no conversation {conversation_id}")
            rows = self._enqueue(session, conv, message, author, escalation_id)
            session.flush()
            ids = [row.id for row in rows]
            session.commit()
            return ids

    def _enqueue(self, session: Session, conv: models.Conversation, message: OutgoingMessage, author: str,
                 escalation_id: int | None = None) -> list[models.OutboxMessage]:
        channel = self.channel(conv.channel, conv.province)
        if channel is None:
            return []  # cli / api conversations: the reply was returned directly
        window = decide(conv.channel, conv.last_inbound_at, utcnow(), author, self.settings.fb_human_agent_approved)
        if not window.allowed:
            if author == "staff":
                raise WindowClosed(window.reason)
            log.warning("bot reply to conversation %s not sent: %s", conv.id, window.reason)
            return []
        rows = []
        reply_to = conv.last_platform_message_id if conv.channel == "zalo" and author == "bot" else None
        for part in channel.render(message):
            rows.append(models.OutboxMessage(conversation_id=conv.id, channel=conv.channel, province=conv.province,
                                             recipient=conv.external_id,
                                             author=author, payload=part, tag=window.tag, paid=window.paid,
                                             reply_to=reply_to, escalation_id=escalation_id))
            reply_to = None
        session.add_all(rows)
        self._wake_outbox.set()
        return rows

    def staff_reply(self, conversation_id: int, text: str, staff: str = "") -> list[int]:
        """A staff member's reply, through the conversation's channel, within its window."""
        with Session(self.db) as session:
            conv = session.get(models.Conversation, conversation_id)
            if conv is None:
                raise NoSuchConversation(f"no conversation {conversation_id}")
            if conv.is_test or self.channel(conv.channel, conv.province) is None:
                raise WindowClosed(NO_RECIPIENT)  # nobody would read it
            rows = self._enqueue(session, conv, OutgoingMessage(text), "staff")
            session.add(models.Message(conversation_id=conversation_id, direction="out", author="staff", text=text))
            conv.bot_paused_until = utcnow() + dt.timedelta(hours=self.settings.bot_quiet_hours)
            session.add(conv)
            session.flush()
            ids = [row.id for row in rows]
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
        """Send a batch of due outbox rows: the oldest unsent row of each conversation, concurrently."""
        now = utcnow()
        table = models.OutboxMessage
        with Session(self.db) as session:
            rows = list(session.exec(select(table.id, table.conversation_id, table.next_attempt_at, table.status)
                                     .where(table.status.in_(("pending", "sending"))).order_by(table.id).limit(limit * 5)))
        due: list[int] = []
        blocked: set[int] = set()
        for row_id, conv_id, next_at, status in rows:
            if conv_id in blocked:
                continue
            blocked.add(conv_id)  # later rows of this conversation wait for this one: order is kept
            if status == "pending" and aware(next_at) <= now:
                due.append(row_id)
            if len(due) >= limit:
                break
        claimed = self._claim(table, due, "pending", "sending")
        if not claimed:
            return 0
        with Session(self.db) as session:
            jobs = [(r.id, r.channel, r.province, r.recipient, r.payload, r.tag, r.reply_to)
                    for r in session.exec(select(table).where(table.id.in_(claimed)))]
        # at most one row per conversation is in this batch, so sending them concurrently keeps the order
        results = dict(zip([j[0] for j in jobs], self._senders.map(self._send, jobs), strict=True))
        with Session(self.db) as session:
            for row in session.exec(select(table).where(table.id.in_(claimed)).order_by(table.id)).all():
                self._record_send(session, row, results[row.id])
            session.commit()
        return len(claimed)

    def _send(self, job: tuple) -> SendResult:
        _, name, province, recipient, payload, tag, reply_to = job
        channel = self.channel(name, province)
        if channel is None:  # a province removed from the provinces file: its replies wait, visibly
            return SendResult(ok=False, error_code="no_province", transient=True,
                              error_message=f"province {province!r} is not configured")
        try:
            return channel.send(recipient, payload, tag=tag, reply_to=reply_to)
        except Exception as exc:  # a bug or an unexpected reply: retried like a transient failure
            log.exception("send failed")
            return SendResult(ok=False, transient=True, error_message=repr(exc)[:500])

    def _record_send(self, session: Session, row: models.OutboxMessage, result: SendResult) -> None:
        row.attempts += 1
        row.in_doubt = False
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
        metrics.send_result(row.channel, row.status, result.error_code)
        session.add(row)

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
            escalation = models.Escalation(conversation_id=row.conversation_id, message_id=last_in, kind="escalated",
                                           province=row.province)
        escalation.reason = reason
        session.add(escalation)
        session.flush()
        row.escalation_id = escalation.id

    # --- workers ---------------------------------------------------------------------

    def recover(self, older_than: float = 0.0) -> int:
        """After a crash: events being answered are answered again; sends in flight are retried.

        With `older_than`, only claims older than that many seconds are taken back, so that a
        live worker in another process keeps what it is working on."""
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=older_than)
        with Session(self.db) as session:
            # an event's effects commit together with its status, so one still "working" had none
            inbound, outbox = models.InboundRecord, models.OutboxMessage
            taken = session.exec(update(inbound).where(inbound.status == "working",
                                                       inbound.claimed_at.is_(None) | (inbound.claimed_at <= cutoff))
                                 .values(status="pending")).rowcount
            # a send may have reached the platform before the crash: wait for its echo first
            taken += session.exec(update(outbox).where(outbox.status == "sending",
                                                       outbox.claimed_at.is_(None) | (outbox.claimed_at <= cutoff))
                                  .values(status="pending", in_doubt=True,
                                          next_attempt_at=now + dt.timedelta(seconds=self.settings.send_doubt_seconds))
                                  ).rowcount
            session.commit()
        if taken:
            log.warning("took back %d events or sends left in flight", taken)
        return taken

    def start(self, inbound: bool = True, outbox: bool = True, alone: bool = True) -> None:
        """`alone`: no other worker process shares this database, so everything in flight is ours
        to take back now; otherwise only stale claims are, periodically."""
        self.recover(0.0 if alone else self.settings.claim_timeout_seconds)
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
        self.events.close()
        self._stop.set()
        self._wake_inbound.set()
        self._wake_outbox.set()
        for t in self._threads:
            t.join(timeout=10)

    def prune(self) -> int:
        """Handled webhook events older than INBOUND_RETENTION_DAYS are deleted (hourly, by the inbound loop)."""
        cutoff = utcnow() - dt.timedelta(days=self.settings.inbound_retention_days)
        gone = storage.prune_inbound(self.db, cutoff)
        if gone:
            log.info("pruned %d handled webhook events received before %s", gone, cutoff.isoformat(timespec="seconds"))
        return gone

    def _loop(self, work, wake: threading.Event) -> None:
        last_recovery = 0.0
        last_prune = None
        while not self._stop.is_set():
            stale = self.settings.claim_timeout_seconds
            if time.monotonic() - last_recovery > stale / 2:
                last_recovery = time.monotonic()
                try:
                    self.recover(stale)  # claims of a worker that died meanwhile
                except Exception:
                    log.exception("recovery failed")
            if work == self.process_pending and (last_prune is None or time.monotonic() - last_prune > PRUNE_EVERY):
                last_prune = time.monotonic()
                try:
                    self.prune()
                except Exception:
                    log.exception("pruning old webhook events failed")
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
