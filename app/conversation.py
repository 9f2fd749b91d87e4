"""Who speaks in a conversation: the one place that changes a conversation's state.

The bot answers unless staff hold the conversation (`bot_paused_until`); the platforms' messaging
windows run from the citizen's last message (`last_inbound_at`); Zalo quotes the citizen's last
message (`last_platform_message_id`); conversations of `bhxh-bot ask` and /api/v1/ask are tests
(`is_test`). Every assignment of these fields is a method here; the callers (the inbound worker,
the conversation service, staff replies, the console's actions) say what happened. Nothing here
commits: the caller's transaction holds the change together with what caused it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import Session, col, select

from app import models
from app.models import EscalationStatus, utcnow
from app.windows import aware

# conversations of `bhxh-bot ask` and /api/v1/ask: tests by staff, with no citizen to reply to
TEST_CHANNELS = ("cli", "api")
# a citizen wrote to a conversation staff hold (the bot paused) with no request open: a new one, at the top
FOLLOWUP_REASON = "citizen wrote while staff held the conversation"


class NoSuchConversation(LookupError):
    pass


@dataclass(frozen=True)
class ConversationPolicy:
    """`quiet_hours`: how long the bot stays silent after staff act (BOT_QUIET_HOURS);
    `clock`: the time the changes are stamped with (the outbox's clock in tests)."""

    quiet_hours: float
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    # --- a conversation's life -------------------------------------------------------

    @staticmethod
    def new(channel: str, external_id: str, province: str = "default") -> models.Conversation:
        """A conversation not stored yet; the command line's and the API's are tests."""
        return models.Conversation(channel=channel, external_id=external_id, province=province,
                                   is_test=channel in TEST_CHANNELS)

    def citizen_wrote(self, conv: models.Conversation, platform_message_id: str | None = None,
                      at: dt.datetime | None = None) -> None:
        """The citizen's message opens the platform's window again; Zalo quotes it in the reply."""
        conv.last_inbound_at = at or self.clock()
        if platform_message_id:
            conv.last_platform_message_id = platform_message_id

    def bot_paused(self, conv: models.Conversation, at: dt.datetime | None = None) -> bool:
        """Staff hold the conversation: the bot stays silent."""
        paused = aware(conv.bot_paused_until)
        return paused is not None and paused > (at or self.clock())

    # --- staff hold, release, resolve ----------------------------------------------------

    def hold_for_staff(self, conv: models.Conversation, at: dt.datetime | None = None) -> None:
        """Staff take it from here (an escalation, a handoff, a staff reply, an echo of a reply typed in the
        platform's inbox, a staff member taking it): the bot is silent for `quiet_hours` from now. What the bot
        offered before is no longer picked from it: a number the citizen sends now is for staff."""
        conv.bot_paused_until = (at or self.clock()) + dt.timedelta(hours=self.quiet_hours)
        conv.last_choices, conv.last_choices_suggested = [], False

    def staff_acted(self, conv: models.Conversation, hold: bool) -> None:
        """A staff action on the conversation: the bot's pause starts again from now (`hold`: even when the
        bot was answering), so a conversation returns to the bot only after `quiet_hours` without any."""
        now = self.clock()
        if hold or self.bot_paused(conv, now):
            self.hold_for_staff(conv, now)

    @staticmethod
    def release(conv: models.Conversation) -> None:
        """Hand the conversation back to the bot."""
        conv.bot_paused_until = None

    def resolve(self, session: Session, conv: models.Conversation, user_id: int, keep: bool) -> int:
        """Close the conversation's open requests and hand it back to the bot, or with `keep` hold it for
        staff for another `quiet_hours`. Returns how many were closed (none: nothing changes)."""
        esc = models.Escalation
        now = self.clock()
        n = session.exec(update(esc).where(col(esc.conversation_id) == conv.id, col(esc.status) == EscalationStatus.OPEN)
                         .values(status=EscalationStatus.RESOLVED, resolved_at=now, resolved_by=user_id)).rowcount
        if n:
            if keep:
                self.hold_for_staff(conv, now)
            else:
                self.release(conv)
        return n

    @staticmethod
    def reopen(session: Session, conv: models.Conversation, message: models.Message) -> None:
        """The citizen wrote while staff hold the conversation (the bot is silent): make sure a request is open
        for it, so the message is seen. An open one is left as it is (the inbox shows the latest message)."""
        esc = models.Escalation
        if session.exec(select(esc.id).where(esc.conversation_id == conv.id, esc.status == EscalationStatus.OPEN)
                        .limit(1)).first():
            return
        session.flush()  # the request points at the message
        session.add(esc(conversation_id=models.saved_id(conv), message_id=models.saved_id(message), kind="followup",
                        reason=FOLLOWUP_REASON, province=conv.province or "default"))


def find(session: Session, conversation_id: int) -> models.Conversation:
    """The conversation, or NoSuchConversation."""
    conv = session.get(models.Conversation, conversation_id)
    if conv is None:
        raise NoSuchConversation(f"no conversation {conversation_id}")
    return conv
