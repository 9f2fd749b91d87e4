"""Messages with no question in them (only spaces or punctuation, a key held down, a 'word' thousands of
letters long) get a request to type the question: not the small-talk 'ok' reply, and nothing for staff."""

from __future__ import annotations

import pytest

from app.engine import ANSWERED, SMALLTALK


@pytest.mark.parametrize("text, reason", [
    ("   ", "empty"), ("\n\t ", "empty"), ("?", "empty"), ("...", "empty"),
    ("a" * 4000, "unreadable"), ("hhhhhhhhhhhhhhhhh", "unreadable"), ("bhxh" * 500, "unreadable"),
])
def test_a_message_without_a_question_asks_for_one(shipped_engine, text, reason):
    reply = shipped_engine.answer(text)
    assert (reply.outcome, reply.reason) == (SMALLTALK, reason)
    assert "gõ câu hỏi" in reply.body


@pytest.mark.parametrize("text, outcome", [
    ("👍", SMALLTALK), ("ok", SMALLTALK), ("cảm ơn ad nhiềuuuuuuuuuuuu", SMALLTALK),
    ("bhxh tự nguyện là gì????????????", ANSWERED),
])
def test_readable_messages_are_not_taken_for_unreadable_ones(shipped_engine, text, outcome):
    reply = shipped_engine.answer(text)
    assert reply.outcome == outcome and reply.reason not in ("empty", "unreadable"), (reply.outcome, reply.reason)
