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


def is_right(expect: str, reply: Reply) -> bool:
    if expect == "@escalate":
        return reply.outcome == ESCALATED
    if expect == "@handoff":
        return reply.outcome == HANDOFF
    if expect == "@smalltalk":
        return reply.outcome == SMALLTALK
    return reply.outcome == ANSWERED and reply.entry_id == expect


def is_wrong_answer(expect: str, reply: Reply) -> bool:
    """An answer the citizen should not have got: another entry's, or any entry's to a message
    that is out of scope, small talk or a request for a person."""
    return reply.outcome == ANSWERED and reply.entry_id != expect


@dataclass
class Group:
    """Counts over a set of labelled rows."""

    n: int = 0
    in_scope: int = 0
    correct: int = 0  # in scope, answered with the expected entry
    wrong: int = 0  # in scope, answered with another entry
    clarify_right: int = 0  # in scope, a clarifying question with the expected entry among its choices
    clarify: int = 0
    escalated: int = 0  # in scope, sent to staff
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

    def add(self, row: dict, reply: Reply) -> None:
        expect = row["expect"]
        self.n += 1
        self.outcomes[reply.outcome] = self.outcomes.get(reply.outcome, 0) + 1
        self.right += is_right(expect, reply)
        self.answered_wrongly += is_wrong_answer(expect, reply)
        if not expect.startswith("@"):
            self.in_scope += 1
            self.correct += reply.outcome == ANSWERED and reply.entry_id == expect
            self.wrong += reply.outcome == ANSWERED and reply.entry_id != expect
            self.clarify += reply.outcome == CLARIFY
            self.clarify_right += reply.outcome == CLARIFY and expect in [c.entry_id for c in reply.choices]
            self.escalated += reply.outcome == ESCALATED
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


def evaluate(engine: Engine, items: list[dict], day: dt.date) -> Report:
    rows = [(item, answer_row(engine, item, day)) for item in items]
    return measure(rows)


def measure(rows: list[tuple[dict, Reply]]) -> Report:
    total, letters, styles = Group(), Group(), {}
    for item, reply in rows:
        if not item.get("expect"):
            continue
        total.add(item, reply)
        style = str(item.get("style") or "")
        if style:
            styles.setdefault(style, Group()).add(item, reply)
        if style == LETTER:
            letters.add(item, reply)
    return Report(rows, total, dict(sorted(styles.items())), letters)
