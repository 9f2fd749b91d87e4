"""The local fake of Zalo OpenAPI / Zalo OAuth / Meta Send API (scripts/fake_platforms.py) behaves as channels.md says."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import fake_platforms as fp  # noqa: E402

VECTORS = Path("/work/shared/signature-vectors.py")
ZALO_VECTOR_RAW = (
    '{"app_id":"1234567890123456789","sender":{"id":"8309393969855402319"},"user_id_by_app":"7300442764876318465",'
    '"recipient":{"id":"1423847451268726170"},"event_name":"user_send_text","message":{"text":"Xin chào shop",'
    '"msg_id":"b8de7d84fa1b3043690c"},"timestamp":"1751100041636"}'
)
ZALO_VECTOR_SIG = "mac=5004554d9f8b6e22ddcc9449bd685eed054150dcdf24a67f2682ae779da9d6a5"
MSG_VECTOR_RAW = (
    '{"object":"page","entry":[{"id":"111111111111111","time":1718000000123,"messaging":[{"sender":{"id":'
    '"2222222222222222"},"recipient":{"id":"111111111111111"},"timestamp":1718000000000,"message":{"mid":"m_AbCdEf123",'
    '"text":"Xin ch\\u00e0o","quick_reply":{"payload":"PRICE_LIST"}}}]}]}'
)
MSG_VECTOR_SIG = "sha256=a2122cd796d9023569b1deb407209f83955e45938ec0100caa0e5c45a1ae463c"

AT0 = "zalo-at-0"
FB_TOKEN = "fb-page-token"


@pytest.fixture(scope="module")
def fake():
    with fp.FakePlatformsServer() as server:
        yield server


@pytest.fixture
def http(fake):
    with httpx.Client(base_url=fake.url, timeout=30) as client:
        assert client.post("/_fake/reset").status_code == 200
        yield client


def zsend(http: httpx.Client, text="Xin chào", user="U1", token=AT0, **message) -> httpx.Response:
    body = {"recipient": {"user_id": user} if user is not None else {}, "message": {"text": text, **message}}
    if text is None:
        del body["message"]["text"]
    return http.post("/v3.0/oa/message/cs", headers={"access_token": token}, json=body)


def refresh(http: httpx.Client, rt: str, secret=fp.ZALO_APP_SECRET) -> httpx.Response:
    return http.post("/v4/oa/access_token", headers={"secret_key": secret},
                     data={"refresh_token": rt, "app_id": fp.ZALO_APP_ID, "grant_type": "refresh_token"})


def fbsend(http: httpx.Client, text="Chào bạn", psid="P1", token=FB_TOKEN, node="me", quick=None, **extra) -> httpx.Response:
    message = {"text": text} if text is not None else {}
    if quick is not None:
        message["quick_replies"] = quick
    body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message, **extra}
    return http.post(f"/v25.0/{node}/messages", params={"access_token": token}, json=body)


def qr(title="Có", payload="YES") -> dict:
    return {"content_type": "text", "title": title, "payload": payload}


# --- signatures and citizen helpers -------------------------------------------------------------------


def test_signature_vectors_reproduced_exactly():
    body = fp.zalo_user_text("Xin chào shop", "8309393969855402319", msg_id="b8de7d84fa1b3043690c",
                             timestamp_ms=1751100041636, user_id_by_app="7300442764876318465")
    raw, headers = fp.zalo_signed(body, "1234567890123456789", "test_oa_secret_key")
    assert raw == ZALO_VECTOR_RAW.encode("utf-8")
    assert headers["X-ZEvent-Signature"] == ZALO_VECTOR_SIG
    assert headers["Content-Type"] == "application/json"

    body = fp.messenger_text("Xin chào", "2222222222222222", mid="m_AbCdEf123", page_id="111111111111111",
                             quick_reply_payload="PRICE_LIST", timestamp_ms=1718000000000, entry_time_ms=1718000000123)
    raw, headers = fp.messenger_signed(body, "test_app_secret")
    assert raw == MSG_VECTOR_RAW.encode()
    assert headers["X-Hub-Signature-256"] == MSG_VECTOR_SIG

    if VECTORS.exists():  # the shared script, when present, must agree byte for byte
        out = subprocess.run([sys.executable, str(VECTORS)], capture_output=True, text=True, encoding="utf-8",
                             check=True).stdout
        lines = dict(line.split(" ", 1) for line in out.splitlines())
        assert lines["ZALO_RAW"] == ZALO_VECTOR_RAW and lines["ZALO_SIG"] == ZALO_VECTOR_SIG
        assert lines["MSG_RAW"] == MSG_VECTOR_RAW and lines["MSG_SIG"] == MSG_VECTOR_SIG


def test_citizen_payload_shapes():
    follow = fp.zalo_event("follow", "U1", timestamp_ms=1751100000000)
    assert follow["follower"] == {"id": "U1"} and follow["oa_id"] == fp.ZALO_OA_ID and "sender" not in follow
    assert follow["timestamp"] == "1751100000000"
    echo = fp.zalo_event("oa_send_text", "U1", text="Dạ", msg_id="abc", admin_id="555")
    assert echo["sender"] == {"id": fp.ZALO_OA_ID, "admin_id": "555"} and echo["recipient"] == {"id": "U1"}
    assert echo["message"] == {"text": "Dạ", "msg_id": "abc"}
    image = fp.zalo_event("user_send_image", "U1")
    assert image["message"]["attachments"][0]["type"] == "image" and image["sender"] == {"id": "U1"}
    sticker = fp.zalo_event("user_send_sticker", "U1")
    assert sticker["message"]["attachments"][0]["type"] == "sticker"
    text = fp.zalo_user_text("hi", "U1")
    assert all(isinstance(text[k], str) for k in ("app_id", "user_id_by_app", "timestamp"))

    own = fp.messenger_echo("x", "P1", app_id=fp.FB_APP_ID, mid="m_1")["entry"][0]["messaging"][0]
    assert own["sender"] == {"id": fp.FB_PAGE_ID} and own["message"]["is_echo"] is True
    assert str(own["message"]["app_id"]) == fp.FB_APP_ID
    inbox = fp.messenger_echo("x", "P1")["entry"][0]["messaging"][0]
    assert "app_id" not in inbox["message"]
    postback = fp.messenger_postback("HANDOFF", "Talk to staff", "P1")["entry"][0]["messaging"][0]
    assert postback["postback"]["payload"] == "HANDOFF" and postback["postback"]["mid"].startswith("m_")
    assert fp.messenger_delivery("P1", mids=["m_1"])["entry"][0]["messaging"][0]["delivery"]["mids"] == ["m_1"]
    assert "watermark" in fp.messenger_read("P1")["entry"][0]["messaging"][0]["read"]
    raw, _ = fp.messenger_signed(fp.messenger_text("Bảo hiểm", "P1"))
    assert raw.isascii() and b"\\u1ea3" in raw


# --- Zalo send ---------------------------------------------------------------------------------------------


def test_zalo_send_success_is_recorded(http):
    r = zsend(http, "Dạ, mức đóng là 22%", quote_message_id="b8de7d84fa1b3043690c")
    assert r.status_code == 200
    body = r.json()
    assert body["error"] == 0 and body["message"] == "Success"
    mid = body["data"]["message_id"]
    assert body["data"]["user_id"] == "U1" and int(mid, 16) >= 0
    sent = http.get("/_fake/sent", params={"platform": "zalo", "recipient": "U1"}).json()
    assert len(sent) == 1
    item = sent[0]
    for key in ("platform", "recipient", "text", "quick_replies", "messaging_type", "tag", "quote_message_id",
                "message_id", "at"):
        assert key in item
    assert item["text"] == "Dạ, mức đóng là 22%" and item["message_id"] == mid
    assert item["quote_message_id"] == "b8de7d84fa1b3043690c"
    assert http.get("/_fake/sent", params={"recipient": "someone-else"}).json() == []


def test_zalo_send_errors_are_http_200(http):
    cases = [
        (zsend(http, token="nope"), -216, "Access token is invalid"),
        (http.post("/v3.0/oa/message/cs", json={"recipient": {"user_id": "U1"}, "message": {"text": "x"}}), -216, None),
        (zsend(http, user=None), -201, "user_id is invalid!"),
        (zsend(http, text=None), -201, "text is invalid!"),
        (zsend(http, text="a" * 2001), -201, "text is invalid!"),
    ]
    for r, code, message in cases:
        assert r.status_code == 200
        assert r.json()["error"] == code
        if message:
            assert r.json()["message"] == message
    assert http.get("/_fake/sent").json() == []
    # 2000 characters after NFC is fine even if the decomposed form is longer
    decomposed = unicodedata.normalize("NFD", "ệ" * 2000)
    assert len(decomposed) > 2000
    assert zsend(http, text=decomposed).json()["error"] == 0
    requests = http.get("/_fake/requests", params={"platform": "zalo"}).json()
    assert len(requests) == 6 and requests[0]["response"]["error"] == -216 and requests[-1]["response"]["error"] == 0


def test_expired_access_token_then_refresh(http):
    assert zsend(http).json()["error"] == 0
    assert http.post("/_fake/expire_access_token").json()["expired"] == AT0
    r = zsend(http).json()
    assert r == {"error": -220, "message": "access_token is expired or removed"}
    new = refresh(http, "zalo-rt-0").json()
    assert zsend(http, token=new["access_token"]).json()["error"] == 0
    assert zsend(http, token=AT0).json()["error"] == -220  # still the expired token


def test_token_rotation_is_single_use(http):
    first = refresh(http, "zalo-rt-0")
    assert first.status_code == 200
    assert first.json() == {"access_token": "zalo-at-1", "refresh_token": "zalo-rt-1", "expires_in": "90000"}
    assert zsend(http, token=AT0).json()["error"] == -216  # the old access token died with the rotation
    assert zsend(http, token="zalo-at-1").json()["error"] == 0

    reuse = refresh(http, "zalo-rt-0")
    assert reuse.status_code in (200, 400)
    body = reuse.json()
    assert body["error"] == -14014 and "access_token" not in body and body["error_name"] == "Invalid refresh token"
    assert refresh(http, "never-issued").json()["error"] == -14014
    assert refresh(http, "zalo-rt-1", secret="wrong").json()["error"] == -14014  # the token survives a bad secret
    assert refresh(http, "zalo-rt-1").json()["refresh_token"] == "zalo-rt-2"
    assert refresh(http, "zalo-rt-0").json()["error"] == -14014

    tokens = http.get("/_fake/tokens").json()
    assert tokens["zalo_access_token"] == "zalo-at-2" and tokens["zalo_refresh_token"] == "zalo-rt-2"
    assert tokens["refreshes"] == 2 and tokens["burnt_refresh_token_reuses"] == 2
    assert [a["outcome"] for a in tokens["refresh_log"]] == ["rotated", "burnt_reuse", "unknown_token", "bad_secret",
                                                             "rotated", "burnt_reuse"]
    http.post("/_fake/reset")
    tokens = http.get("/_fake/tokens").json()
    assert (tokens["zalo_access_token"], tokens["zalo_refresh_token"], tokens["refreshes"],
            tokens["burnt_refresh_token_reuses"]) == (AT0, "zalo-rt-0", 0, 0)


# --- Messenger send --------------------------------------------------------------------------------------


def test_messenger_send_success(http):
    r = fbsend(http, quick=[qr(), qr("Không", "NO")], node="me")
    assert r.status_code == 200
    assert r.json()["recipient_id"] == "P1" and r.json()["message_id"].startswith("m_")
    r2 = http.post(f"/v25.0/{fp.FB_PAGE_ID}/messages", params={"access_token": FB_TOKEN},
                   json={"recipient": {"id": "P1"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                         "message": {"text": "Cán bộ trả lời", "metadata": "bhxh:staff"}})
    assert r2.status_code == 200, r2.text
    sent = http.get("/_fake/sent", params={"platform": "messenger", "recipient": "P1"}).json()
    assert [s["message_id"] for s in sent] == [r.json()["message_id"], r2.json()["message_id"]]
    assert sent[0]["quick_replies"][1]["payload"] == "NO" and sent[0]["messaging_type"] == "RESPONSE"
    assert sent[1]["tag"] == "HUMAN_AGENT" and sent[1]["metadata"] == "bhxh:staff"
    typing = http.post("/v25.0/me/messages", params={"access_token": FB_TOKEN},
                       json={"recipient": {"id": "P1"}, "sender_action": "typing_on"})
    assert typing.json() == {"recipient_id": "P1"} and len(http.get("/_fake/sent").json()) == 2


@pytest.mark.parametrize("case, kwargs, status, code", [
    ("14 quick replies", {"quick": [qr(f"t{i}", f"p{i}") for i in range(14)]}, 400, 100),
    ("21-char title", {"quick": [qr("x" * 21)]}, 400, 100),
    ("1001-char payload", {"quick": [qr("ok", "p" * 1001)]}, 400, 100),
    ("2001-char text", {"text": "a" * 2001}, 400, 100),
    ("wrong token", {"token": "bad"}, 400, 190),
    ("other page", {"node": "999"}, 400, 100),
    ("bad messaging_type", {"messaging_type": "PROMO"}, 400, 100),
    ("tag missing", {"messaging_type": "MESSAGE_TAG"}, 400, 100),
    ("tag not approved", {"messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE"}, 400, 100),
    ("no recipient", {"psid": ""}, 400, 100),
])
def test_messenger_validation(http, case, kwargs, status, code):
    r = fbsend(http, **kwargs)
    assert r.status_code == status, case
    err = r.json()["error"]
    assert err["code"] == code and err["type"] in ("OAuthException", "GraphMethodException") and err["fbtrace_id"]
    if code == 190:
        assert err["message"] == "Invalid OAuth access token."
    assert http.get("/_fake/sent").json() == []
    assert http.get("/_fake/requests").json()[-1]["status"] == status


def test_messenger_graph_version_is_pinned(http):
    body = {"recipient": {"id": "P1"}, "messaging_type": "RESPONSE", "message": {"text": "x"}}
    old = http.post("/v19.0/me/messages", params={"access_token": FB_TOKEN}, json=body)
    assert old.status_code == 400 and old.json()["error"]["code"] == 2635
    junk = http.post("/latest/me/messages", params={"access_token": FB_TOKEN}, json=body)
    assert junk.status_code == 400 and junk.json()["error"]["code"] == 2500


def test_messenger_limits_are_inclusive(http):
    ok = fbsend(http, text="a" * 2000, quick=[qr("x" * 20, "p" * 1000)] + [qr(f"t{i}", f"p{i}") for i in range(12)])
    assert ok.status_code == 200, ok.text


# --- failure injection, rate limits, outage ------------------------------------------------------------------


def test_failure_injection_counts_down(http):
    assert http.post("/_fake/fail", json={"platform": "zalo", "mode": "rate_limit", "count": 2}).status_code == 200
    assert zsend(http).json() == {"error": -32, "message": "Your application/OA reached limit call api"}
    assert zsend(http).json()["error"] == -32
    assert zsend(http).json()["error"] == 0
    assert http.get("/_fake/fail").json()["zalo"] == []
    injected = [r["injected"] for r in http.get("/_fake/requests").json()]
    assert injected == ["rate_limit", "rate_limit", None]


@pytest.mark.parametrize("mode, code", [("expired_token", -216), ("outside_window", -230), ("blocked", -227),
                                        ("quota", -211)])
def test_zalo_failure_modes(http, mode, code):
    http.post("/_fake/fail", json={"platform": "zalo", "mode": mode})
    r = zsend(http)
    assert r.status_code == 200 and r.json()["error"] == code
    assert zsend(http).json()["error"] == 0


@pytest.mark.parametrize("mode, status, code, subcode", [
    ("http500", 500, 2, None), ("expired_token", 400, 190, 463), ("rate_limit", 400, 613, None),
    ("outside_window", 400, 10, 2018278), ("blocked", 400, 551, 1545041),
])
def test_messenger_failure_modes(http, mode, status, code, subcode):
    http.post("/_fake/fail", json={"platform": "messenger", "mode": mode})
    r = fbsend(http)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code and err.get("error_subcode") == subcode
    assert fbsend(http).status_code == 200


def test_http500_and_oauth_failures(http):
    http.post("/_fake/fail", json={"platform": "zalo", "mode": "http500"})
    assert zsend(http).status_code == 500
    http.post("/_fake/fail", json={"platform": "zalo_oauth", "mode": "http500"})
    assert refresh(http, "zalo-rt-0").status_code == 500
    http.post("/_fake/fail", json={"platform": "zalo_oauth", "mode": "expired_token"})
    assert refresh(http, "zalo-rt-0").json()["error"] == -14014
    assert refresh(http, "zalo-rt-0").json()["access_token"] == "zalo-at-1"  # the injected failures burnt nothing
    assert http.get("/_fake/tokens").json()["burnt_refresh_token_reuses"] == 0


def test_control_api_rejects_bad_input(http):
    assert http.post("/_fake/fail", json={"platform": "messenger", "mode": "quota"}).status_code == 400
    assert http.post("/_fake/fail", json={"platform": "viber", "mode": "http500"}).status_code == 400
    assert http.post("/_fake/config", json={"nope": 1}).status_code == 400
    http.post("/_fake/fail", json={"platform": "zalo", "mode": "blocked", "count": 5})
    assert http.post("/_fake/fail", json={"platform": "zalo", "count": 0}).json()["pending"] == []
    assert zsend(http).json()["error"] == 0
    assert "/_fake/reset" in http.get("/_fake/help").text


def test_timeout_injection(fake, http):
    http.post("/_fake/fail", json={"platform": "zalo", "mode": "timeout", "seconds": 0.8})
    with httpx.Client(base_url=fake.url, timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        zsend(impatient)
    time.sleep(0.6)
    assert zsend(http).json()["error"] == 0
    assert len(http.get("/_fake/sent").json()) == 1  # the timed-out send was not delivered
    assert http.get("/_fake/requests").json()[0]["status"] == 504


def test_oauth_timeout_that_still_rotates(fake, http):
    """The refresh went through but the answer never arrived: the app's token is now burnt."""
    http.post("/_fake/fail", json={"platform": "zalo_oauth", "mode": "timeout", "seconds": 0.6, "deliver": True})
    with httpx.Client(base_url=fake.url, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        refresh(impatient, "zalo-rt-0")
    time.sleep(0.6)
    assert http.get("/_fake/tokens").json()["zalo_refresh_token"] == "zalo-rt-1"
    assert refresh(http, "zalo-rt-0").json()["error"] == -14014
    assert http.get("/_fake/tokens").json()["burnt_refresh_token_reuses"] == 1


def test_zalo_rate_limit_token_bucket(fake, http):
    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=fake.url, timeout=30) as client:
            rs = await asyncio.gather(*(client.post("/v3.0/oa/message/cs", headers={"access_token": AT0},
                                                    json={"recipient": {"user_id": "U1"}, "message": {"text": f"tin {i}"}})
                                        for i in range(40)))
        return [r.json()["error"] for r in rs]

    codes = asyncio.run(burst())
    assert set(codes) <= {0, -32}
    assert 20 <= codes.count(0) < 40 and codes.count(-32) >= 5  # the bucket starts full (20), refills 20/s
    limited = [r for r in http.get("/_fake/requests").json() if r["injected"] == "rate_limit(bucket)"]
    assert len(limited) == codes.count(-32)
    time.sleep(0.3)  # refills at zalo_rps per second
    assert zsend(http).json()["error"] == 0


def test_messenger_rate_limit_token_bucket(http):
    assert http.post("/_fake/config", json={"messenger_rps": 5}).status_code == 200
    statuses = [fbsend(http).status_code for _ in range(12)]
    assert statuses[:5] == [200] * 5 and 400 in statuses
    err = http.get("/_fake/requests").json()[-1]["response"]["error"]
    assert err["code"] == 613
    http.post("/_fake/reset")  # back to 300/s
    assert all(fbsend(http).status_code == 200 for _ in range(12))


def test_outage_mode(http):
    assert http.post("/_fake/down", json={"platform": "zalo", "down": True}).json()["down"] == ["zalo"]
    r = zsend(http)
    assert r.status_code == 503 and "Service Unavailable" in r.text
    assert fbsend(http).status_code == 200  # other platforms unaffected
    assert refresh(http, "zalo-rt-0").status_code == 200
    assert zsend(http, token="zalo-at-1").status_code == 503
    http.post("/_fake/down", json={"platform": "all", "down": True})
    assert fbsend(http).status_code == 503 and refresh(http, "zalo-rt-1").status_code == 503
    http.post("/_fake/down", json={"platform": "all", "down": False})
    assert zsend(http, token="zalo-at-1").json()["error"] == 0
    assert refresh(http, "zalo-rt-1").status_code == 200


def test_unknown_routes_are_recorded(http):
    assert http.get("/v3.0/oa/user/detail").status_code == 404
    assert http.get("/_fake/requests").json()[-1]["platform"] == "unknown"


# --- echo webhooks --------------------------------------------------------------------------------------------


def receiver() -> tuple[FastAPI, list[dict]]:
    got: list[dict] = []
    app = FastAPI()

    @app.post("/webhooks/{channel}")
    async def hook(channel: str, request: Request):
        got.append({"channel": channel, "raw": await request.body(), "headers": dict(request.headers)})
        return {"ok": True}

    return app, got


def wait_for(predicate, timeout=30.0):  # a condition, polled: generous for a loaded machine
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_echo_webhooks_are_signed_and_match_the_send():
    app, got = receiver()
    with fp.ThreadedServer(app) as recv:
        config = fp.FakeConfig(echo_zalo_to=recv.url + "/webhooks/zalo", echo_messenger_to=recv.url + "/webhooks/facebook")
        with fp.FakePlatformsServer(config) as fake, httpx.Client(base_url=fake.url, timeout=30) as http:
            zid = zsend(http, "Dạ, em trả lời ạ", user="8309393969855402319").json()["data"]["message_id"]
            mid = http.post("/v25.0/me/messages", params={"access_token": FB_TOKEN},
                            json={"recipient": {"id": "P9"}, "messaging_type": "RESPONSE",
                                  "message": {"text": "Chào bạn", "metadata": "bhxh:bot"}}).json()["message_id"]
            assert wait_for(lambda: len(got) == 2)
            staff = http.post("/_fake/staff_reply", json={"platform": "zalo", "recipient": "8309393969855402319",
                                                          "text": "Cán bộ trả lời", "admin_id": "777"}).json()
            inbox = http.post("/_fake/staff_reply", json={"platform": "messenger", "recipient": "P9",
                                                          "text": "Page Inbox"}).json()
            assert wait_for(lambda: len(got) == 4)
            # the fake records an echo's status once the receiver's answer is back, which can come after the
            # receiver has seen the body: wait for the four statuses, do not read them at once
            assert wait_for(lambda: [e["status"] for e in http.get("/_fake/echoes").json()] == [200] * 4)

    by_id = {}
    for item in got:
        raw, headers = item["raw"], item["headers"]
        body = json.loads(raw)
        if item["channel"] == "zalo":
            expected = fp.zalo_signature(fp.ZALO_APP_ID, raw, body["timestamp"], fp.ZALO_OA_SECRET_KEY)
            assert headers["x-zevent-signature"] == "mac=" + expected
            by_id[body["message"]["msg_id"]] = body
        else:
            expected = hmac.new(fp.FB_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            assert headers["x-hub-signature-256"] == "sha256=" + expected
            assert raw.isascii()
            by_id[body["entry"][0]["messaging"][0]["message"]["mid"]] = body

    z = by_id[zid]
    assert z["event_name"] == "oa_send_text" and z["sender"] == {"id": fp.ZALO_OA_ID}
    assert z["recipient"] == {"id": "8309393969855402319"} and z["message"]["text"] == "Dạ, em trả lời ạ"
    assert isinstance(z["timestamp"], str) and z["app_id"] == fp.ZALO_APP_ID
    m = by_id[mid]["entry"][0]["messaging"][0]
    assert m["sender"] == {"id": fp.FB_PAGE_ID} and m["recipient"] == {"id": "P9"}
    assert m["message"]["is_echo"] is True and str(m["message"]["app_id"]) == fp.FB_APP_ID
    assert m["message"]["metadata"] == "bhxh:bot" and m["message"]["text"] == "Chào bạn"
    assert by_id[staff["message_id"]]["sender"]["admin_id"] == "777"
    assert "app_id" not in by_id[inbox["message_id"]]["entry"][0]["messaging"][0]["message"]


# --- the command line: serve + citizen ---------------------------------------------------------------------------


def mini_app(fake_url: str) -> FastAPI:
    """A stand-in for the service: verifies the webhook, answers through the fake's send APIs."""
    app = FastAPI()

    @app.post("/webhooks/zalo")
    async def zalo(request: Request):
        raw = await request.body()
        body = json.loads(raw)
        mac = fp.zalo_signature(fp.ZALO_APP_ID, raw, body["timestamp"], fp.ZALO_OA_SECRET_KEY)
        if request.headers.get("x-zevent-signature") != "mac=" + mac:
            return Response(status_code=401)
        async with httpx.AsyncClient() as c:
            await c.post(fake_url + "/v3.0/oa/message/cs", headers={"access_token": AT0},
                         json={"recipient": {"user_id": body["sender"]["id"]},
                               "message": {"text": "Bạn hỏi: " + body["message"]["text"]}})
        return {"ok": True}

    @app.post("/webhooks/facebook")
    async def facebook(request: Request):
        raw = await request.body()
        sig = "sha256=" + hmac.new(fp.FB_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert request.headers.get("x-hub-signature-256") == sig
        event = json.loads(raw)["entry"][0]["messaging"][0]
        async with httpx.AsyncClient() as c:
            await c.post(fake_url + "/v25.0/me/messages", params={"access_token": FB_TOKEN},
                         json={"recipient": {"id": event["sender"]["id"]}, "messaging_type": "RESPONSE",
                               "message": {"text": "Echo: " + event["message"]["text"],
                                           "quick_replies": [qr("Hữu ích", "FEEDBACK_HELPFUL")]}})
        return {"ok": True}

    return app


@pytest.mark.e2e
def test_cli_serve_and_citizen(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = str(ROOT / "scripts" / "fake_platforms.py")
    log = open(tmp_path / "fake.log", "w")
    proc = subprocess.Popen([sys.executable, script, "serve", "--port", str(port), "--zalo-rps", "50"],
                            stdout=log, stderr=subprocess.STDOUT)
    fake_url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _healthy(fake_url), timeout=15), (tmp_path / "fake.log").read_text()
        with fp.ThreadedServer(mini_app(fake_url)) as app:
            common = [sys.executable, script, "citizen", "--app", app.url, "--fake", fake_url, "--quiet", "0.3",
                      "--wait", "5"]
            out = subprocess.run(common + ["--platform", "zalo", "--user", "U7", "Mức đóng BHXH?"], capture_output=True,
                                 text=True, encoding="utf-8", timeout=30)
            assert out.returncode == 0, out.stderr
            assert "HTTP 200" in out.stdout and "Bạn hỏi: Mức đóng BHXH?" in out.stdout
            out = subprocess.run(common + ["--platform", "messenger", "--user", "P7"], input="xin chào\n/tap 1\n",
                                 capture_output=True, text=True, encoding="utf-8", timeout=30)
            assert out.returncode == 0, out.stderr
            assert "Echo: xin chào" in out.stdout and "[1] Hữu ích" in out.stdout and "Echo: Hữu ích" in out.stdout
        sent = httpx.get(fake_url + "/_fake/sent", params={"platform": "messenger", "recipient": "P7"}).json()
        assert [s["text"] for s in sent] == ["Echo: xin chào", "Echo: Hữu ích"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/_fake/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
