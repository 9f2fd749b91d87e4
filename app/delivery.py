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
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from app import metrics, models, storage
from app.engine import Reply
from app.models import utcnow
from app.service import ConversationService, Runtime
from app.text import fold
from app.windows import HARD_LIMIT, aware, decide
from webhooks.base import (
    FEEDBACK_HELPFUL,
    FEEDBACK_WRONG,
    Channel,
    Choice,
    EventKind,
    InboundEvent,
    OutgoingMessage,
    SendResult,
)

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0  # seconds before the first retry; doubled each attempt up to SEND_BACKOFF_MAX_SECONDS
LAST_TRY_MARGIN = dt.timedelta(minutes=1)  # the last retry goes out this long before the window closes
PLATFORMS = {"zalo": "Zalo", "messenger": "Messenger"}
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


@dataclass
class SendJob:
    """One claimed outbox row on its way to the platform. `attempt` is the claim's number: its outcome is
    recorded only while the row is still `sending` under that number (a claim taken back by recovery, or
    settled by the platform's echo meanwhile, is not overwritten)."""

    id: int
    conversation_id: int
    channel: str
    province: str
    recipient: str
    author: str
    payload: dict[str, Any]
    reply_to: str | None
    attempt: int
    last_inbound_at: dt.datetime | None


def text_key(text: str | None) -> str:
    """What an echo's text is compared by: SHA-256 of the NFC text without surrounding space."""
    return hashlib.sha256(unicodedata.normalize("NFC", text or "").strip().encode("utf-8")).hexdigest()


def echo_ref(payload: str | None) -> int | None:
    """The outbox row a Messenger echo names in its metadata ("bhxh:bot:123")."""
    parts = (payload or "").split(":")
    if len(parts) == 3 and parts[0] == "bhxh" and parts[2].isdigit():
        return int(parts[2])
    return None


def echo_sent_ms(payload: str | None) -> int | None:
    """The platform's send time a Zalo echo carries ("ts:<ms>")."""
    if payload and payload.startswith("ts:") and payload[3:].isdigit() and int(payload[3:]) > 0:
        return int(payload[3:])
    return None


_ERRORS_VI = {
    "timeout": "nền tảng không trả lời kịp",
    "network": "không kết nối được tới nền tảng",
    "http_429": "nền tảng báo gửi quá nhiều yêu cầu (HTTP 429)",
    "-32": "vượt giới hạn số lần gọi API của nền tảng",
    "4": "vượt giới hạn số lần gọi API của nền tảng",
    "613": "vượt giới hạn số lần gọi API của nền tảng",
    "-227": "người dùng bị khóa hoặc không hoạt động quá 45 ngày",
    "-213": "người dùng chưa quan tâm OA",
    "-211": "OA đã hết hạn mức tin nhắn",
    "-224": "OA cần nâng cấp gói dịch vụ",
    "-223": "OA chưa cấp quyền cho ứng dụng",
    "551": "người này hiện không nhận tin nhắn của trang (đã chặn hoặc tắt nhận tin)",
    "190": "mã truy cập (access token) của trang không hợp lệ hoặc đã hết hạn",
    "-216": "mã truy cập (access token) không hợp lệ",
    "-220": "mã truy cập (access token) đã hết hạn",
    "refresh_failed": "không làm mới được mã truy cập (access token)",
    "no_token": "chưa cấu hình mã truy cập (access token)",
    "-201": "nội dung tin không hợp lệ",
    "100": "nội dung tin không hợp lệ",
    "2018108": "ứng dụng đang ở chế độ phát triển, chỉ nhắn được cho quản trị viên và người thử nghiệm",
    "no_province": "tỉnh của cuộc trò chuyện chưa được cấu hình",
    "error": "lỗi trong ứng dụng khi gửi",
}


def failure_reason(channel: str, code: str | None, window_closed: bool, attempts: int = 0,
                   until_window: bool = False) -> str:
    """Why a reply could not be delivered, for staff: Vietnamese, with the platform's error code and
    never the platform's raw answer (an outage's HTML page stays out of the console)."""
    platform = PLATFORMS.get(channel, channel)
    code = code or "không rõ"
    if window_closed:
        what = "đã hết khung thời gian nhắn tin của nền tảng"
    elif code.startswith("http_") and code[5:].isdigit() and code != "http_429":
        what = f"nền tảng báo lỗi máy chủ (HTTP {code[5:]})"
    else:
        what = _ERRORS_VI.get(code, "nền tảng từ chối tin")
    text = f"Không gửi được tin qua {platform}: {what} (mã lỗi {code})."
    if until_window:
        text += f" Đã thử {attempts} lần cho đến khi hết khung thời gian nhắn tin."
    return text[:200]


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
            staff_id=_clean(ev.staff_id), status="pending" if ev.kind != EventKind.IGNORED else "done",
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
    def __init__(self, runtime: Runtime, channels: dict[str, dict[str, Channel]],
                 clock: Callable[[], dt.datetime] | None = None):
        """`channels`: per province code, its channels by name (each with that province's credentials).
        `clock`: the time the outbox works by (tests pass a controllable one); utcnow by default."""
        self.runtime = runtime
        self.clock = clock or utcnow
        # injection points for fault tests: name -> callable(info), called by the thread reaching that point
        self.checkpoints: dict[str, Callable[[Any], None]] = {}
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
        self._in_flight = 0  # sends handed to the pool and not yet recorded
        self._idle = threading.Condition()
        for point in filter(None, (p.strip() for p in runtime.settings.send_pause_at.split(","))):
            self.checkpoints[point] = self._pause_file(point)

    def now(self) -> dt.datetime:
        return self.clock()

    def _checkpoint(self, name: str, info: Any) -> None:
        hook = self.checkpoints.get(name)
        if hook is not None:
            hook(info)

    def _pause_file(self, point: str) -> Callable[[Any], None]:
        """SEND_PAUSE_AT (fault tests): a send reaching `point` writes SEND_PAUSE_DIR/<point>-<row id>
        and waits until SEND_PAUSE_DIR/go exists, so a test can kill the process at that instant."""
        folder = Path(self.settings.send_pause_dir or ".")

        def pause(job: Any) -> None:
            (folder / f"{point}-{getattr(job, 'id', 'x')}").touch()
            while not (folder / "go").exists():
                time.sleep(0.05)

        return pause
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
        attempts = self._claim(table, first, "pending", "working")
        claimed = sorted(attempts)
        if not claimed:
            return 0
        with Session(self.db) as session:
            records = list(session.exec(select(table).where(table.id.in_(claimed)).order_by(table.id)))
            conversations = storage.find_conversations(session, {(r.channel, r.user_id) for r in records})
            flood = self._flooding(session, records)
            replies = {r.id: None if r.id in flood else self._answer(r, conversations.get((r.channel, r.user_id)))
                       for r in records}
            try:
                self._checkpoint("before_inbound_commit", claimed)
                # first, and under the rows' write locks until the commit: the batch still holds its
                # claims (a claim taken back by recovery, however slow this worker was, is answered by
                # whoever took it, never twice)
                held = self._finish(session, attempts)
                if len(held) < len(claimed):
                    session.rollback()
                    log.warning("%d of %d events were taken back from this worker while it answered them; "
                                "the rest are stored one by one", len(claimed) - len(held), len(claimed))
                    for record_id in sorted(held):
                        self._handle_alone(record_id, attempts[record_id], replies.get(record_id))
                    return len(claimed)
                # the batch's new conversations in one insert, so that nothing below needs a flush
                new = {(r.channel, r.user_id): models.Conversation(channel=r.channel, external_id=r.user_id,
                                                                   province=r.province)
                       for r in records if r.kind != EventKind.OWN_ECHO and (r.channel, r.user_id) not in conversations}
                if new:
                    session.add_all(new.values())
                    session.flush()
                    conversations.update(new)
                for record in records:
                    self._handle(session, record, conversations.get((record.channel, record.user_id)), replies[record.id],
                                 flood.get(record.id))
                session.commit()
                return len(records)
            except Exception:
                session.rollback()
                log.exception("a batch of %d events failed; storing them one by one", len(records))
        for record_id in claimed:  # one bad event never holds up the others
            self._handle_alone(record_id, attempts[record_id], replies.get(record_id))
        return len(claimed)

    @staticmethod
    def _finish(session: Session, attempts: dict[int, int], status: str = "done", error: str = "") -> set[int]:
        """Mark claimed events `status` where this worker still holds the claim (same attempt number,
        still working); returns those ids. No commit."""
        table = models.InboundRecord
        held = set()
        for record_id, attempt in attempts.items():
            n = session.exec(update(table).where(table.id == record_id, table.status == "working",
                                                 table.attempts == attempt)
                             .values(status=status, error=error)).rowcount
            if n:
                held.add(record_id)
        return held

    def _handle_alone(self, record_id: int, attempt: int, reply: Reply | None) -> None:
        table = models.InboundRecord
        with Session(self.db) as session:
            if not self._finish(session, {record_id: attempt}):
                session.rollback()
                log.warning("inbound event %s was taken back from this worker; its new holder answers it", record_id)
                return
            record = session.get(table, record_id)
            try:
                conv = storage.find_conversation(session, record.channel, record.user_id)
                self._handle(session, record, conv, reply, self._flooding(session, [record]).get(record_id))
                session.commit()
            except Exception as exc:
                log.exception("inbound event %s failed", record_id)
                session.rollback()
                self._finish(session, {record_id: attempt}, "failed", repr(exc)[:500])
                session.commit()

    def _claim(self, table, ids: list[int], old: str, new: str) -> dict[int, int]:
        """Take rows from `old` to `new` status, counting an attempt; returns the rows this worker got
        (others were taken), each with its attempt number, which fences the claim."""
        if not ids:
            return {}
        where = (table.id.in_(ids), table.status == old)
        if self.db.dialect.name == "postgresql":
            # skip rows another instance holds instead of queueing behind its lock
            locked = select(table.id).where(*where).with_for_update(skip_locked=True)
            where = (table.id.in_(locked), table.status == old)
        with Session(self.db) as session:
            got = dict(session.exec(update(table).where(*where)
                                    .values(status=new, claimed_at=self.now(), attempts=table.attempts + 1)
                                    .returning(table.id, table.attempts)).all())
            session.commit()
        return got

    def _settle_echo(self, session: Session, record: models.InboundRecord, now: dt.datetime) -> None:
        """The platform's echo of our own send proves it arrived, whatever became of the call: the send
        is marked sent (and never sent again), even while its call is still out or its row in doubt.

        Which send: the outbox row Messenger's metadata names; else the row with the echo's message id;
        else (Zalo, whose echo carries no reference) the oldest unsettled send to this citizen with the
        same text whose last attempt began within ZALO_ECHO_MATCH_SECONDS of the platform's send time."""
        t = models.OutboxMessage
        scope = (t.channel == record.channel, t.province == record.province, t.recipient == record.user_id)
        mid = record.platform_message_id

        def settle(*where) -> int:
            n = session.exec(update(t).where(*scope, *where, t.status != "sent")
                             .values(status="sent", in_doubt=False, sent_at=now, echoed_at=now,
                                     platform_message_id=func.coalesce(t.platform_message_id, mid))).rowcount
            session.exec(update(t).where(*scope, *where, t.echoed_at.is_(None)).values(echoed_at=now))
            return n

        ref = echo_ref(record.payload)
        if ref is not None:
            settle(t.id == ref)
            return
        if mid and session.exec(select(t.id).where(*scope, t.platform_message_id == mid)).first() is not None:
            settle(t.platform_message_id == mid)
            return
        key = text_key(record.text)
        sent_ms = echo_sent_ms(record.payload)
        window = self.settings.zalo_echo_match_seconds
        candidates = session.exec(select(t).where(*scope, t.status.in_(("sending", "pending")), t.attempts > 0,
                                                  t.echoed_at.is_(None)).order_by(t.id)).all()
        for row in candidates:
            if text_key((row.payload or {}).get("text")) != key:
                continue
            tried = aware(row.claimed_at)
            if sent_ms is not None and tried is not None and abs(sent_ms / 1000 - tried.timestamp()) > window:
                continue
            if settle(t.id == row.id, t.status.in_(("sending", "pending"))):
                log.info("outbox row %s settled by its echo (matched by recipient and text)", row.id)
                return

    def _flooding(self, session: Session, records: list[models.InboundRecord]) -> dict[int, str]:
        """Events from citizens over their per-minute limit: the first one over gets a notice
        ("notice"), the rest no reply ("drop") until a minute has passed. Decided before any answering."""
        limit = self.settings.citizen_messages_per_minute
        counted = [r for r in records if r.kind in (EventKind.TEXT, EventKind.NON_TEXT)]
        if limit <= 0 or not counted:
            return {}
        table = models.InboundRecord
        window = dt.timedelta(minutes=1)
        since = min(aware(r.received_at) for r in counted) - window
        recent = session.exec(select(table.channel, table.user_id, table.id, table.received_at)
                              .where(table.user_id.in_({r.user_id for r in counted}), table.received_at >= since,
                                     table.kind.in_((EventKind.TEXT, EventKind.NON_TEXT)))).all()
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
        if record.kind != EventKind.TEXT or self._feedback(record) is not None:
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
        now = self.now()
        if record.kind == EventKind.OWN_ECHO:
            # our own send coming back: confirms delivery (it may arrive before the send call returns)
            self._settle_echo(session, record, now)
            return
        if conv is None:
            conv = models.Conversation(channel=record.channel, external_id=record.user_id, province=record.province)
            session.add(conv)
            session.flush()
        conv_id = conv.id
        if record.kind == EventKind.STAFF_ECHO:
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
            if record.kind in (EventKind.TEXT, EventKind.NON_TEXT):  # a message, not a follow
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
        if record.kind == EventKind.FOLLOW:
            welcome = self.runtime.engine.welcome(self.runtime.provinces.get(conv.province))
            session.add(models.Message(conversation_id=conv_id, direction="out", author="bot", text=welcome.text,
                                       outcome=welcome.outcome))
            self._enqueue(session, conv, OutgoingMessage(welcome.body, _choices(welcome), welcome.choices_prompt), "bot")
            return
        if record.kind == EventKind.NON_TEXT:
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
        if record.kind == EventKind.TEXT:
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
        now = self.now()
        window = decide(conv.channel, conv.last_inbound_at, now, author, self.settings.fb_human_agent_approved)
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
                                             reply_to=reply_to, escalation_id=escalation_id,
                                             created_at=now, next_attempt_at=now))
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
            message = models.Message(conversation_id=conversation_id, direction="out", author="staff", text=text)
            session.add(message)
            session.flush()  # its id, for the outbox rows that carry it (the console shows their state)
            for row in rows:
                row.message_id = message.id
            conv.bot_paused_until = self.now() + dt.timedelta(hours=self.settings.bot_quiet_hours)
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

    def wake_sender(self) -> None:
        """Outbox rows were made due (a staff member's "Gửi lại"): send them now, not at the next poll."""
        self._wake_outbox.set()

    def _conversation(self, conversation_id: int) -> None:
        with Session(self.db) as session:
            if session.get(models.Conversation, conversation_id) is None:
                raise NoSuchConversation(f"no conversation {conversation_id}")

    def send_due(self, limit: int | None = None) -> int:
        """Hand due outbox rows to the senders, as many as there are free slots (SEND_CONCURRENCY): the
        oldest unsent row of each conversation whose earlier rows are all settled, so that order is kept
        within a conversation while different conversations go in parallel. Returns how many were handed
        over; each send records its own outcome as soon as its call returns, so one slow call holds up
        only its own conversation."""
        with self._idle:
            free = self.settings.send_concurrency - self._in_flight
        if limit is not None:
            free = min(free, limit)
        if free <= 0:
            return 0
        now = self.now()
        t = models.OutboxMessage
        earlier = aliased(t)
        waits = (select(earlier.id).where(earlier.conversation_id == t.conversation_id, earlier.id < t.id,
                                          earlier.status.in_(("pending", "sending"))).exists())
        with Session(self.db) as session:
            due = list(session.exec(select(t.id).where(t.status == "pending", t.next_attempt_at <= now, ~waits)
                                    .order_by(t.id).limit(free)))
        attempts = self._claim(t, due, "pending", "sending")
        if not attempts:
            return 0
        with Session(self.db) as session:
            jobs = [SendJob(r.id, r.conversation_id, r.channel, r.province, r.recipient, r.author, r.payload, r.reply_to,
                            attempts[r.id], last)
                    for r, last in session.exec(select(t, models.Conversation.last_inbound_at)
                                                .join(models.Conversation, models.Conversation.id == t.conversation_id)
                                                .where(t.id.in_(list(attempts))).order_by(t.id))]
        for job in jobs:
            with self._idle:
                self._in_flight += 1
            self._senders.submit(self._send_and_record, job)
        return len(jobs)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Until no send is in flight (tests drive send_due by hand); False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _send_and_record(self, job: SendJob) -> None:
        try:
            result = self._send(job)
            self._checkpoint("after_call", job)
            self._record_send(job, result)
        except Exception:
            log.exception("recording send %s failed; the row is taken back after CLAIM_TIMEOUT_SECONDS", job.id)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
            self._wake_outbox.set()

    def _send(self, job: SendJob) -> SendResult:
        channel = self.channel(job.channel, job.province)
        if channel is None:  # a province removed from the provinces file: its replies wait, visibly
            return SendResult(ok=False, error_code="no_province", transient=True,
                              error_message=f"province {job.province!r} is not configured")
        # the window as it is now (the citizen may have written again since the reply was queued)
        window = decide(job.channel, job.last_inbound_at, self.now(), job.author, self.settings.fb_human_agent_approved)
        if not window.allowed:
            return SendResult(ok=False, error_code="window", error_message=window.reason, window_closed=True)
        self._checkpoint("before_call", job)
        try:
            return channel.send(job.recipient, job.payload, tag=window.tag, reply_to=job.reply_to,
                                ref=f"{job.author}:{job.id}")
        except Exception as exc:  # a bug or an unexpected reply: it may have gone out, so it waits for an echo
            log.exception("send failed")
            return SendResult(ok=False, error_code="error", transient=True, in_doubt=True, error_message=repr(exc)[:500])

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with equal jitter: half the step fixed, half random."""
        step = min(self.settings.send_backoff_max_seconds, BACKOFF_BASE * 2.0 ** max(0, attempt - 1))
        return step / 2 + random.uniform(0, step / 2)

    def _window_end(self, job: SendJob, window, last_inbound: dt.datetime | None) -> dt.datetime | None:
        """When the platform stops taking this reply: the free window for the bot; for staff the 7 days
        (Zalo's paid consultation messages, Messenger's HUMAN_AGENT tag where the page is approved)."""
        late_staff = job.author == "staff" and (job.channel == "zalo" or self.settings.fb_human_agent_approved)
        if late_staff and aware(last_inbound) is not None:
            return aware(last_inbound) + HARD_LIMIT
        return window.closes_at

    def _record_send(self, job: SendJob, result: SendResult) -> None:
        """Store one send's outcome as soon as its call returns. Success is recorded whatever the row's
        state (the message went out); anything else only while this claim still holds the row."""
        t = models.OutboxMessage
        now = self.now()
        with Session(self.db) as session:
            if result.ok:
                n = session.exec(update(t).where(t.id == job.id, t.status != "sent")
                                 .values(status="sent", sent_at=now, platform_message_id=result.platform_message_id,
                                         in_doubt=False, error_code=None, last_error="")).rowcount
                if not n:  # its echo settled it first
                    session.exec(update(t).where(t.id == job.id, t.platform_message_id.is_(None))
                                 .values(platform_message_id=result.platform_message_id))
                session.commit()
                metrics.send_result(job.channel, "sent")
                return
            held = (t.id == job.id, t.status == "sending", t.attempts == job.attempt)
            error = dict(error_code=(result.error_code or "")[:40] or None, last_error=result.error_message[:500])
            retry_at, until_window = None, False
            if result.transient and not result.window_closed:
                conv = session.get(models.Conversation, job.conversation_id)
                window = decide(job.channel, conv.last_inbound_at if conv else job.last_inbound_at, now, job.author,
                                self.settings.fb_human_agent_approved)
                delay = self._backoff(job.attempt)
                if result.in_doubt:  # it may have arrived: its echo settles it, or it goes again after this
                    delay = max(delay, self.settings.send_doubt_seconds)
                retry_at = now + dt.timedelta(seconds=delay)
                closes = self._window_end(job, window, conv.last_inbound_at if conv else job.last_inbound_at)
                last_try = closes - LAST_TRY_MARGIN if window.allowed and closes else None
                if window.allowed and closes is None:
                    last_try = retry_at  # no platform window (never for zalo / messenger)
                if last_try is None or last_try <= now:
                    retry_at, until_window = None, True
                elif retry_at > last_try:
                    retry_at = last_try  # one last try before the window closes
            if retry_at is not None:
                n = session.exec(update(t).where(*held).values(status="pending", next_attempt_at=retry_at,
                                                               in_doubt=result.in_doubt, **error)).rowcount
                status = "pending"
            else:
                n = session.exec(update(t).where(*held).values(status="failed", in_doubt=False, **error)).rowcount
                status = "failed"
                if n:
                    reason = failure_reason(job.channel, result.error_code, result.window_closed, job.attempt,
                                            until_window)
                    log.warning("outbox row %s given up: %s", job.id, reason)
                    self._show_failure(session, session.get(t, job.id), reason)
            session.commit()
        if n:
            metrics.send_result(job.channel, status, result.error_code)
        else:
            log.info("send %s: outcome %s not recorded, the row was settled or taken back meanwhile", job.id, status)

    def _show_failure(self, session: Session, row: models.OutboxMessage, reason: str) -> None:
        """A reply that can never be delivered goes onto an open escalation, for staff to see."""
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
        escalation.reason = reason[:200]
        session.add(escalation)
        session.flush()
        row.escalation_id = escalation.id
        session.add(row)

    # --- workers ---------------------------------------------------------------------

    def recover(self, older_than: float = 0.0) -> int:
        """After a crash: events being answered are answered again; sends in flight are retried.

        With `older_than`, only claims older than that many seconds are taken back, so that a
        live worker in another process keeps what it is working on."""
        now = self.now()
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
