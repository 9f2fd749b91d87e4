"""Flood control: a citizen over CITIZEN_MESSAGES_PER_MINUTE gets one notice, then no replies for a minute."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlmodel import Session, col, select

from app import models
from app.windows import aware
from webhooks.base import EventKind

FLOOD_NOTICE = ("Bạn đã gửi nhiều tin nhắn trong thời gian ngắn. Các tin nhắn đã được ghi nhận; "
                "vui lòng chờ khoảng một phút rồi gửi lại câu hỏi để được trả lời.")
COUNTED = (EventKind.TEXT, EventKind.NON_TEXT)  # messages, not follows or echoes
FLOODED = "flood"  # message.outcome of a citizen's message over the limit


class Flood(StrEnum):
    """What becomes of a message over the limit (stored for staff either way, never answered by the engine)."""

    NOTICE = "notice"  # the first one over: the citizen is told to wait
    DROP = "drop"  # the rest, until a minute has passed: no reply


def flooding(session: Session, records: list[models.InboundRecord], limit: int) -> dict[int, Flood]:
    """The events from citizens over `limit` messages a minute, by event id. Decided before any answering."""
    counted = [r for r in records if r.kind in COUNTED]
    if limit <= 0 or not counted:
        return {}
    table = models.InboundRecord
    window = dt.timedelta(minutes=1)
    since = min(aware(r.received_at) for r in counted) - window
    recent = session.exec(select(table.channel, table.user_id, table.id, table.received_at)
                          .where(col(table.user_id).in_({r.user_id for r in counted}), table.received_at >= since,
                                 col(table.kind).in_(COUNTED))).all()
    verdicts = {}
    for r in counted:
        at = aware(r.received_at)
        r_id = models.saved_id(r)
        n = sum(1 for channel, user, rid, received in recent  # rid: a stored row's id, never None
                if channel == r.channel and user == r.user_id and rid is not None and rid <= r_id
                and at - window <= aware(received) <= at)
        if n > limit:
            verdicts[r_id] = Flood.NOTICE if n == limit + 1 else Flood.DROP
    return verdicts
