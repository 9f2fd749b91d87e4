"""Answering a labelled message file and measuring the answers (`bhxh-bot eval`, scripts/plot_thresholds.py).

A row is a JSON object with `text` and optionally `expect` (an entry id, "@escalate", "@smalltalk"
or "@handoff"), `style` (chat, polite, caps, emoji, letter, two, followup), for style "two" `also`
(the second question's entry) and for style "followup" `context` (the earlier message: it is
answered first, in the same conversation, and the row's text is answered as the next turn).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.engine import ANSWERED, CLARIFY, ESCALATED, HANDOFF, SMALLTALK, Engine, Reply, Turn

LETTER = "letter"


def answer_row(engine: Engine, row: dict, day: dt.date) -> Reply:
    """The engine's reply to a row, after its context (if any) as the previous turn."""
    turn = Turn()
    context = row.get("context")
    if isinstance(context, str) and context.strip():
        turn = engine.answer(context, Turn(), day=day).next_turn(context)
    return engine.answer(row["text"], turn, day=day)


FINER_FILE = "finer.tsv"  # in the knowledge base's folder: entry <TAB> the listed topic it answers a narrower case of
Finer = frozenset[tuple[str, str]]


def read_finer(kb_dir) -> Finer:
    """(entry, topic) pairs of knowledge_base/finer.tsv: an answer with such an entry to a message labelled
    with that topic counts as right (a finer entry that fully answers it). Read once by `bhxh-bot eval`."""
    from pathlib import Path

    path = Path(kb_dir) / FINER_FILE
    if not path.exists():
        return frozenset()
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    return frozenset((r[0].strip(), r[1].strip()) for r in rows if len(r) >= 2)


def answers_topic(entry_id: str | None, expect: str, finer: Finer = frozenset()) -> bool:
    return entry_id == expect or (entry_id, expect) in finer


def is_right(expect: str, reply: Reply, finer: Finer = frozenset()) -> bool:
    if expect == "@escalate":
        return reply.outcome == ESCALATED
    if expect == "@handoff":
        return reply.outcome == HANDOFF
    if expect == "@smalltalk":
        return reply.outcome == SMALLTALK
    return reply.outcome == ANSWERED and answers_topic(reply.entry_id, expect, finer)


def is_wrong_answer(expect: str, reply: Reply, finer: Finer = frozenset()) -> bool:
    """An answer the citizen should not have got: another entry's, or any entry's to a message
    that is out of scope, small talk or a request for a person."""
    return reply.outcome == ANSWERED and not answers_topic(reply.entry_id, expect, finer)


@dataclass
class Group:
    """Counts over a set of labelled rows."""

    n: int = 0
    in_scope: int = 0
    correct: int = 0  # in scope, answered with the expected entry
    wrong: int = 0  # in scope, answered with another entry
    wrong_offered: int = 0  # of those, the expected entry among the answer's choices (one tap away)
    wrong_offered_first: int = 0  # ... as the first choice
    wrong_other_question: int = 0  # of the wrong answers, the entry of another question the message asks (`also`)
    clarify_right: int = 0  # in scope, a clarifying question with the expected entry among its choices
    clarify: int = 0
    escalated: int = 0  # in scope, sent to staff
    escalated_suggested: int = 0  # of those, the expected entry among the suggestions while the citizen waits
    top3: int = 0
    right: int = 0  # any row: the expected outcome
    answered_wrongly: int = 0  # any row: an answer it should not have got
    oos: int = 0
    oos_answered: int = 0
    handoff: int = 0
    handoff_right: int = 0
    smalltalk: int = 0
    smalltalk_right: int = 0
    two: int = 0
    two_offered: int = 0  # style two: the second question's entry is the first follow-up choice
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, row: dict, reply: Reply, finer: Finer = frozenset()) -> None:
        expect = row["expect"]
        self.n += 1
        self.outcomes[reply.outcome] = self.outcomes.get(reply.outcome, 0) + 1
        self.right += is_right(expect, reply, finer)
        self.answered_wrongly += is_wrong_answer(expect, reply, finer)
        if not expect.startswith("@"):
            self.in_scope += 1
            self.correct += reply.outcome == ANSWERED and answers_topic(reply.entry_id, expect, finer)
            wrong = reply.outcome == ANSWERED and not answers_topic(reply.entry_id, expect, finer)
            offered = [c.entry_id for c in reply.choices]
            self.wrong += wrong
            self.wrong_offered += wrong and expect in offered
            self.wrong_offered_first += wrong and offered[:1] == [expect]
            also = row.get("also")
            self.wrong_other_question += bool(wrong and also and answers_topic(reply.entry_id, also, finer))
            self.clarify += reply.outcome == CLARIFY
            self.clarify_right += reply.outcome == CLARIFY and expect in offered
            self.escalated += reply.outcome == ESCALATED
            self.escalated_suggested += reply.outcome == ESCALATED and expect in offered
            self.top3 += expect in reply.candidates[:3]
        elif expect == "@escalate":
            self.oos += 1
            self.oos_answered += reply.outcome == ANSWERED
        elif expect == "@handoff":
            self.handoff += 1
            self.handoff_right += reply.outcome == HANDOFF
        elif expect == "@smalltalk":
            self.smalltalk += 1
            self.smalltalk_right += reply.outcome == SMALLTALK
        if row.get("style") == "two" and row.get("also"):
            self.two += 1
            self.two_offered += bool(reply.choices) and reply.choices[0].entry_id == row["also"]


@dataclass
class Report:
    rows: list[tuple[dict, Reply]]
    all: Group
    styles: dict[str, Group]
    letters: Group


def evaluate(engine: Engine, items: list[dict], day: dt.date, finer: Finer = frozenset()) -> Report:
    rows = [(item, answer_row(engine, item, day)) for item in items]
    return measure(rows, finer)


def measure(rows: list[tuple[dict, Reply]], finer: Finer = frozenset()) -> Report:
    total, letters = Group(), Group()
    styles: dict[str, Group] = {}
    for item, reply in rows:
        if not item.get("expect"):
            continue
        total.add(item, reply, finer)
        style = str(item.get("style") or "")
        if style:
            styles.setdefault(style, Group()).add(item, reply, finer)
        if style == LETTER:
            letters.add(item, reply, finer)
    return Report(rows, total, dict(sorted(styles.items())), letters)
