"""Conversation state (app/conversation.py ConversationPolicy) and the per-conversation turn lock (app/service.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from app import service
from app.conversation import ConversationPolicy

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def test_staff_hold_release_and_a_citizen_message():
    now = T0
    policy = ConversationPolicy(quiet_hours=24, clock=lambda: now)
    conv = policy.new("zalo", "u1")
    assert not conv.is_test and policy.new("cli", "c1").is_test and policy.new("api", "a1").is_test
    assert not policy.bot_paused(conv)
    policy.staff_acted(conv, hold=False)  # a note on a conversation the bot answers: no hold
    assert not policy.bot_paused(conv)
    policy.hold_for_staff(conv)
    assert conv.bot_paused_until == T0 + dt.timedelta(hours=24) and policy.bot_paused(conv)
    now = T0 + dt.timedelta(hours=23)
    policy.staff_acted(conv, hold=False)  # held: the quiet time starts again
    assert conv.bot_paused_until == now + dt.timedelta(hours=24)
    assert not policy.bot_paused(conv, now + dt.timedelta(hours=25))
    policy.release(conv)
    assert conv.bot_paused_until is None and not policy.bot_paused(conv)
    policy.citizen_wrote(conv, "mid-1")
    policy.citizen_wrote(conv, None)  # a message without a platform id keeps the last one to quote
    assert conv.last_inbound_at == now and conv.last_platform_message_id == "mid-1"


@pytest.mark.one_database
def test_the_turn_locks_do_not_grow_with_conversations(cli):
    locks = service._locks
    for i in range(3):
        assert cli("ask", "bhxh tự nguyện đóng bao nhiêu", "--conversation", f"lock-{i}").returncode == 0
    assert service._locks is locks and len(locks) == service.LOCK_STRIPES
    keys = [("zalo", f"citizen-{i}") for i in range(10_000)]
    assert len({id(service._conversation_lock(*key)) for key in keys}) <= service.LOCK_STRIPES
    assert all(service._conversation_lock(*key) is service._conversation_lock(*key) for key in keys[:100])
