"""What the bot could not answer: escalated questions and answers citizens rated "Chưa đúng",
grouped by similarity, most frequent first, minus the groups an admin dismissed, snoozed or handled.

Grouping (measured on eval/unanswered/labelled.tsv with scripts/measure_unanswered.py; the figures are
in docs/console-work.md): each question is normalised as the retrieval does (no diacritics,
abbreviations expanded, typos corrected: `Normalizer.key`, `Index.correct`); two questions' similarity is
the mean of the retrieval's character n-gram TF-IDF cosine and the semantic model's cosine (when it is
loaded, and both texts have a word the knowledge base uses: texts of unknown words all get the same
vector). A question joins the group it is most similar to if it is at least THRESHOLD similar to every
question already in it (complete linkage); otherwise it starts a group. Before, it was compared with the
group's first question only, at 0.6: recall was low and the groups depended on which question came first.

Suggestions: a group is offered an entry only when the retrieval scores that entry at least
SUGGESTION_FLOOR for the group's question, and the retrieval's best label is not an out-of-scope or
small-talk one ("@..."); otherwise the page says that no entry fits and offers a new one."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session, col, select

from app import models
from app.console.auth import audit
from app.console.dashboard import _bounds
from app.engine import Engine
from app.models import Author, utcnow
from app.privacy import find_personal_numbers, mask

THRESHOLD = 0.55  # similarity to every question of a group (chosen on eval/unanswered/labelled.tsv; moves with the model)
SUGGESTION_FLOOR = 0.7  # the retrieval's score for an entry to be suggested (chosen on the same file)
SNOOZE_DAYS = 7
MAX_ITEMS = 5000
FORM_CHARS = 8000  # of a group's questions sent back with a decision (the form limit is MAX_REQUEST_BYTES)
STATES = ("dismissed", "snoozed", "handled")


class DecisionError(ValueError):
    """Cannot do this; the message is Vietnamese."""


@dataclass
class Item:
    text: str
    closest: str  # the engine's closest entry when it was asked
    not_helpful: bool
    conversation_id: int = 0
    at: dt.datetime | None = None
    key: str = ""


@dataclass
class Group:
    texts: list[str] = field(default_factory=list)  # as written, newest first (only those without personal numbers)
    examples: list[str] = field(default_factory=list)  # masked, for display
    count: int = 0
    not_helpful: int = 0
    closest: Counter = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)  # normalised texts of every question in the group
    items: list[Item] = field(default_factory=list)
    suggested: str = ""  # the entry offered for it ("" : none fits; see SUGGESTION_FLOOR)
    decision: models.UnansweredDecision | None = None  # what covers it (shown with the "đã bỏ qua" filter)
    returned: int = 0  # citizens who asked again after it was dismissed or handled

    @property
    def question(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def closest_entry(self) -> str:
        return self.suggested

    @property
    def texts_field(self) -> str:
        """The group's questions, one a line, for the page's forms (a decision covers them): within FORM_CHARS so
        that a group of long messages stays under the console's form size limit."""
        out: list[str] = []
        size = 0
        for text in self.texts:
            text = " ".join(text.split())
            if out and size + len(text) > FORM_CHARS:
                break
            out.append(text[:FORM_CHARS])
            size += len(text) + 1
        return "\n".join(out)


def _items(db: DbEngine, first: dt.date, last: dt.date) -> list[Item]:
    """Newest first."""
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
            items.append(Item(m.text, closest, False, m.conversation_id, m.created_at))
        rated = session.exec(select(msg).join(models.Feedback, col(models.Feedback.message_id) == msg.id)
                             .where(col(models.Feedback.helpful).is_(False), models.Feedback.created_at >= start,
                                    models.Feedback.created_at < end).order_by(col(msg.id).desc()).limit(MAX_ITEMS))
        for m in rated:
            items.append(Item(m.text, m.entry_id or "", True, m.conversation_id, m.created_at))
    return items


def keys(engine: Engine, texts: list[str]) -> list[str]:
    """The retrieval's comparison form of each text: normalised and typo-corrected."""
    return [engine.index.correct(engine.normalizer.key(t)) for t in texts]


def _vectors(engine: Engine, keys: list[str]):
    """Character n-gram TF-IDF rows (sparse, L2-normalised) and semantic vectors (or None)."""
    index = engine.index
    rows = [index.query.char(k) for k in keys]  # the retrieval's own query vectors (L2-normalised)
    indptr = np.cumsum([0] + [len(idx) for idx, _ in rows])
    char = sparse.csr_matrix((np.concatenate([d for _, d in rows]), np.concatenate([i for i, _ in rows]), indptr),
                             shape=(len(keys), index.query.n_features), dtype=np.float32)
    semantic = index._encode(keys) if index.encoder is not None else None
    return char, semantic


def cluster(engine: Engine, texts: list[str], threshold: float = THRESHOLD, linkage: str = "complete",
            token_set: bool = False) -> list[int]:
    """The group number of each text (in order; groups numbered as they start). A text joins the group it is
    most similar to if it is similar enough (`threshold`) to every question already in it (complete linkage;
    "average": on average; "first": to the group's first question, the grouping before). Similarity: the mean of
    the character n-gram cosine and the semantic cosine (when the model is loaded), and with `token_set` of
    rapidfuzz's token-set ratio too (measured, not used: scripts/measure_unanswered.py)."""
    ks = keys(engine, texts)
    unique = list(dict.fromkeys(ks))  # identical normalised texts are one question
    char, semantic = _vectors(engine, unique)
    # a text none of whose words the knowledge base uses gets the model's vector of the unknown word, the same for
    # every such text: its semantic cosine says nothing, so only the character n-grams compare it
    vocabulary = engine.index._vocab_set
    known = np.array([any(w in vocabulary for w in k.split()) for k in unique])
    picks: dict[str, Callable[[np.ndarray], float]] = {"complete": lambda v: float(np.min(v)),
                                                       "average": lambda v: float(np.mean(v)), "first": lambda v: float(v[0])}
    pick = picks[linkage]
    members: list[list[int]] = []
    group_of: dict[str, int] = {}
    for i, key in enumerate(unique):
        best, best_sim = None, -1.0
        if i:
            sims = np.asarray((char[:i] @ char[i].T).todense()).ravel()
            measures = np.ones(i)
            if semantic is not None:
                both = known[:i] & known[i]
                sims = sims + np.where(both, semantic[:i] @ semantic[i], 0.0)
                measures = measures + both
            if token_set:
                sims = sims + process.cdist([key], unique[:i], scorer=fuzz.token_set_ratio, dtype=np.float32)[0] / 100
                measures = measures + 1
            sims = sims / measures
            for g, ms in enumerate(members):
                s = float(pick(sims[ms]))
                if s > best_sim:
                    best, best_sim = g, s
        if best is None or best_sim < threshold:
            members.append([])
            best = len(members) - 1
        members[best].append(i)
        group_of[key] = best
    return [group_of[k] for k in ks]


def suggestion(engine: Engine, text: str, floor: float = SUGGESTION_FLOOR) -> tuple[str, float]:
    """The entry to offer for a question and the retrieval's score for it; ("", score) when none fits."""
    cands = engine.index.search(engine.normalizer.key(text), top=3)
    if not cands or cands[0].label.startswith("@") or cands[0].score < floor:
        return "", cands[0].score if cands else 0.0
    return cands[0].label, cands[0].score


def _decisions(db: DbEngine) -> list[models.UnansweredDecision]:
    with Session(db) as session:
        return list(session.exec(select(models.UnansweredDecision).order_by(col(models.UnansweredDecision.id).desc())))


def _covering(g: Group, decisions: list[models.UnansweredDecision]) -> models.UnansweredDecision | None:
    mine = set(g.keys)
    return next((d for d in decisions if mine & set(d.keys or [])), None)


def _new_citizens(g: Group, decision: models.UnansweredDecision) -> int:
    """Citizens who asked after the decision and had not asked this group's question before it."""
    before = {i.conversation_id for i in g.items if i.at is not None and i.at <= decision.created_at}
    after = {i.conversation_id for i in g.items if i.at is not None and i.at > decision.created_at}
    return len(after - before)


def groups(db: DbEngine, engine: Engine, first: dt.date, last: dt.date, show: str = "open",
           now: dt.datetime | None = None) -> list[Group]:
    """`show`: "open" (what is still to do) or "decided" (dismissed, snoozed or handled, with their decision).

    A dismissed or handled group comes back to the open list when a citizen who had not asked it before asks it
    after the decision (its `returned` count says how many); a snoozed one when its date has passed."""
    items = _items(db, first, last)
    if not items:
        return []
    ids = cluster(engine, [i.text for i in items])
    ks = keys(engine, [i.text for i in items])
    found: dict[int, Group] = {}
    for item, gid, key in zip(items, ids, ks, strict=True):
        item.key = key
        g = found.setdefault(gid, Group())
        g.count += 1
        g.not_helpful += int(item.not_helpful)
        g.items.append(item)
        if key not in g.keys:
            g.keys.append(key)
        if item.closest:
            g.closest[item.closest] += 1
        if not find_personal_numbers(item.text) and item.text not in g.texts:
            g.texts.append(item.text)
        if len(g.examples) < 5 and mask(item.text) not in g.examples:
            g.examples.append(mask(item.text))
    now = now or utcnow()
    decisions = _decisions(db)
    shown = []
    for g in found.values():
        d = _covering(g, decisions)
        if d is not None:
            if d.state == "snoozed":
                covered = d.until is not None and d.until > now
            else:
                g.returned = _new_citizens(g, d)
                covered = g.returned == 0
            if covered:
                g.decision = d
        if (show == "decided") == (g.decision is not None):
            shown.append(g)
    for g in shown:
        g.suggested, _ = suggestion(engine, g.question) if g.question else ("", 0.0)
    return sorted(shown, key=lambda g: -g.count)


# --- decisions ----------------------------------------------------------------------------------------


def decide(db: DbEngine, engine: Engine, state: str, texts: list[str], user: models.User, entry_id: str = "",
           days: int = SNOOZE_DAYS) -> models.UnansweredDecision:
    """Record that a group (its questions `texts`, the first as shown) was dismissed, snoozed for `days` or
    handled (added to `entry_id`); audited in the same transaction."""
    if state not in STATES:
        raise DecisionError("Thao tác không hợp lệ.")
    texts = [" ".join(t.split()) for t in texts if t and t.strip()]
    if not texts:
        raise DecisionError("Thiếu câu hỏi của nhóm.")
    if state == "snoozed" and not 1 <= days <= 90:
        raise DecisionError("Số ngày để sau phải từ 1 đến 90.")
    now = utcnow()
    row = models.UnansweredDecision(state=state, question=texts[0], keys=list(dict.fromkeys(keys(engine, texts))),
                                    until=now + dt.timedelta(days=days) if state == "snoozed" else None,
                                    entry_id=entry_id, actor_id=user.id, created_at=now)
    with Session(db) as session:
        session.add(row)
        session.flush()
        audit(session, user, f"unanswered.{state}", texts[0],
              {"decision": row.id, "questions": len(texts), "days": days if state == "snoozed" else None,
               "entry_id": entry_id or None})
        session.commit()
        session.refresh(row)
        return row


def undo(db: DbEngine, decision_id: int, user: models.User) -> None:
    """Forget a decision: its group is back on the list."""
    with Session(db) as session:
        row = session.get(models.UnansweredDecision, decision_id)
        if row is None:
            raise DecisionError("Không có quyết định này (có thể đã được hoàn tác).")
        audit(session, user, "unanswered.undo", row.question, {"decision": row.id, "state": row.state})
        session.delete(row)
        session.commit()
