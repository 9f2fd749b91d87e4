"""Database access: schema upgrades on start, the live knowledge base and conversation records (the engine
itself comes from app.database)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from itertools import chain
from typing import Any

from sqlalchemy import delete, event, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from app import models
from app.knowledge import KnowledgeBase, Office, entry_from_dict, fingerprint
from app.parameters import Parameter, ParameterSet, ParameterValue
from app.privacy import mask


def init_db(engine: Engine, upgrade: bool = True) -> None:
    """Bring the schema up to date with the migrations (app/migrations/), or with `upgrade=False`
    refuse to run on an out-of-date schema."""
    from app import migrate

    migrate.ensure(engine, upgrade_on_start=upgrade)


# --- Knowledge base ----------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


# --- the knowledge base's revision: every instance and worker follows the live copy -----

REVISION = "revision"  # a KnowledgeDocument whose content changes with every change to the knowledge base
_KB_ROWS = (models.KnowledgeEntry, models.ParameterValueRow, models.KnowledgeDocument)


@event.listens_for(OrmSession, "after_flush")
def _new_kb_revision(session: OrmSession, _context) -> None:
    """Any flush that adds, changes or deletes a knowledge-base row gives the knowledge base a new
    revision in the same transaction, whichever code made the change (console, import, CLI).
    Other processes poll `kb_revision` and reload when it differs from what they loaded."""
    if not any(isinstance(obj, _KB_ROWS) for obj in chain(session.new, session.dirty, session.deleted)):
        return
    table = models.table_of(models.KnowledgeDocument)
    values = {"content": {"token": uuid.uuid4().hex}, "updated_at": models.utcnow()}
    conn = session.connection()
    if not conn.execute(update(table).where(table.c.name == REVISION).values(**values)).rowcount:
        conn.execute(insert(table).values(name=REVISION, **values))


def kb_revision(session: Session) -> str | None:
    """The live knowledge base's revision (None before its first change); one primary-key read."""
    content = session.exec(select(models.KnowledgeDocument.content)
                           .where(models.KnowledgeDocument.name == REVISION)).first()
    return str(content.get("token")) if content else None


def kb_is_empty(session: Session) -> bool:
    return session.exec(select(models.KnowledgeEntry).limit(1)).first() is None


def save_kb(session: Session, kb: KnowledgeBase, source: str = "") -> None:
    """Replace the live knowledge base with `kb` (one transaction)."""
    session.exec(delete(models.KnowledgeEntry))
    session.exec(delete(models.ParameterValueRow))
    session.exec(delete(models.KnowledgeDocument))
    for entry in kb.entries.values():
        session.add(
            models.KnowledgeEntry(id=entry.id, topic=entry.topic, title=entry.title,
                                  content=_jsonable(entry.to_dict()))
        )
    for param in kb.parameters.parameters.values():
        for v in param.values:
            session.add(
                models.ParameterValueRow(
                    key=param.key, label=param.label, unit=param.unit, value=str(v.value),
                    effective_from=v.effective_from, legal_basis=v.legal_basis, verified=v.verified,
                    source=v.source, note=v.note, province=v.province,
                )
            )
    session.add(models.KnowledgeDocument(name="synonyms", content=kb.synonyms))
    session.add(models.KnowledgeDocument(name="intents", content=_jsonable(kb.intents)))
    session.add(models.KnowledgeDocument(name="office", content=vars(kb.office)))
    # what was imported, to tell later whether the database copy was edited since
    session.add(models.KnowledgeDocument(name="imported", content={"fingerprint": fingerprint(kb), "source": source}))
    session.commit()


def imported_from(session: Session) -> tuple[str | None, str]:
    """The fingerprint of the last import and the directory it came from."""
    doc = session.get(models.KnowledgeDocument, "imported")
    if doc is None:
        return None, ""
    return str(doc.content.get("fingerprint")), str(doc.content.get("source") or "")


def load_kb(session: Session) -> KnowledgeBase:
    entries = {}
    for row in session.exec(select(models.KnowledgeEntry).order_by(col(models.KnowledgeEntry.id))):
        entry, _ = entry_from_dict(dict(row.content), f"database entry {row.id}")
        if entry is not None:
            entries[entry.id] = entry
    parameters: dict[str, Parameter] = {}
    for value in session.exec(select(models.ParameterValueRow).order_by(col(models.ParameterValueRow.id))):
        param = parameters.setdefault(value.key, Parameter(key=value.key, label=value.label, unit=value.unit, values=[]))
        param.values.append(
            ParameterValue(key=value.key, value=Decimal(value.value), effective_from=value.effective_from,
                           legal_basis=value.legal_basis, verified=value.verified, source=value.source, note=value.note,
                           province=value.province or "")
        )
    docs = {d.name: d.content for d in session.exec(select(models.KnowledgeDocument))}
    office = Office(**docs["office"]) if docs.get("office") else Office()
    return KnowledgeBase(entries=entries, parameters=ParameterSet(parameters), synonyms=docs.get("synonyms") or {},
                         intents=docs.get("intents") or {}, office=office)


# --- Conversations -----------------------------------------------------------------


def find_conversation(session: Session, channel: str, external_id: str) -> models.Conversation | None:
    return session.exec(
        select(models.Conversation).where(models.Conversation.channel == channel,
                                          models.Conversation.external_id == external_id)
    ).first()


def find_conversations(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], models.Conversation]:
    """The existing conversations among (channel, external id) pairs, in one query."""
    if not pairs:
        return {}
    rows = session.exec(select(models.Conversation)
                        .where(col(models.Conversation.external_id).in_(sorted({ext for _, ext in pairs}))))
    return {(c.channel, c.external_id): c for c in rows if (c.channel, c.external_id) in pairs}


def conversation_messages(session: Session, conversation_id: int) -> list[models.Message]:
    return list(
        session.exec(
            select(models.Message).where(models.Message.conversation_id == conversation_id)
            .order_by(col(models.Message.id))
        )
    )


def export_messages(session: Session) -> list[dict[str, Any]]:
    """Messages for analysis, with personal numbers masked."""
    rows = []
    for msg in session.exec(select(models.Message).order_by(col(models.Message.id))):
        rows.append({
            "id": msg.id, "conversation_id": msg.conversation_id, "direction": msg.direction,
            "author": msg.author, "text": mask(msg.text), "created_at": msg.created_at.isoformat(),
            "outcome": msg.outcome, "entry_id": msg.entry_id, "score": msg.score,
        })
    return rows


def prune_inbound(db: Engine, older_than: dt.datetime) -> int:
    """Delete handled webhook events (done or failed) received before `older_than`: what they said lives on
    in the conversation's messages; only their dedupe keys go, and events that old are refused at the
    webhook (see app.api). Events still pending or being answered are never touched."""
    table = models.InboundRecord
    with Session(db) as session:
        gone = session.exec(delete(table).where(col(table.status).in_((models.InboundStatus.DONE, models.InboundStatus.FAILED)),
                                                col(table.received_at) < older_than)).rowcount
        session.commit()
    return gone or 0
