"""Database tables (SQLModel). The same models run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import JSON, Column, LargeBinary, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Table: SQLModel sets `__table__` on every table class, but its type stubs do not declare it."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


class _Row(Protocol):
    id: int | None


def saved_id(row: _Row) -> int:
    """The id of a row the database has stored (flushed or read); SQLModel types `id` as `int | None`, None
    only before the first flush."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: it was never flushed")
    return row.id


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- What the delivery columns hold (stored as these strings) ---------------------------


class Author(StrEnum):
    """Who wrote a message (message.author, outbox.author)."""

    CITIZEN = "citizen"
    BOT = "bot"
    STAFF = "staff"


class Direction(StrEnum):
    """message.direction"""

    IN = "in"
    OUT = "out"


class EscalationStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class InboundStatus(StrEnum):
    """inbound_event.status: stored, claimed by a worker, handled, or failed for good."""

    PENDING = "pending"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    """outbox.status: due (or waiting for a retry), claimed by a sender, delivered, or given up (staff see it)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class SendOutcome(StrEnum):
    """What one platform call came to, as counted in bhxh_sends_total."""

    SENT = "sent"
    RETRY = "retry"  # the row waits for another attempt
    FAILED = "failed"


# --- Knowledge base (the live copy; knowledge_base/ files are its reviewed source) ---


class KnowledgeEntry(SQLModel, table=True):
    __tablename__ = "knowledge_entry"

    id: str = Field(primary_key=True, max_length=80)
    topic: str = Field(max_length=80, index=True)
    title: str = Field(max_length=300)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ParameterValueRow(SQLModel, table=True):
    __tablename__ = "parameter_value"
    __table_args__ = (UniqueConstraint("key", "province", "effective_from", name="uq_parameter_value_key_province_from"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, index=True)
    # "" for the national value; a province code for that province's own value (a local top-up)
    province: str = Field(default="", max_length=20)
    label: str = Field(sa_column=Column(Text, nullable=False))
    unit: str = Field(max_length=20)
    value: str = Field(max_length=40)
    effective_from: dt.date
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    verified: bool = True
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class KnowledgeDocument(SQLModel, table=True):
    """Whole-file knowledge: synonyms, intents, office details."""

    __tablename__ = "knowledge_document"

    name: str = Field(primary_key=True, max_length=40)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow)


# --- Conversations ---------------------------------------------------------------


class Conversation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20, index=True)
    external_id: str = Field(max_length=120)
    # the province whose OA or page the citizen wrote to (app.provinces); replies go out with its credentials
    province: str = Field(default="default", max_length=20, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    last_inbound_at: dt.datetime | None = None
    # The previous answered turn, for follow-ups ("còn hộ cận nghèo thì sao?")
    last_entry_id: str | None = Field(default=None, max_length=80)
    last_text: str | None = Field(default=None, sa_column=Column(Text))
    last_choices: list[str] | None = Field(default=None, sa_column=Column(JSON))
    # the choices were suggested under an escalation: picked, they are answered; they are not a topic to go on in
    last_choices_suggested: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # silent while staff handle it: after a handoff, an escalation or a staff reply
    bot_paused_until: dt.datetime | None = None
    # the platform id of the citizen's last message (Zalo quotes it in replies)
    last_platform_message_id: str | None = Field(default=None, max_length=200)
    # a test from `bhxh-bot ask` or /api/v1/ask: nobody to reply to; kept out of the inbox and the statistics
    is_test: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # '0' is false on both databases


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    direction: str = Field(max_length=3)  # Direction
    author: str = Field(max_length=10)  # Author
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    outcome: str | None = Field(default=None, max_length=12, index=True)
    entry_id: str | None = Field(default=None, max_length=80, index=True)
    score: float | None = None
    candidates: list[str] | None = Field(default=None, sa_column=Column(JSON))
    scores: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    message_id: int = Field(foreign_key="message.id")
    kind: str = Field(max_length=12)  # escalated | handoff
    province: str = Field(default="default", max_length=20, index=True)  # the conversation's, for staff scoping
    status: str = Field(default=EscalationStatus.OPEN, max_length=12, index=True)  # EscalationStatus
    reason: str = Field(default="", max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    resolved_at: dt.datetime | None = None
    # staff console: who took it, who closed it
    assigned_to: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    assigned_at: dt.datetime | None = None
    resolved_by: int | None = Field(default=None, foreign_key="staff_user.id")


# --- Channels ----------------------------------------------------------------------


class InboundRecord(SQLModel, table=True):
    """Every webhook event, stored before it is acknowledged; the unique key drops redeliveries."""

    __tablename__ = "inbound_event"
    __table_args__ = (UniqueConstraint("channel", "dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    # unique per channel; events of a province other than `default` carry "<province>/" in front
    dedupe_key: str = Field(max_length=250)
    province: str = Field(default="default", max_length=20)
    kind: str = Field(max_length=20)
    user_id: str = Field(max_length=120, index=True)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    payload: str | None = Field(default=None, sa_column=Column(Text))
    platform_message_id: str | None = Field(default=None, max_length=200, index=True)
    staff_id: str | None = Field(default=None, max_length=120)
    received_at: dt.datetime = Field(default_factory=utcnow)
    status: str = Field(default=InboundStatus.PENDING, max_length=12, index=True)  # InboundStatus
    claimed_at: dt.datetime | None = None  # when a worker took it (stale claims are taken back)
    attempts: int = 0
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class OutboxMessage(SQLModel, table=True):
    """A reply is written here before it is sent; the sender retries until sent or failed."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    channel: str = Field(max_length=20)
    province: str = Field(default="default", max_length=20)  # sent with this province's credentials
    recipient: str = Field(max_length=120)
    author: str = Field(max_length=10)  # Author.BOT or Author.STAFF
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    tag: str | None = Field(default=None, max_length=30)  # HUMAN_AGENT for late staff replies on Messenger
    paid: bool = False  # Zalo consultation message sent 48 h - 7 days after the citizen's last message
    reply_to: str | None = Field(default=None, max_length=200)
    status: str = Field(default=OutboxStatus.PENDING, max_length=12, index=True)  # OutboxStatus
    claimed_at: dt.datetime | None = None
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, index=True)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    error_code: str | None = Field(default=None, max_length=40)
    platform_message_id: str | None = Field(default=None, max_length=200, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None
    echoed_at: dt.datetime | None = None  # the platform's echo of this send came back
    # a send cut off by a crash: it may have reached the citizen. Its echo settles it; without an
    # echo it is sent again once SEND_DOUBT_SECONDS have passed
    in_doubt: bool = False
    escalation_id: int | None = Field(default=None, foreign_key="escalation.id")
    # the staff message this row carries (a staff reply from the console or the API), for its delivery state
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)


class ChannelToken(SQLModel, table=True):
    """The current access/refresh token pair of a channel (Zalo's refresh token is single-use): "zalo" for
    the default province, "zalo:<province>" for the others."""

    __tablename__ = "channel_token"

    channel: str = Field(primary_key=True, max_length=20)
    access_token: str = Field(sa_column=Column(Text, nullable=False))
    refresh_token: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: dt.datetime
    updated_at: dt.datetime = Field(default_factory=utcnow)
    refreshes: int = 0
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Feedback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    entry_id: str | None = Field(default=None, max_length=80, index=True)
    helpful: bool
    created_at: dt.datetime = Field(default_factory=utcnow)


# --- Staff console -------------------------------------------------------------------


class User(SQLModel, table=True):
    """A staff member or admin of the console."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)  # stored lower-case
    role: str = Field(max_length=10)  # staff | admin
    # the province whose conversations and parameters this user sees; None: every province (ministry level)
    province: str | None = Field(default=None, max_length=20)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))  # argon2id, PHC string
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_login_at: dt.datetime | None = None


class StaffSession(SQLModel, table=True):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime = Field(index=True)
    ip: str = Field(default="", max_length=64)


class LoginFailure(SQLModel, table=True):
    """A failed login, counted per e-mail and per IP address to throttle guessing (in the database,
    so every web process sees the same counts)."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    ip: str = Field(max_length=64, index=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)


class AuditLog(SQLModel, table=True):
    """Who changed what, when: users, knowledge base, parameters, settings."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor: str = Field(max_length=254)  # the user's e-mail, or "cli" for the command line
    action: str = Field(max_length=40, index=True)  # user.create, user.update, kb.import, ...
    target: str = Field(default="", max_length=254)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ConversationNote(SQLModel, table=True):
    """A staff note on a conversation (never sent to the citizen)."""

    __tablename__ = "conversation_note"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    author_id: int = Field(foreign_key="staff_user.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class EntryVersion(SQLModel, table=True):
    """Every saved state of a knowledge-base entry edited in the console. At most one draft per
    entry; the bot answers only from `knowledge_entry`, which publishing writes."""

    __tablename__ = "entry_version"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: str = Field(max_length=80, index=True)
    number: int  # 1, 2, ... per entry
    state: str = Field(max_length=12, index=True)  # draft | published | archived
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=300)  # "bản gốc", "khôi phục bản 2", ...
    author_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    published_at: dt.datetime | None = None


class UnansweredDecision(SQLModel, table=True):
    """What an admin decided about a group of unanswered questions on the console: dismissed ("Bỏ qua"),
    snoozed until a date ("Để sau") or handled (added to an entry). `keys` are the normalised texts of the
    group's questions then; a group with one of them is covered (app.console.unanswered)."""

    __tablename__ = "unanswered_decision"

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=12, index=True)  # dismissed | snoozed | handled
    question: str = Field(sa_column=Column(Text, nullable=False))  # the group's question as shown
    keys: list[str] = Field(sa_column=Column(JSON, nullable=False))
    until: dt.datetime | None = None  # snoozed until (UTC)
    entry_id: str = Field(default="", max_length=80)  # handled: the entry it was added to
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)


# --- The semantic model, retrained in the background when the knowledge base's training texts change ---


class SemanticModel(SQLModel, table=True):
    """One training of the semantic model: requested, then trained by one process at a time
    (app.retrain), its files stored here once ready. The newest ready one is what every
    instance and worker answers with; with none, the committed models/bhxh-static."""

    __tablename__ = "semantic_model"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(max_length=12, index=True)  # queued | training | ready | failed | superseded
    reason: str = Field(default="", max_length=200)  # who or what asked for it
    # the knowledge base revision and training-text fingerprint it was requested for, then trained on
    kb_revision: str | None = Field(default=None, max_length=64)
    fingerprint: str = Field(default="", max_length=64)
    # what trains it (retrain.trainer_id: the training script, the repository's training corpus, the options)
    trainer: str = Field(default="", max_length=64)
    requested_at: dt.datetime = Field(default_factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    # the trainer holding it renews this; a training whose heartbeat is older than the lease was abandoned
    heartbeat_at: dt.datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=120)
    attempts: int = 0
    duration_seconds: float | None = None
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    log: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # the trainer's last lines
    size: int | None = None  # bytes of `files`
    files: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # a tar.gz of the model


class TrainingLock(SQLModel, table=True):
    """One row ("trainer"): every change to semantic_model's queue starts by updating it, so that
    queueing and claiming are serialised across processes on both databases."""

    __tablename__ = "semantic_model_lock"

    name: str = Field(primary_key=True, max_length=20)
    updated_at: dt.datetime = Field(default_factory=utcnow)
