"""From webhook to reply, losing nothing: inbound events are stored (deduplicated) before the
webhook is acknowledged; a worker answers them and writes replies to the outbox; a sender
delivers the outbox with retries, in order per conversation, and records permanent failures
on an escalation for staff. Both loops resume after a restart from what the database holds.

The parts, one job each:
- `inbound`: the event log (group-committed webhook storage) and the workers' claims on events;
- `answering`: what each event means for its conversation (with `flood`, `feedback`), stored under the claim;
- `outbox`: queueing within messaging windows, sending, backoff, recording, recovery
  (with `echoes`: settling by the platform's echo; `failures`: failed sends shown to staff);
- `worker`: the loops;
- `app.conversation.ConversationPolicy`: every change of a conversation's state.

`Delivery` wires them together for the web process and `bhxh-bot worker`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.conversation import ConversationPolicy, NoSuchConversation, find
from app.delivery.answering import Answering
from app.delivery.failures import failure_reason
from app.delivery.inbound import EventLog, InboundClaims, Stored
from app.delivery.outbox import NO_RECIPIENT, Checkpoints, Outbox, WindowClosed
from app.delivery.worker import Worker
from app.models import utcnow
from app.service import Runtime
from app.settings import Settings
from webhooks.base import Channel, InboundEvent

__all__ = ["Delivery", "NoSuchConversation", "WindowClosed", "NO_RECIPIENT", "Stored", "failure_reason"]


class Delivery:
    def __init__(self, runtime: Runtime, channels: dict[str, dict[str, Channel]],
                 clock: Callable[[], dt.datetime] | None = None):
        """`channels`: per province code, its channels by name (each with that province's credentials).
        `clock`: the time the outbox works by (tests pass a controllable one); utcnow by default."""
        self.runtime = runtime
        self.channels = channels
        self.clock = clock or utcnow
        # injection points for fault tests: name -> callable(info), called by the thread reaching that point
        self.checkpoints: Checkpoints = {}
        self.policy = ConversationPolicy(runtime.settings.bot_quiet_hours, self.clock)
        self.outbox = Outbox(runtime.db, runtime.settings, channels, self.policy, self.clock, self.checkpoints)
        self.claims = InboundClaims(runtime.db, self.clock)
        self.answering = Answering(runtime, self.claims, self.outbox, self.policy, self.clock, self.checkpoints)
        self.worker = Worker(runtime.settings, self.claims, self.answering, self.outbox)
        self.events = EventLog(runtime.db, on_new=self.worker.wake_inbound.set)
        for point in filter(None, (p.strip() for p in runtime.settings.send_pause_at.split(","))):
            self.checkpoints[point] = self._pause_file(point)

    @property
    def db(self) -> Engine:
        return self.runtime.db

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def idle_wait(self) -> float:
        """How long an idle loop sleeps before it polls the database again (`bhxh-bot worker --poll`)."""
        return self.worker.idle_wait

    @idle_wait.setter
    def idle_wait(self, seconds: float) -> None:
        self.worker.idle_wait = seconds

    def channel(self, name: str, province: str | None) -> Channel | None:
        """The channel that speaks for `province` (None for cli / api conversations)."""
        return self.outbox.channel(name, province)

    def _pause_file(self, point: str) -> Callable[[Any], None]:
        """SEND_PAUSE_AT (fault tests): a send reaching `point` writes SEND_PAUSE_DIR/<point>-<row id>
        and waits until SEND_PAUSE_DIR/go exists, so a test can kill the process at that instant."""
        folder = Path(self.settings.send_pause_dir or ".")

        def pause(job: Any) -> None:
            (folder / f"{point}-{getattr(job, 'id', 'x')}").touch()
            while not (folder / "go").exists():
                time.sleep(0.05)

        return pause

    # --- webhooks, staff -----------------------------------------------------------------

    def submit(self, events: list[InboundEvent]) -> Future[Stored]:
        """Persist webhook events (group commit); the future resolves once they are durable."""
        return self.events.submit(events)

    def staff_reply(self, conversation_id: int, text: str, staff: str = "") -> list[int]:
        """A staff member's reply, through the conversation's channel, within its window."""
        return self.outbox.staff_reply(conversation_id, text, staff)

    def release(self, conversation_id: int) -> None:
        """Hand the conversation back to the bot."""
        with Session(self.db) as session:
            conv = find(session, conversation_id)
            self.policy.release(conv)
            session.add(conv)
            session.commit()

    def resend_failed(self, conversation_id: int, message_id: int) -> int:
        """A staff message's failed parts go out again ("Gửi lại"); how many (0: none had failed)."""
        return self.outbox.resend_failed(conversation_id, message_id)

    # --- the work, for the loops and for tests that drive it by hand ---------------------

    def process_pending(self, limit: int = 64) -> int:
        return self.answering.process_pending(limit)

    def send_due(self, limit: int | None = None) -> int:
        return self.outbox.send_due(limit)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        return self.outbox.wait_idle(timeout)

    def recover(self, older_than: float = 0.0) -> int:
        return self.worker.recover(older_than)

    def start(self, inbound: bool = True, outbox: bool = True, alone: bool = True) -> None:
        self.worker.start(inbound, outbox, alone)

    def wait(self) -> None:
        self.worker.wait()

    def stop(self) -> None:
        self.events.close()
        self.worker.stop()
