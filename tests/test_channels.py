"""Zalo OA and Messenger end to end: the app under uvicorn, the fake platforms on another loopback
port (scripts/fake_platforms.py), signed webhooks in, replies out through the platforms' APIs."""

from __future__ import annotations

import datetime as dt
import sys
import time

import httpx
import pytest
from sqlmodel import Session, select

from app import database, models, storage
from tests.conftest import ROOT, AppServer

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

pytestmark = pytest.mark.e2e

TOKEN = "test-admin-token"


def app_env(fake_url: str, **extra: str) -> dict[str, str]:
    env = dict(
        ADMIN_API_TOKEN=TOKEN,
        ZALO_APP_ID=fp.ZALO_APP_ID, ZALO_OA_SECRET_KEY=fp.ZALO_OA_SECRET_KEY, ZALO_APP_SECRET=fp.ZALO_APP_SECRET,
        ZALO_ACCESS_TOKEN="zalo-at-0", ZALO_REFRESH_TOKEN="zalo-rt-0", ZALO_API_BASE=fake_url, ZALO_OAUTH_BASE=fake_url,
        FB_APP_ID=fp.FB_APP_ID, FB_APP_SECRET=fp.FB_APP_SECRET, FB_VERIFY_TOKEN="verify-me",
        FB_PAGE_ACCESS_TOKEN=fp.FB_PAGE_ACCESS_TOKEN, FB_GRAPH_BASE=fake_url, FB_GRAPH_VERSION=fp.FB_GRAPH_VERSION,
        HTTP_TIMEOUT_SECONDS="3",
    )
    env.update(extra)
    return env


@pytest.fixture
def app(database_url, tmp_path, fake):
    server = AppServer(database_url, tmp_path / "app.log", **app_env(fake.url)).start()
    httpx.post(fake.url + "/_fake/config", json={"echo_zalo_to": server.url + "/webhooks/zalo",
                                                "echo_messenger_to": server.url + "/webhooks/facebook"})
    yield server
    server.stop()


def sent(fake, recipient: str, platform: str | None = None) -> list[dict]:
    params = {"recipient": recipient} | ({"platform": platform} if platform else {})
    return httpx.get(fake.url + "/_fake/sent", params=params).json()


def wait_for(fn, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    return fn()


def post_zalo(app, body: dict, headers: dict | None = None) -> httpx.Response:
    raw, signed = fp.zalo_signed(body)
    return httpx.post(app.url + "/webhooks/zalo", content=raw, headers=headers if headers is not None else signed)


def post_fb(app, body: dict) -> httpx.Response:
    raw, headers = fp.messenger_signed(body)
    return httpx.post(app.url + "/webhooks/facebook", content=raw, headers=headers)


def db_session(app) -> Session:
    return Session(database.make_engine(app.database_url))


def outbox_all_sent(app, recipient: str) -> bool:
    with db_session(app) as session:
        statuses = session.exec(select(models.OutboxMessage.status).where(models.OutboxMessage.recipient == recipient)).all()
        return bool(statuses) and all(status == "sent" for status in statuses)


def failed_sends(app, recipient: str) -> list[models.OutboxMessage]:
    with db_session(app) as session:
        return session.exec(select(models.OutboxMessage).where(models.OutboxMessage.recipient == recipient,
                                                               models.OutboxMessage.status == "failed")).all()


# --- Zalo -----------------------------------------------------------------------------------


def test_zalo_message_is_acknowledged_then_answered_with_options_and_feedback(app, fake):
    body = fp.zalo_user_text("bhxh tự nguyện đóng tối thiểu bao nhiêu 1 tháng", "9001", msg_id="z-msg-1")
    started = time.perf_counter()
    r = post_zalo(app, body)
    assert r.status_code == 200 and (time.perf_counter() - started) < 1.0
    replies = wait_for(lambda: sent(fake, "9001", "zalo"))
    text = "\n".join(m["text"] for m in replies)
    assert "330.000 đồng" in text and "Căn cứ:" in text
    assert "\n1. " in text  # related questions as numbered options
    assert "Hữu ích / Chưa đúng" in text
    assert replies[0]["quote_message_id"] == "z-msg-1"
    assert all(len(m["text"]) <= 2000 for m in replies)
    # the citizen answers with a digit: the first option is answered
    post_zalo(app, fp.zalo_user_text("1", "9001", msg_id="z-msg-2"))
    more = wait_for(lambda: len(sent(fake, "9001", "zalo")) > len(replies) and sent(fake, "9001", "zalo"))
    assert "Căn cứ:" in more[-1]["text"] or "Căn cứ:" in "\n".join(m["text"] for m in more[len(replies):])


def test_zalo_signature_and_url_check(app, fake):
    body = fp.zalo_user_text("xin chào", "9002")
    raw, headers = fp.zalo_signed(body)
    assert httpx.post(app.url + "/webhooks/zalo", content=raw).status_code == 401
    bad = dict(headers, **{"X-ZEvent-Signature": "mac=" + "0" * 64})
    assert httpx.post(app.url + "/webhooks/zalo", content=raw, headers=bad).status_code == 401
    tampered = raw.replace("xin chào".encode(), b"xin chao")
    assert httpx.post(app.url + "/webhooks/zalo", content=tampered, headers=headers).status_code == 401
    # the unsigned {} Zalo posts when the webhook URL is saved: 200, nothing stored
    assert httpx.post(app.url + "/webhooks/zalo", content=b"{}").status_code == 200
    with db_session(app) as session:
        assert session.exec(select(models.InboundRecord)).all() == []
    time.sleep(0.5)
    assert sent(fake, "9002") == []


def test_zalo_redelivery_is_answered_once(app, fake):
    body = fp.zalo_user_text("mua bhyt hộ gia đình ở đâu", "9003", msg_id="z-dup-1")
    statuses = [post_zalo(app, body).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    first = wait_for(lambda: sent(fake, "9003"))
    time.sleep(1.5)
    assert len(sent(fake, "9003")) == len(first)
    with db_session(app) as session:
        assert len(session.exec(select(models.InboundRecord).where(models.InboundRecord.dedupe_key == "z-dup-1")).all()) == 1


def test_zalo_non_text_follow_and_unknown_events(app, fake):
    assert post_zalo(app, fp.zalo_event("user_send_image", "9004")).status_code == 200
    reply = wait_for(lambda: sent(fake, "9004"))
    assert "gõ câu hỏi" in reply[0]["text"]
    assert post_zalo(app, fp.zalo_event("follow", "9005")).status_code == 200
    welcome = wait_for(lambda: sent(fake, "9005"))
    assert "Xin chào" in welcome[0]["text"] and "\n1. " in welcome[0]["text"]
    assert post_zalo(app, fp.zalo_event("user_seen_message", "9006")).status_code == 200


def test_zalo_token_is_refreshed_once_and_rotated(app, fake):
    httpx.post(fake.url + "/_fake/expire_access_token")
    post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", "9007"))
    assert wait_for(lambda: sent(fake, "9007"))
    tokens = httpx.get(fake.url + "/_fake/tokens").json()
    assert tokens["refreshes"] == 1 and tokens["burnt_refresh_token_reuses"] == 0
    with db_session(app) as session:
        row = session.get(models.ChannelToken, "zalo")
        assert row.refresh_token == tokens["zalo_refresh_token"] != "zalo-rt-0"
    post_zalo(app, fp.zalo_user_text("bhyt học sinh bao nhiêu tiền", "9008"))
    assert wait_for(lambda: sent(fake, "9008"))
    assert httpx.get(fake.url + "/_fake/tokens").json()["refreshes"] == 1


@pytest.mark.parametrize("platform,mode", [("zalo", "http500"), ("zalo", "rate_limit"), ("messenger", "rate_limit"),
                                           ("messenger", "http500")])
def test_transient_failures_are_retried_until_sent_once(app, fake, platform, mode):
    user = f"98{len(platform)}{len(mode)}"
    httpx.post(fake.url + "/_fake/fail", json={"platform": platform, "mode": mode, "count": 2})
    if platform == "zalo":
        post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", user))
    else:
        post_fb(app, fp.messenger_text("bhxh tự nguyện là gì", user))
    replies = wait_for(lambda: sent(fake, user), timeout=30)
    assert replies
    time.sleep(1)
    assert len(sent(fake, user)) == len(replies)
    # a reply reaches the platform a moment before its outbox row is marked sent: wait for the rows
    assert wait_for(lambda: outbox_all_sent(app, user), timeout=30)
    with db_session(app) as session:
        rows = session.exec(select(models.OutboxMessage).where(models.OutboxMessage.recipient == user)
                            .order_by(models.OutboxMessage.id)).all()
        assert rows and all(r.status == "sent" for r in rows) and rows[0].attempts == 3
        # the platform's echo of our own send is matched to the outbox row
        assert wait_for(lambda: session.refresh(rows[0]) or rows[0].echoed_at is not None, timeout=5)


def test_permanent_failure_stops_and_shows_on_an_escalation(app, fake):
    httpx.post(fake.url + "/_fake/fail", json={"platform": "zalo", "mode": "outside_window", "count": 5})
    post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", "9010"))

    rows = wait_for(lambda: failed_sends(app, "9010"))
    assert rows and rows[0].attempts == 1 and rows[0].error_code == "-230"
    with db_session(app) as session:
        esc = session.get(models.Escalation, rows[0].escalation_id)
        assert esc.status == "open" and "khung thời gian" in esc.reason


# --- Messenger --------------------------------------------------------------------------------


def test_messenger_handshake(app):
    ok = httpx.get(app.url + "/webhooks/facebook",
                   params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = httpx.get(app.url + "/webhooks/facebook",
                    params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "x"})
    assert bad.status_code == 403


def test_messenger_quick_replies_postback_feedback_and_ignored_events(app, fake):
    raw, headers = fp.messenger_signed(fp.messenger_text("bhxh tự nguyện là gì", "7001"))
    assert httpx.post(app.url + "/webhooks/facebook", content=raw).status_code == 401
    assert httpx.post(app.url + "/webhooks/facebook", content=raw, headers=headers).status_code == 200
    replies = wait_for(lambda: sent(fake, "7001", "messenger"))
    last = replies[-1]
    assert last["messaging_type"] == "RESPONSE"
    quick = last["quick_replies"]
    assert 2 <= len(quick) <= 13 and all(len(q["title"]) <= 20 for q in quick)
    payloads = [q["payload"] for q in quick]
    assert "FEEDBACK_HELPFUL" in payloads and "FEEDBACK_WRONG" in payloads
    entry_payload = payloads[0]
    # tapping a related question answers that entry
    post_fb(app, fp.messenger_text(quick[0]["title"], "7001", quick_reply_payload=entry_payload))
    wait_for(lambda: len(sent(fake, "7001")) > len(replies))
    # feedback is stored against the answer
    count = len(sent(fake, "7001"))
    post_fb(app, fp.messenger_text("Hữu ích", "7001", quick_reply_payload="FEEDBACK_HELPFUL"))
    wait_for(lambda: len(sent(fake, "7001")) > count)
    with db_session(app) as session:
        feedback = session.exec(select(models.Feedback)).all()
        assert len(feedback) == 1 and feedback[0].helpful and feedback[0].entry_id == entry_payload
    # Get Started postback: welcome; delivery and read: nothing
    post_fb(app, fp.messenger_postback("GET_STARTED", "Bắt đầu", "7002"))
    assert "Xin chào" in wait_for(lambda: sent(fake, "7002"))[0]["text"]
    assert post_fb(app, fp.messenger_delivery("7003")).status_code == 200
    assert post_fb(app, fp.messenger_read("7003")).status_code == 200
    time.sleep(1)
    assert sent(fake, "7003") == []


def test_messenger_permanent_error_551(app, fake):
    httpx.post(fake.url + "/_fake/fail", json={"platform": "messenger", "mode": "blocked", "count": 5})
    post_fb(app, fp.messenger_text("bhyt hộ gia đình bao nhiêu tiền", "7004"))

    rows = wait_for(lambda: failed_sends(app, "7004"))
    assert rows[0].error_code == "551" and rows[0].attempts == 1


def test_bad_bodies_get_clear_errors(app):
    raw, headers = fp.messenger_signed({"object": "page"})
    r = httpx.post(app.url + "/webhooks/facebook", content=raw, headers=headers)
    assert r.status_code == 400 and "entry" in r.json()["detail"]
    big = b'{"object":"page","entry":[]}' + b" " * (300 * 1024)
    r = httpx.post(app.url + "/webhooks/facebook", content=big, headers={"X-Hub-Signature-256": "sha256=00"})
    assert r.status_code == 413
    raw, headers = fp.zalo_signed({"timestamp": "1", "app_id": fp.ZALO_APP_ID})
    r = httpx.post(app.url + "/webhooks/zalo", content=raw, headers=headers)
    assert r.status_code == 400 and "event_name" in r.json()["detail"]
    assert httpx.get(app.url + "/healthz").status_code == 200  # the app lives on


# --- staff, windows, pause ----------------------------------------------------------------------


def conversation(app, channel: str, user: str) -> models.Conversation:
    with db_session(app) as session:
        return session.exec(select(models.Conversation).where(models.Conversation.channel == channel,
                                                              models.Conversation.external_id == user)).one()


def age_conversation(app, conv_id: int, hours: float) -> None:
    with db_session(app) as session:
        conv = session.get(models.Conversation, conv_id)
        conv.last_inbound_at = models.utcnow() - dt.timedelta(hours=hours)
        session.add(conv)
        session.commit()


def staff_reply(app, conv_id: int, text: str) -> httpx.Response:
    return httpx.post(f"{app.url}/api/v1/conversations/{conv_id}/replies", json={"text": text},
                      headers={"Authorization": f"Bearer {TOKEN}"})


def test_staff_replies_follow_the_windows(app, fake):
    post_fb(app, fp.messenger_text("cho tôi gặp nhân viên", "7010"))
    post_zalo(app, fp.zalo_user_text("cho tôi gặp nhân viên", "9020"))
    wait_for(lambda: sent(fake, "7010") and sent(fake, "9020"))
    fb_conv, zalo_conv = conversation(app, "messenger", "7010"), conversation(app, "zalo", "9020")
    assert staff_reply(app, fb_conv.id, "Chào anh, cán bộ trả lời ạ.").status_code == 200
    wait_for(lambda: len(sent(fake, "7010")) >= 2)
    age_conversation(app, fb_conv.id, 30)
    refused = staff_reply(app, fb_conv.id, "Tin trả lời muộn")
    assert refused.status_code == 409 and "HUMAN_AGENT" in refused.json()["detail"]
    age_conversation(app, zalo_conv.id, 60)
    assert staff_reply(app, zalo_conv.id, "Trả lời sau 60 giờ").status_code == 200
    late = wait_for(lambda: [m for m in sent(fake, "9020") if m["text"] == "Trả lời sau 60 giờ"])
    assert late
    with db_session(app) as session:
        row = session.exec(select(models.OutboxMessage).where(models.OutboxMessage.recipient == "9020",
                                                              models.OutboxMessage.author == "staff")).one()
        assert row.paid is True
    age_conversation(app, zalo_conv.id, 8 * 24)
    refused = staff_reply(app, zalo_conv.id, "Quá muộn")
    assert refused.status_code == 409 and "7 ngày" in refused.json()["detail"]
    assert staff_reply(app, 999999, "Không có cuộc trò chuyện này").status_code == 404


def test_human_agent_tag_when_the_page_is_approved(database_url, tmp_path, fake):
    server = AppServer(database_url, tmp_path / "app2.log", **app_env(fake.url, FB_HUMAN_AGENT_APPROVED="true")).start()
    try:
        post_fb(server, fp.messenger_text("cho tôi gặp nhân viên", "7011"))
        wait_for(lambda: sent(fake, "7011"))
        conv = conversation(server, "messenger", "7011")
        age_conversation(server, conv.id, 30)
        assert staff_reply(server, conv.id, "Trả lời trong 7 ngày").status_code == 200
        msg = wait_for(lambda: [m for m in sent(fake, "7011") if m["text"] == "Trả lời trong 7 ngày"])
        assert msg[0]["messaging_type"] == "MESSAGE_TAG" and msg[0]["tag"] == "HUMAN_AGENT"
    finally:
        server.stop()


def test_staff_reply_in_the_platform_inbox_pauses_the_bot_until_released(app, fake):
    post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", "9030"))
    first = wait_for(lambda: sent(fake, "9030"))
    httpx.post(fake.url + "/_fake/staff_reply", json={"platform": "zalo", "recipient": "9030",
                                                      "text": "Cán bộ trả lời trong Zalo", "admin_id": "555"})
    conv = wait_for(lambda: (c := conversation(app, "zalo", "9030")).bot_paused_until and c)
    post_zalo(app, fp.zalo_user_text("bhyt hộ gia đình bao nhiêu tiền", "9030"))
    time.sleep(1.5)
    assert len([m for m in sent(fake, "9030") if m["text"] != "Cán bộ trả lời trong Zalo"]) == len(first)
    with db_session(app) as session:
        authors = [m.author for m in storage.conversation_messages(session, conv.id)]
        assert "staff" in authors and authors[-1] == "citizen"
    assert httpx.post(f"{app.url}/api/v1/conversations/{conv.id}/release",
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    post_zalo(app, fp.zalo_user_text("bhyt học sinh bao nhiêu tiền", "9030"))
    assert wait_for(lambda: len([m for m in sent(fake, "9030") if "Căn cứ" in m["text"]]) > len(first))


def test_pending_replies_survive_a_restart_and_go_out_once(database_url, tmp_path, fake):
    server = AppServer(database_url, tmp_path / "app3.log", **app_env(fake.url)).start()
    httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": True})
    post_zalo(server, fp.zalo_user_text("bhxh tự nguyện là gì", "9040"))
    post_fb(server, fp.messenger_text("bhyt học sinh bao nhiêu tiền", "7040"))

    def pending():
        with db_session(server) as session:
            return session.exec(select(models.OutboxMessage).where(models.OutboxMessage.status == "pending")).all()

    assert wait_for(lambda: len(pending()) >= 2)
    server.stop(kill=True)
    httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": False})
    assert sent(fake, "9040") == [] and sent(fake, "7040") == []
    server.start()
    try:
        with db_session(server) as session:  # due now, not after the backoff
            for row in session.exec(select(models.OutboxMessage)).all():
                row.next_attempt_at = models.utcnow()
                session.add(row)
            session.commit()
        zalo = wait_for(lambda: sent(fake, "9040"), timeout=30)
        fb = wait_for(lambda: sent(fake, "7040"), timeout=30)
        time.sleep(1.5)
        assert len(sent(fake, "9040")) == len(zalo) and len(sent(fake, "7040")) == len(fb)
        assert "Căn cứ:" in "\n".join(m["text"] for m in zalo)
    finally:
        server.stop()
