"""The inbound event log: webhook events stored before they are acknowledged, and the workers' claims on them."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models, storage
from app.delivery.claims import claim
from app.models import InboundStatus, utcnow
from webhooks.base import EventKind, InboundEvent

log = logging.getLogger(__name__)


@dataclass
class Stored:
    new: int
    duplicates: int


def clean(text: str | None) -> str | None:
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

    def __init__(self, db: Engine, on_new: Callable[[], None] | None = None):
        self.db = db
        self.on_new = on_new
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def submit(self, events: list[InboundEvent]) -> Future[Stored]:
        """Persist webhook events; the future resolves once they are durable."""
        future: Future[Stored] = Future()
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
        key = clean(ev.dedupe_key) or ""
        if ev.province != "default":  # unique per channel across provinces, whatever the platform's ids
            key = f"{ev.province}/{key}"
            if len(key) > 250:
                key = f"{ev.province}/sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
        record = models.InboundRecord(
            channel=ev.channel, dedupe_key=key[:250], province=ev.province, kind=ev.kind,
            user_id=(clean(ev.user_id) or "")[:120], text=clean(ev.text) or "", payload=clean(ev.payload),
            platform_message_id=clean(ev.platform_message_id), staff_id=clean(ev.staff_id),
            status=InboundStatus.DONE if ev.kind == EventKind.IGNORED else InboundStatus.PENDING,
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
        table = models.table_of(models.InboundRecord)
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


class InboundClaims:
    """Which stored events a worker answers next, its claims on them, and taking back the claims of a
    worker that died or stalled."""

    def __init__(self, db: Engine, clock: Callable[[], dt.datetime]):
        self.db = db
        self.clock = clock

    def claim_next(self, limit: int) -> dict[int, int]:
        """Claim up to `limit` pending events, at most one per citizen and each citizen's earliest (a later
        message waits for the earlier one, across workers and processes): event id -> the claim's attempt."""
        table = models.InboundRecord
        with Session(self.db) as session:
            rows = list(session.exec(select(table.id, table.channel, table.user_id, table.status)
                                     .where(col(table.status).in_((InboundStatus.PENDING, InboundStatus.WORKING)))
                                     .order_by(col(table.id)).limit(limit * 5)))
        first: list[int] = []
        seen: set[tuple[str, str]] = set()
        for record_id, channel, user, status in rows:
            if (channel, user) in seen:
                continue  # a later message of a citizen waits for the earlier one
            seen.add((channel, user))
            if status == InboundStatus.PENDING and record_id is not None:  # a stored row: never None
                first.append(record_id)
            if len(first) >= limit:
                break
        return claim(self.db, table, first, InboundStatus.PENDING, InboundStatus.WORKING, self.clock())

    @staticmethod
    def finish(session: Session, attempts: dict[int, int], status: InboundStatus = InboundStatus.DONE,
               error: str = "") -> set[int]:
        """Mark claimed events `status` where this worker still holds the claim (same attempt number,
        still working); returns those ids. No commit: the caller's transaction holds the events' effects."""
        table = models.InboundRecord
        held = set()
        for record_id, attempt in attempts.items():
            n = session.exec(update(table).where(col(table.id) == record_id, col(table.status) == InboundStatus.WORKING,
                                                 col(table.attempts) == attempt)
                             .values(status=status, error=error)).rowcount
            if n:
                held.add(record_id)
        return held

    def recover(self, older_than: float = 0.0) -> int:
        """Events left `working` (claimed longer than `older_than` seconds ago) are answered again: an event's
        effects commit together with its status, so one still working had none."""
        table = models.InboundRecord
        cutoff = self.clock() - dt.timedelta(seconds=older_than)
        with Session(self.db) as session:
            taken = session.exec(update(table).where(col(table.status) == InboundStatus.WORKING,
                                                     col(table.claimed_at).is_(None) | (col(table.claimed_at) <= cutoff))
                                 .values(status=InboundStatus.PENDING)).rowcount
            session.commit()
        return taken

    def prune(self, retention_days: float) -> int:
        """Handled webhook events older than INBOUND_RETENTION_DAYS are deleted."""
        cutoff = utcnow() - dt.timedelta(days=retention_days)
        gone = storage.prune_inbound(self.db, cutoff)
        if gone:
            log.info("pruned %d handled webhook events received before %s", gone, cutoff.isoformat(timespec="seconds"))
        return gone
