"""The outbox: replies queued within their messaging window, sent in order per conversation and in
parallel across conversations, retried with capped backoff until the window closes, then shown to staff.
A send's outcome is recorded by the thread that made the call, fenced by its claim (docs/delivery.md)."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app import metrics, models
from app.conversation import ConversationPolicy, find
from app.delivery.claims import claim
from app.delivery.failures import failure_reason, show_failure
from app.models import Author, Direction, OutboxStatus, SendOutcome
from app.settings import Settings
from app.windows import HARD_LIMIT, WindowDecision, aware, decide
from webhooks.base import Channel, OutgoingMessage, SendResult

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0  # seconds before the first retry; doubled each attempt up to SEND_BACKOFF_MAX_SECONDS
LAST_TRY_MARGIN = dt.timedelta(minutes=1)  # the last retry goes out this long before the window closes
# a staff reply to a conversation no platform carries (`bhxh-bot ask`, /api/v1/ask)
NO_RECIPIENT = "Đây là câu hỏi thử từ dòng lệnh/API, không có người nhận."

Checkpoints = dict[str, Callable[[Any], None]]


class WindowClosed(RuntimeError):
    """A staff reply the platform would refuse; the message says why, in Vietnamese."""


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


class Outbox:
    def __init__(self, db: Engine, settings: Settings, channels: dict[str, dict[str, Channel]],
                 policy: ConversationPolicy, clock: Callable[[], dt.datetime], checkpoints: Checkpoints):
        """`channels`: per province code, its channels by name; `checkpoints`: fault injection points
        (`before_call`, `after_call`), shared with the caller."""
        self.db = db
        self.settings = settings
        self.channels = channels
        self.policy = policy
        self.clock = clock
        self.checkpoints = checkpoints
        self.wake = threading.Event()  # set when rows become due or a send finishes: the send loop runs
        self._senders = ThreadPoolExecutor(max_workers=settings.send_concurrency, thread_name_prefix="send")
        self._in_flight = 0  # sends handed to the pool and not yet recorded
        self._idle = threading.Condition()

    def channel(self, name: str, province: str | None) -> Channel | None:
        """The channel that speaks for `province` (None for cli / api conversations)."""
        return self.channels.get(province or "default", {}).get(name)

    def _checkpoint(self, name: str, info: Any) -> None:
        hook = self.checkpoints.get(name)
        if hook is not None:
            hook(info)

    # --- queueing ----------------------------------------------------------------------

    def queue(self, session: Session, conv: models.Conversation, message: OutgoingMessage, author: Author,
              escalation_id: int | None = None) -> list[models.OutboxMessage]:
        """Write a reply to the outbox, one row per platform message, if its window allows it (no commit).
        A staff reply outside its window raises WindowClosed; a bot reply is dropped, logged."""
        channel = self.channel(conv.channel, conv.province)
        if channel is None:
            return []  # cli / api conversations: the reply was returned directly
        now = self.clock()
        window = decide(conv.channel, conv.last_inbound_at, now, author, self.settings.fb_human_agent_approved)
        if not window.allowed:
            if author == Author.STAFF:
                raise WindowClosed(window.reason)
            log.warning("bot reply to conversation %s not sent: %s", conv.id, window.reason)
            return []
        rows = []
        reply_to = conv.last_platform_message_id if conv.channel == "zalo" and author == Author.BOT else None
        for part in channel.render(message):
            rows.append(models.OutboxMessage(conversation_id=models.saved_id(conv), channel=conv.channel, province=conv.province,
                                             recipient=conv.external_id,
                                             author=author, payload=part, tag=window.tag, paid=window.paid,
                                             reply_to=reply_to, escalation_id=escalation_id,
                                             created_at=now, next_attempt_at=now))
            reply_to = None
        session.add_all(rows)
        self.wake.set()
        return rows

    def staff_reply(self, conversation_id: int, text: str, staff: str = "") -> list[int]:
        """A staff member's reply, through the conversation's channel, within its window; the bot is silent
        for BOT_QUIET_HOURS. Returns the outbox rows' ids."""
        with Session(self.db) as session:
            conv = find(session, conversation_id)
            if conv.is_test or self.channel(conv.channel, conv.province) is None:
                raise WindowClosed(NO_RECIPIENT)  # nobody would read it
            rows = self.queue(session, conv, OutgoingMessage(text), Author.STAFF)
            message = models.Message(conversation_id=conversation_id, direction=Direction.OUT, author=Author.STAFF,
                                     text=text)
            session.add(message)
            session.flush()  # its id, for the outbox rows that carry it (the console shows their state)
            for row in rows:
                row.message_id = message.id
            self.policy.hold_for_staff(conv)
            session.add(conv)
            session.flush()
            ids = [row.id for row in rows if row.id is not None]
            session.commit()
            return ids

    def resend_failed(self, conversation_id: int, message_id: int) -> int:
        """A staff message's failed parts are due again now ("Gửi lại"), if the conversation's window allows
        it; returns how many (0: none had failed). WindowClosed if the platform would refuse them."""
        t = models.OutboxMessage
        with Session(self.db) as session:
            conv = find(session, conversation_id)
            failed = session.exec(select(t).where(t.conversation_id == conversation_id, t.message_id == message_id,
                                                  t.status == OutboxStatus.FAILED)).all()
            if not failed:
                return 0
            now = self.clock()
            w = decide(conv.channel, conv.last_inbound_at, now, Author.STAFF, self.settings.fb_human_agent_approved)
            if not w.allowed:
                raise WindowClosed(w.reason)
            for row in failed:
                row.status, row.next_attempt_at, row.in_doubt, row.tag, row.paid = \
                    OutboxStatus.PENDING, now, False, w.tag, w.paid
                row.error_code, row.last_error = None, ""
                session.add(row)
            session.commit()
        self.wake.set()
        return len(failed)

    # --- sending -----------------------------------------------------------------------

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
        now = self.clock()
        t = models.OutboxMessage
        earlier = aliased(t)
        waits = (select(earlier.id).where(earlier.conversation_id == t.conversation_id, col(earlier.id) < t.id,
                                          col(earlier.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))).exists())
        with Session(self.db) as session:
            due = list(session.exec(select(t.id).where(t.status == OutboxStatus.PENDING, t.next_attempt_at <= now,
                                                       ~waits).order_by(col(t.id)).limit(free)))
        due_ids = [row_id for row_id in due if row_id is not None]  # ids of stored rows: never None
        attempts = claim(self.db, t, due_ids, OutboxStatus.PENDING, OutboxStatus.SENDING, now)
        if not attempts:
            return 0
        with Session(self.db) as session:
            jobs = [SendJob(models.saved_id(r), r.conversation_id, r.channel, r.province, r.recipient, r.author,
                            r.payload, r.reply_to, attempts[models.saved_id(r)], last)
                    for r, last in session.exec(select(t, models.Conversation.last_inbound_at)
                                                .join(models.Conversation, col(models.Conversation.id) == t.conversation_id)
                                                .where(col(t.id).in_(list(attempts))).order_by(col(t.id)))]
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
            self.record(job, result)
        except Exception:
            log.exception("recording send %s failed; the row is taken back after CLAIM_TIMEOUT_SECONDS", job.id)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
            self.wake.set()

    def _send(self, job: SendJob) -> SendResult:
        channel = self.channel(job.channel, job.province)
        if channel is None:  # a province removed from the provinces file: its replies wait, visibly
            return SendResult(ok=False, error_code="no_province", transient=True,
                              error_message=f"province {job.province!r} is not configured")
        # the window as it is now (the citizen may have written again since the reply was queued)
        window = decide(job.channel, job.last_inbound_at, self.clock(), job.author, self.settings.fb_human_agent_approved)
        if not window.allowed:
            return SendResult(ok=False, error_code="window", error_message=window.reason, window_closed=True)
        self._checkpoint("before_call", job)
        try:
            return channel.send(job.recipient, job.payload, tag=window.tag, reply_to=job.reply_to,
                                ref=f"{job.author}:{job.id}")
        except Exception as exc:  # a bug or an unexpected reply: it may have gone out, so it waits for an echo
            log.exception("send failed")
            return SendResult(ok=False, error_code="error", transient=True, in_doubt=True, error_message=repr(exc)[:500])

    # --- recording ---------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with equal jitter: half the step fixed, half random."""
        step = min(self.settings.send_backoff_max_seconds, BACKOFF_BASE * 2.0 ** max(0, attempt - 1))
        return step / 2 + random.uniform(0, step / 2)

    def _window_end(self, job: SendJob, window: WindowDecision, last_inbound: dt.datetime | None) -> dt.datetime | None:
        """When the platform stops taking this reply: the free window for the bot; for staff the 7 days
        (Zalo's paid consultation messages, Messenger's HUMAN_AGENT tag where the page is approved)."""
        late_staff = job.author == Author.STAFF and (job.channel == "zalo" or self.settings.fb_human_agent_approved)
        last = aware(last_inbound)
        if late_staff and last is not None:
            return last + HARD_LIMIT
        return window.closes_at

    def _retry_at(self, session: Session, job: SendJob, result: SendResult, now: dt.datetime) -> dt.datetime | None:
        """When a transient failure is tried again: after the backoff (at least SEND_DOUBT_SECONDS when in
        doubt), and at the latest one minute before the reply's window closes; None once it has closed."""
        conv = session.get(models.Conversation, job.conversation_id)
        last_inbound = conv.last_inbound_at if conv else job.last_inbound_at
        window = decide(job.channel, last_inbound, now, job.author, self.settings.fb_human_agent_approved)
        delay = self.backoff(job.attempt)
        if result.in_doubt:  # it may have arrived: its echo settles it, or it goes again after this
            delay = max(delay, self.settings.send_doubt_seconds)
        retry_at = now + dt.timedelta(seconds=delay)
        closes = self._window_end(job, window, last_inbound)
        last_try = closes - LAST_TRY_MARGIN if window.allowed and closes else None
        if window.allowed and closes is None:
            last_try = retry_at  # no platform window (never for zalo / messenger)
        if last_try is None or last_try <= now:
            return None
        return min(retry_at, last_try)  # one last try before the window closes

    def record(self, job: SendJob, result: SendResult) -> SendOutcome | None:
        """Store one send's outcome as soon as its call returns. Success is recorded whatever the row's
        state (the message went out); anything else only while this claim still holds the row (None: it
        was settled by its echo or taken back meanwhile, and nothing was recorded)."""
        t = models.OutboxMessage
        now = self.clock()
        with Session(self.db) as session:
            if result.ok:
                n = session.exec(update(t).where(col(t.id) == job.id, col(t.status) != OutboxStatus.SENT)
                                 .values(status=OutboxStatus.SENT, sent_at=now,
                                         platform_message_id=result.platform_message_id,
                                         in_doubt=False, error_code=None, last_error="")).rowcount
                if not n:  # its echo settled it first
                    session.exec(update(t).where(col(t.id) == job.id, col(t.platform_message_id).is_(None))
                                 .values(platform_message_id=result.platform_message_id))
                session.commit()
                metrics.send_result(job.channel, SendOutcome.SENT)
                return SendOutcome.SENT
            held = (col(t.id) == job.id, col(t.status) == OutboxStatus.SENDING, col(t.attempts) == job.attempt)
            error = dict(error_code=(result.error_code or "")[:40] or None, last_error=result.error_message[:500])
            retry_at = None
            if result.transient and not result.window_closed:
                retry_at = self._retry_at(session, job, result, now)
                until_window = retry_at is None  # retried all along, until the window closed
            else:
                until_window = False
            if retry_at is not None:
                n = session.exec(update(t).where(*held).values(status=OutboxStatus.PENDING, next_attempt_at=retry_at,
                                                               in_doubt=result.in_doubt, **error)).rowcount
                outcome = SendOutcome.RETRY
            else:
                n = session.exec(update(t).where(*held).values(status=OutboxStatus.FAILED, in_doubt=False,
                                                               **error)).rowcount
                outcome = SendOutcome.FAILED
                if n:
                    reason = failure_reason(job.channel, result.error_code, result.window_closed, job.attempt,
                                            until_window)
                    log.warning("outbox row %s given up: %s", job.id, reason)
                    row = session.get(t, job.id)
                    if row is not None:
                        show_failure(session, row, reason)
            session.commit()
        if not n:
            log.info("send %s: outcome %s not recorded, the row was settled or taken back meanwhile", job.id, outcome)
            return None
        metrics.send_result(job.channel, outcome, result.error_code)
        return outcome

    # --- recovery ----------------------------------------------------------------------

    def recover(self, older_than: float = 0.0) -> int:
        """Sends left `sending` (claimed longer than `older_than` seconds ago) may have reached the platform
        before their holder died: they wait SEND_DOUBT_SECONDS for their echo, then go again."""
        t = models.OutboxMessage
        now = self.clock()
        cutoff = now - dt.timedelta(seconds=older_than)
        with Session(self.db) as session:
            taken = session.exec(update(t).where(col(t.status) == OutboxStatus.SENDING,
                                                 col(t.claimed_at).is_(None) | (col(t.claimed_at) <= cutoff))
                                 .values(status=OutboxStatus.PENDING, in_doubt=True,
                                         next_attempt_at=now + dt.timedelta(seconds=self.settings.send_doubt_seconds))
                                 ).rowcount
            session.commit()
        return taken
