"""Settling sends by the platform's echo: the echo of our own message proves it arrived, whatever became of
the call, so the outbox row it matches is marked sent (and never sent again)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import unicodedata

from sqlalchemy import ColumnElement, func, update
from sqlmodel import Session, col, select

from app import models
from app.models import OutboxStatus
from app.windows import aware

log = logging.getLogger(__name__)

UNSETTLED = (OutboxStatus.SENDING, OutboxStatus.PENDING)


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


def settle_echo(session: Session, record: models.InboundRecord, now: dt.datetime, match_seconds: float) -> None:
    """Mark the send an echo is of as sent, even while its call is still out or its row in doubt (no commit).

    Which send: the outbox row Messenger's metadata names; else the row with the echo's message id;
    else (Zalo, whose echo carries no reference) the oldest unsettled send to this citizen with the
    same text whose last attempt began within `match_seconds` (ZALO_ECHO_MATCH_SECONDS) of the
    platform's send time."""
    t = models.OutboxMessage
    scope = (col(t.channel) == record.channel, col(t.province) == record.province, col(t.recipient) == record.user_id)
    mid = record.platform_message_id

    def settle(*where: ColumnElement[bool]) -> int:
        n = session.exec(update(t).where(*scope, *where, col(t.status) != OutboxStatus.SENT)
                         .values(status=OutboxStatus.SENT, in_doubt=False, sent_at=now, echoed_at=now,
                                 platform_message_id=func.coalesce(t.platform_message_id, mid))).rowcount
        session.exec(update(t).where(*scope, *where, col(t.echoed_at).is_(None)).values(echoed_at=now))
        return n

    ref = echo_ref(record.payload)
    if ref is not None:
        settle(col(t.id) == ref)
        return
    if mid and session.exec(select(t.id).where(*scope, col(t.platform_message_id) == mid)).first() is not None:
        settle(col(t.platform_message_id) == mid)
        return
    key = text_key(record.text)
    sent_ms = echo_sent_ms(record.payload)
    candidates = session.exec(select(t).where(*scope, col(t.status).in_(UNSETTLED), t.attempts > 0,
                                              col(t.echoed_at).is_(None)).order_by(col(t.id))).all()
    for row in candidates:
        if text_key((row.payload or {}).get("text")) != key:
            continue
        tried = aware(row.claimed_at)
        if sent_ms is not None and tried is not None and abs(sent_ms / 1000 - tried.timestamp()) > match_seconds:
            continue
        if settle(col(t.id) == row.id, col(t.status).in_(UNSETTLED)):
            log.info("outbox row %s settled by its echo (matched by recipient and text)", row.id)
            return
