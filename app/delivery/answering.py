"""Answering stored events: what each event means for its conversation, stored together with the event's
`done` status in one transaction, and only for the claims this worker still holds."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app import models, storage
from app.conversation import ConversationPolicy
from app.delivery.echoes import settle_echo
from app.delivery.feedback import ALTERNATIVES_PROMPT, THANKS_HELPFUL, THANKS_WRONG, feedback_of, last_answered
from app.delivery.flood import COUNTED, FLOOD_NOTICE, FLOODED, Flood, flooding
from app.delivery.inbound import InboundClaims
from app.delivery.outbox import Checkpoints, Outbox
from app.engine import ANSWERED, CLARIFY, Reply
from app.models import Author, Direction, InboundStatus
from app.service import ConversationService, Runtime
from webhooks.base import Choice, EventKind, OutgoingMessage

log = logging.getLogger(__name__)

NOT_TEXT = "[tin nhắn không phải chữ]"  # what staff read for a citizen's message without text


@dataclass(frozen=True)
class Prepared:
    """What was worked out for an event before its batch's transaction, with no write lock held."""

    reply: Reply | None = None  # the engine's reply to a text event
    failed: bool = False  # answering raised (logged): the event is answered again inside its transaction


NO_ANSWER_NEEDED = Prepared()  # not a question for the engine (an echo, a follow, feedback, a flood, ...)


def _choices(reply: Reply) -> list[Choice]:
    return [Choice(c.title, c.short_title, c.entry_id) for c in reply.choices]


class Answering:
    def __init__(self, runtime: Runtime, claims: InboundClaims, outbox: Outbox, policy: ConversationPolicy,
                 clock: Callable[[], dt.datetime], checkpoints: Checkpoints):
        """`checkpoints`: fault injection (`before_inbound_commit`), shared with the caller."""
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        self.claims = claims
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        self.checkpoints = checkpoints
        self.conversations = ConversationService(runtime, policy)

    def process_pending(self, limit: int = 64) -> int:
        """Answer a batch of stored events: at most one per citizen, in order, across workers and processes.

        The answers are worked out first, with no write lock held; then the whole batch is stored
        in one transaction (replies, escalations, outbox rows and the events' status together, so a
        crash never leaves an event answered but not marked done)."""
        attempts = self.claims.claim_next(limit)
        claimed = sorted(attempts)
        if not claimed:
            return 0
        table = models.InboundRecord
        with Session(self.db) as session:
            records = list(session.exec(select(table).where(col(table.id).in_(claimed)).order_by(col(table.id))))
            conversations = storage.find_conversations(session, {(r.channel, r.user_id) for r in records})
            flood = flooding(session, records, self.settings.citizen_messages_per_minute)
            prepared = {r.id: NO_ANSWER_NEEDED if r.id in flood else self.prepare(r, conversations.get((r.channel, r.user_id)))
                        for r in records}
            try:
                hook = self.checkpoints.get("before_inbound_commit")
                if hook is not None:
                    hook(claimed)
                # first, and under the rows' write locks until the commit: the batch still holds its
                # claims (a claim taken back by recovery, however slow this worker was, is answered by
                # whoever took it, never twice)
                held = self.claims.finish(session, attempts)
                if len(held) < len(claimed):
                    session.rollback()
                    log.warning("%d of %d events were taken back from this worker while it answered them; "
                                "the rest are stored one by one", len(claimed) - len(held), len(claimed))
                    for record_id in sorted(held):
                        self._apply_alone(record_id, attempts[record_id], prepared[record_id])
                    return len(claimed)
                # the batch's new conversations in one insert, so that nothing below needs a flush
                new = {(r.channel, r.user_id): self.policy.new(r.channel, r.user_id, r.province)
                       for r in records if r.kind != EventKind.OWN_ECHO and (r.channel, r.user_id) not in conversations}
                if new:
                    session.add_all(new.values())
                    session.flush()
                    conversations.update(new)
                for record in records:
                    self.apply(session, record, conversations.get((record.channel, record.user_id)), prepared[record.id],
                               flood.get(models.saved_id(record)))
                session.commit()
                return len(records)
            except Exception:
                session.rollback()
                log.exception("a batch of %d events failed; storing them one by one", len(records))
        for record_id in claimed:  # one bad event never holds up the others
            self._apply_alone(record_id, attempts[record_id], prepared[record_id])
        return len(claimed)

    def _apply_alone(self, record_id: int, attempt: int, prepared: Prepared) -> None:
        with Session(self.db) as session:
            if not self.claims.finish(session, {record_id: attempt}):
                session.rollback()
                log.warning("inbound event %s was taken back from this worker; its new holder answers it", record_id)
                return
            record = session.get(models.InboundRecord, record_id)
            assert record is not None  # claimed by this worker, so not pruned
            try:
                conv = storage.find_conversation(session, record.channel, record.user_id)
                flood = flooding(session, [record], self.settings.citizen_messages_per_minute)
                self.apply(session, record, conv, prepared, flood.get(record_id))
                session.commit()
            except Exception as exc:
                log.exception("inbound event %s failed", record_id)
                session.rollback()
                self.claims.finish(session, {record_id: attempt}, InboundStatus.FAILED, repr(exc)[:500])
                session.commit()

    def prepare(self, record: models.InboundRecord, conv: models.Conversation | None) -> Prepared:
        """The engine's reply to a text event, worked out before any write (CPU only)."""
        if record.kind != EventKind.TEXT or feedback_of(record) is not None:
            return NO_ANSWER_NEEDED
        try:
            conv = conv or self.policy.new(record.channel, record.user_id, record.province)
            return Prepared(self.conversations.reply_for(conv, record.text or (record.payload or ""), self._chosen(record)))
        except Exception:
            log.exception("answering event %s failed; it is answered again when stored", record.id)
            return Prepared(failed=True)

    def _chosen(self, record: models.InboundRecord) -> str | None:
        """The entry a quick reply or postback picked."""
        return record.payload if record.payload and record.payload in self.runtime.engine.kb.entries else None

    def _picks_suggestion(self, record: models.InboundRecord, conv: models.Conversation) -> bool:
        """Whether the event picks one of the entries the bot offered last (a tap or its number): while staff hold
        the conversation, the bot still answers a pick of the suggestions it gave with the escalation (staff acting
        on the conversation withdraws them: ConversationPolicy.hold_for_staff). The escalation stays open."""
        offered = list(conv.last_choices or [])
        if record.kind != EventKind.TEXT or not offered or feedback_of(record) is not None:
            return False
        return self._chosen(record) in offered or self.runtime.engine.picked(record.text or "", offered) is not None

    def _message(self, session: Session, conv_id: int, direction: Direction, author: Author, text: str,
                 **fields) -> models.Message:
        message = models.Message(conversation_id=conv_id, direction=direction, author=author, text=text, **fields)
        session.add(message)
        return message

    def _bot_says(self, session: Session, conv: models.Conversation, message: OutgoingMessage, text: str,
                  **fields) -> None:
        """The bot's reply: stored for staff and queued for the citizen."""
        assert conv.id is not None
        self._message(session, conv.id, Direction.OUT, Author.BOT, text, **fields)
        self.outbox.queue(session, conv, message, Author.BOT)

    def apply(self, session: Session, record: models.InboundRecord, conv: models.Conversation | None,
              prepared: Prepared, flood: Flood | None = None) -> None:
        """Store what an event means for its conversation and queue the bot's reply (no commit)."""
        now = self.clock()
        if record.kind == EventKind.OWN_ECHO:
            # our own send coming back: confirms delivery (it may arrive before the send call returns)
            settle_echo(session, record, now, self.settings.zalo_echo_match_seconds)
            return
        if conv is None:
            conv = self.policy.new(record.channel, record.user_id, record.province)
            session.add(conv)
            session.flush()
        conv_id = conv.id
        assert conv_id is not None
        if record.kind == EventKind.STAFF_ECHO:
            # a person replied in the platform's own inbox: record it and keep the bot out of the way
            self._message(session, conv_id, Direction.OUT, Author.STAFF, record.text)
            self.policy.hold_for_staff(conv, now)
            session.add(conv)
            return
        self.policy.citizen_wrote(conv, record.platform_message_id, now)
        session.add(conv)
        if self.policy.bot_paused(conv, now) and not self._picks_suggestion(record, conv):
            message = self._message(session, conv_id, Direction.IN, Author.CITIZEN, record.text or NOT_TEXT,
                                    created_at=now)
            conv.updated_at = now
            if record.kind in COUNTED:  # a message, not a follow
                self.policy.reopen(session, conv, message)
            return
        if flood is not None:
            # stored for staff, never answered by the engine; one notice per flood
            self._message(session, conv_id, Direction.IN, Author.CITIZEN, record.text or NOT_TEXT, outcome=FLOODED)
            if flood == Flood.NOTICE:
                self._bot_says(session, conv, OutgoingMessage(FLOOD_NOTICE), FLOOD_NOTICE)
            return
        province = self.runtime.provinces.get(conv.province) if self.runtime.provinces is not None else None
        if record.kind == EventKind.FOLLOW:
            welcome = self.runtime.engine.welcome(province)
            self._bot_says(session, conv, OutgoingMessage(welcome.body, _choices(welcome), welcome.choices_prompt),
                           welcome.text, outcome=welcome.outcome)
            return
        if record.kind == EventKind.NON_TEXT:
            text = self.runtime.engine.non_text_reply(province)
            self._message(session, conv_id, Direction.IN, Author.CITIZEN, record.text or "[hình ảnh, nhãn dán hoặc tệp]")
            self._bot_says(session, conv, OutgoingMessage(text), text)
            return
        helpful = feedback_of(record)
        answered = last_answered(session, conv_id) if helpful is not None else None
        if answered is not None:
            # about the bot's latest answer; the feedback message below ends that turn, so a second
            # "Hữu ích" is read as an ordinary message
            session.add(models.Feedback(conversation_id=conv_id, message_id=answered.id, entry_id=answered.entry_id,
                                        helpful=bool(helpful)))
            self._message(session, conv_id, Direction.IN, Author.CITIZEN,
                          record.text or ("Hữu ích" if helpful else "Chưa đúng"))
            if helpful:
                self._bot_says(session, conv, OutgoingMessage(THANKS_HELPFUL), THANKS_HELPFUL)
                return
            # not the right answer: the entries that came next for that question, one tap (or digit) away, and on
            # Messenger the button that asks for staff
            others = self.runtime.engine.alternatives(answered.entry_id, answered.candidates or [])
            if others:
                conv.last_choices, conv.last_choices_suggested = [c.entry_id for c in others], False
            wrong = Reply(CLARIFY, THANKS_WRONG, choices=others, choices_prompt=ALTERNATIVES_PROMPT)
            self._bot_says(session, conv, OutgoingMessage(wrong.body, _choices(wrong), wrong.choices_prompt,
                                                          offer_staff=True), wrong.text)
            return
        text = record.text or (record.payload or "")
        reply = prepared.reply
        if prepared.failed:
            log.info("event %s: answering it again, inside its transaction", record.id)
        if reply is None:
            # feedback with no answer to be about is an ordinary message, answered now; so is an event whose
            # answering failed before the transaction (a second failure marks the event failed)
            reply = self.conversations.reply_for(conv, text, self._chosen(record))
        done = self.conversations.record_turn(session, conv, text, reply, platform_message_id=record.platform_message_id,
                                              now=now)
        self.outbox.queue(session, conv,
                          OutgoingMessage(reply.body, _choices(reply), reply.choices_prompt,
                                          feedback=reply.outcome == ANSWERED, offer_staff=reply.offers_staff),
                          Author.BOT, escalation_id=done.escalation_id)
