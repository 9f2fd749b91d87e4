"""Database tables (SQLModel). The same models run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    __table_args__ = (UniqueConstraint("key", "effective_from"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, index=True)
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
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    last_inbound_at: dt.datetime | None = None
    # The previous answered turn, for follow-ups ("còn hộ cận nghèo thì sao?")
    last_entry_id: str | None = Field(default=None, max_length=80)
    last_text: str | None = Field(default=None, sa_column=Column(Text))
    last_choices: list[str] | None = Field(default=None, sa_column=Column(JSON))


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    direction: str = Field(max_length=3)  # in | out
    author: str = Field(max_length=10)  # citizen | bot | staff
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
    status: str = Field(default="open", max_length=12, index=True)  # open | resolved
    reason: str = Field(default="", max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    resolved_at: dt.datetime | None = None
