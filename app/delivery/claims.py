"""Claims on inbound events and outbox rows: a compare-and-set of the row's status that counts an attempt.

The attempt number a claim returns fences it: whatever the holder records afterwards is written only
while the row still has that status and that number, so a claim taken back by recovery (the holder
was slow or died) is never acted on twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models

Claimable = type[models.InboundRecord] | type[models.OutboxMessage]


def claim(db: Engine, table: Claimable, ids: list[int], old: str, new: str, now: dt.datetime) -> dict[int, int]:
    """Take rows from `old` to `new` status, counting an attempt; returns the rows this worker got
    (others were taken), each with its attempt number."""
    if not ids:
        return {}
    where = (col(table.id).in_(ids), col(table.status) == old)
    if db.dialect.name == "postgresql":
        # skip rows another instance holds instead of queueing behind its lock
        locked = select(table.id).where(*where).with_for_update(skip_locked=True)
        where = (col(table.id).in_(locked), col(table.status) == old)
    with Session(db) as session:
        got: dict[int, int] = dict(session.exec(update(table).where(*where)
                                                .values(status=new, claimed_at=now, attempts=col(table.attempts) + 1)
                                                .returning(col(table.id), col(table.attempts))).all())
        session.commit()
    return got
