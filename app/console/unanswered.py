"""What the bot could not answer: escalated questions and answers citizens rated "Chưa đúng",
grouped by similarity with the retrieval's own representations (its normalisation and typo
correction, character n-gram TF-IDF and, when loaded, the semantic model), most frequent first."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session, col, select

from app import models
from app.console.dashboard import _bounds
from app.engine import Engine
from app.models import Author
from app.privacy import find_personal_numbers, mask

THRESHOLD = 0.6  # combined cosine similarity to a group's first question
MAX_ITEMS = 5000


@dataclass
class Group:
    texts: list[str] = field(default_factory=list)  # as written, newest first (only those without personal numbers)
    examples: list[str] = field(default_factory=list)  # masked, for display
    count: int = 0
    not_helpful: int = 0
    closest: Counter = field(default_factory=Counter)

    @property
    def question(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def closest_entry(self) -> str:
        return self.closest.most_common(1)[0][0] if self.closest else ""


def _items(db: DbEngine, first: dt.date, last: dt.date) -> list[tuple[str, str, bool]]:
    """(text, closest entry, rated not helpful), newest first."""
    start, end = _bounds(first, last)
    msg = models.Message
    items = []
    with Session(db) as session:
        escalated = session.exec(select(msg).where(msg.author == Author.CITIZEN, msg.outcome == "escalated",
                                                   msg.created_at >= start, msg.created_at < end)
                                 .order_by(col(msg.id).desc()).limit(MAX_ITEMS))
        for m in escalated:
            if find_personal_numbers(m.text):
                continue  # a personal case: staff look it up, the knowledge base cannot answer it
            closest = next((c for c in m.candidates or [] if not c.startswith("@")), "")
            items.append((m.text, closest, False))
        rated = session.exec(select(msg).join(models.Feedback, col(models.Feedback.message_id) == msg.id)
                             .where(col(models.Feedback.helpful).is_(False), models.Feedback.created_at >= start,
                                    models.Feedback.created_at < end).order_by(col(msg.id).desc()).limit(MAX_ITEMS))
        for m in rated:
            items.append((m.text, m.entry_id or "", True))
    return items


def _vectors(engine: Engine, texts: list[str]):
    """Character n-gram TF-IDF rows (sparse, L2-normalised) and semantic vectors (or None)."""
    index = engine.index
    keys = [index.correct(engine.normalizer.key(t)) for t in texts]
    rows = [index.query.char(k) for k in keys]  # the retrieval's own query vectors (L2-normalised)
    indptr = np.cumsum([0] + [len(idx) for idx, _ in rows])
    char = sparse.csr_matrix((np.concatenate([d for _, d in rows]), np.concatenate([i for i, _ in rows]), indptr),
                             shape=(len(keys), index.query.n_features), dtype=np.float32)
    semantic = index._encode(keys) if index.encoder is not None else None
    return char, semantic


def groups(db: DbEngine, engine: Engine, first: dt.date, last: dt.date) -> list[Group]:
    items = _items(db, first, last)
    if not items:
        return []
    char, semantic = _vectors(engine, [t for t, _, _ in items])
    leaders: list[int] = []
    found: list[Group] = []
    for i, (text, closest, bad) in enumerate(items):
        best = None
        if leaders:
            sims = np.asarray((char[leaders] @ char[i].T).todense()).ravel()
            if semantic is not None:
                sims = 0.5 * sims + 0.5 * (semantic[leaders] @ semantic[i])
            j = int(np.argmax(sims))
            if sims[j] >= THRESHOLD:
                best = j
        if best is None:
            leaders.append(i)
            found.append(Group())
            best = len(found) - 1
        g = found[best]
        g.count += 1
        g.not_helpful += int(bad)
        if closest:
            g.closest[closest] += 1
        if not find_personal_numbers(text) and text not in g.texts:
            g.texts.append(text)
        if len(g.examples) < 5 and mask(text) not in g.examples:
            g.examples.append(mask(text))
    return sorted(found, key=lambda g: -g.count)
