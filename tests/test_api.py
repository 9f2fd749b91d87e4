"""POST /api/v1/ask on the running service; what it stores; personal numbers masked in exports."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session, select

from app import database, models, storage

pytestmark = pytest.mark.e2e


def post(server, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(server["url"] + "/api/v1/ask", json=body, headers=headers, timeout=60)


def test_ask_requires_the_admin_token(server):
    assert post(server, {"text": "bhxh tự nguyện là gì"}).status_code == 401
    assert post(server, {"text": "bhxh tự nguyện là gì"}, token="wrong").status_code == 401


def test_ask_returns_outcome_reply_and_candidates(server):
    r = post(server, {"text": "bảo hiểm xã hội tự nguyện là gì, ai được tham gia"}, token=server["token"])
    assert r.status_code == 200
    body = r.json()
    assert body["outcome"] == "answered"
    assert body["entry_id"] == "vtn-khai-niem"
    assert body["candidates"][0] == "vtn-khai-niem" and len(body["candidates"]) >= 3
    assert "Căn cứ:" in body["reply"]
    assert body["text"] == "bảo hiểm xã hội tự nguyện là gì, ai được tham gia"
    assert 0 < body["score"] <= 1


def test_bad_input_gets_a_clear_error(server):
    r = post(server, {"text": ""}, token=server["token"])
    assert r.status_code == 422
    r = post(server, {"text": "a" * 5000}, token=server["token"])
    assert r.status_code == 422
    r = httpx.post(server["url"] + "/api/v1/ask", content=b"{not json", timeout=10,
                   headers={"Authorization": f"Bearer {server['token']}", "Content-Type": "application/json"})
    assert r.status_code == 422


def test_conversation_follow_up_and_stored_escalation(server):
    token = server["token"]
    first = post(server, {"text": "hộ nghèo đóng bhxh tự nguyện được nhà nước hỗ trợ bao nhiêu", "conversation_id": "zx1"},
                 token=token).json()
    assert first["entry_id"] == "vtn-ho-tro"
    second = post(server, {"text": "còn hộ cận nghèo thì sao", "conversation_id": "zx1"}, token=token).json()
    assert second["entry_id"] == "vtn-ho-tro"
    third = post(server, {"text": "Kiểm tra giúp hồ sơ của tôi, CCCD 001203004567, sđt 0905123456",
                          "conversation_id": "zx1"}, token=token).json()
    assert third["outcome"] == "escalated"

    db = database.make_engine(server["database_url"])
    with Session(db) as session:
        conv = session.exec(select(models.Conversation).where(models.Conversation.external_id == "zx1")).one()
        messages = storage.conversation_messages(session, conv.id)
        assert [m.author for m in messages] == ["citizen", "bot"] * 3
        assert messages[0].outcome == "answered" and messages[0].entry_id == "vtn-ho-tro"
        assert messages[0].candidates and messages[0].score > 0
        escalations = session.exec(select(models.Escalation).where(models.Escalation.conversation_id == conv.id)).all()
        assert len(escalations) == 1 and escalations[0].status == "open" and escalations[0].kind == "escalated"
        # staff see the message as written; exports mask personal numbers
        assert "001203004567" in messages[4].text
        exported = [row for row in storage.export_messages(session) if row["conversation_id"] == conv.id]
        assert "001203004567" not in exported[4]["text"] and "[CCCD ***567]" in exported[4]["text"]
        assert "0905123456" not in exported[4]["text"] and "[SĐT ***456]" in exported[4]["text"]
    db.dispose()
    assert "001203004567" not in server["log"].read_text()


def test_handoff_is_recorded_for_staff(server):
    r = post(server, {"text": "mình muốn gặp nhân viên tư vấn", "conversation_id": "zx2"}, token=server["token"])
    assert r.json()["outcome"] == "handoff"
    db = database.make_engine(server["database_url"])
    with Session(db) as session:
        conv = session.exec(select(models.Conversation).where(models.Conversation.external_id == "zx2")).one()
        kinds = [e.kind for e in session.exec(select(models.Escalation).where(
            models.Escalation.conversation_id == conv.id))]
        assert kinds == ["handoff"]
    db.dispose()
