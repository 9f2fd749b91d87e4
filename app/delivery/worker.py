"""The worker loops: one thread answers stored events, one hands due outbox rows to the senders. Each wakes
at once for work made in this process and otherwise polls; both take back the stale claims of workers
that died, and the inbound loop prunes old webhook events."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.delivery.answering import Answering
from app.delivery.inbound import InboundClaims
from app.delivery.outbox import Outbox
from app.settings import Settings

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0  # seconds between two prunings of old webhook events


class Worker:
    def __init__(self, settings: Settings, claims: InboundClaims, answering: Answering, outbox: Outbox):
        self.settings = settings
        self.claims = claims
        self.answering = answering
        self.outbox = outbox
        self.wake_inbound = threading.Event()  # set when this process stores new events
        # how long an idle loop sleeps; woken at once by this process's webhooks, so a separate
        # worker process (`bhxh-bot worker`) polls the database at this interval
        self.idle_wait = 0.2
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def recover(self, older_than: float = 0.0) -> int:
        """After a crash: events being answered are answered again; sends in flight are retried.

        With `older_than`, only claims older than that many seconds are taken back, so that a
        live worker in another process keeps what it is working on."""
        taken = self.claims.recover(older_than) + self.outbox.recover(older_than)
        if taken:
            log.warning("took back %d events or sends left in flight", taken)
        return taken

    def start(self, inbound: bool = True, outbox: bool = True, alone: bool = True) -> None:
        """`alone`: no other worker process shares this database, so everything in flight is ours
        to take back now; otherwise only stale claims are, periodically."""
        self.recover(0.0 if alone else self.settings.claim_timeout_seconds)
        if inbound:
            self._spawn("process_pending", self._answer_events)
        if outbox:
            self._spawn("send_due", self._send_outbox)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def wait(self) -> None:
        for t in self._threads:
            while t.is_alive():
                t.join(timeout=1)

    def stop(self) -> None:
        self._stop.set()
        self.wake_inbound.set()
        self.outbox.wake.set()
        for t in self._threads:
            t.join(timeout=10)

    def _answer_events(self) -> None:
        last_prune: float | None = None

        def prune() -> None:
            nonlocal last_prune
            if last_prune is None or time.monotonic() - last_prune > PRUNE_EVERY:
                last_prune = time.monotonic()
                try:
                    self.claims.prune(self.settings.inbound_retention_days)
                except Exception:
                    log.exception("pruning old webhook events failed")

        def work() -> int:
            busy = self.answering.process_pending()
            if busy:
                self.outbox.wake.set()  # their replies are due
            return busy

        self._loop("process_pending", work, self.wake_inbound, prune)

    def _send_outbox(self) -> None:
        self._loop("send_due", self.outbox.send_due, self.outbox.wake)

    def _loop(self, name: str, work: Callable[[], int], wake: threading.Event,
              chores: Callable[[], None] | None = None) -> None:
        last_recovery = 0.0
        while not self._stop.is_set():
            stale = self.settings.claim_timeout_seconds
            if time.monotonic() - last_recovery > stale / 2:
                last_recovery = time.monotonic()
                try:
                    self.recover(stale)  # claims of a worker that died meanwhile
                except Exception:
                    log.exception("recovery failed")
            if chores is not None:
                chores()
            try:
                busy = work()
            except Exception:
                log.exception("%s failed; retrying", name)
                busy = 0
            if not busy:
                wake.wait(self.idle_wait)
                wake.clear()
