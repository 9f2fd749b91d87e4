"""Security on the running service: headers, body and message size limits, per-IP rate limit."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from sqlmodel import select

from app import models
from tests.conftest import AppServer
from tests.test_channels import app_env, db_session, fp, post_zalo, sent, wait_for

pytestmark = pytest.mark.e2e

TOKEN = "test-admin-token"


@pytest.fixture
def fake():
    with fp.FakePlatformsServer(fp.FakeConfig(zalo_rps=0, messenger_rps=0)) as server:
        yield server


@pytest.fixture
def limited(database_url, tmp_path, fake):
    app = AppServer(database_url, tmp_path / "app.log", API_RATE_PER_MINUTE="60", API_RATE_BURST="5",
                    MAX_REQUEST_BYTES="20000", WEBHOOK_MAX_BYTES="100000", **app_env(fake.url)).start()
    yield app
    app.stop()


def test_security_headers_on_every_response(limited):
    for r in (httpx.get(limited.url + "/healthz"), httpx.post(limited.url + "/api/v1/ask", json={"text": "x"}),
              httpx.get(limited.url + "/nowhere")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "strict-transport-security" not in r.headers  # plain HTTP
    docs = httpx.get(limited.url + "/docs")
    assert docs.headers["content-type"].startswith("text/html")
    assert "object-src 'none'" in docs.headers["content-security-policy"]
    # behind the TLS-terminating proxy (trusted: FORWARDED_ALLOW_IPS) the scheme is https: HSTS
    r = httpx.get(limited.url + "/healthz", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


def raw_request(url: str, head: str, body: bytes = b"", wait: float = 5.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(head.encode() + body)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        return data


def test_body_limit_on_every_endpoint_before_the_body_is_read(limited):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    big = b'{"text": "' + b"a" * 30000 + b'"}'
    assert httpx.post(limited.url + "/api/v1/ask", content=big, headers=headers).status_code == 413
    assert httpx.post(limited.url + "/api/v1/conversations/1/replies", content=big, headers=headers).status_code == 413

    def chunks():  # streamed, no Content-Length: stopped once past the limit
        for _ in range(100):
            yield b"a" * 1000

    r = httpx.post(limited.url + "/api/v1/ask", content=chunks(), headers=headers)
    assert r.status_code == 413
    assert httpx.post(limited.url + "/webhooks/zalo", content=b"x" * 150000).status_code == 413
    # a declared 50 MB body is refused at once: the server does not wait for it
    started = time.monotonic()
    answer = raw_request(limited.url, "POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                      "Content-Length: 50000000\r\n\r\n", b'{"text": ')
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 3
    # under the limit still works
    ok = httpx.post(limited.url + "/api/v1/ask", json={"text": "bhxh tự nguyện là gì"}, headers=headers, timeout=30)
    assert ok.status_code == 200


def test_an_overlong_message_goes_to_staff_without_searching(limited, fake):
    text = "Tôi xin trình bày hoàn cảnh gia đình. " * 150  # about 5,700 characters, over MAX_MESSAGE_CHARS
    assert post_zalo(limited, fp.zalo_user_text(text, "6001")).status_code == 200
    replies = wait_for(lambda: sent(fake, "6001"))
    assert "cán bộ" in replies[0]["text"]
    with db_session(limited) as session:
        msg = session.exec(select(models.Message).where(models.Message.direction == "in",
                                                        models.Message.author == "citizen")).one()
        assert msg.outcome == "escalated" and msg.text == text  # kept whole for staff
        esc = session.exec(select(models.Escalation).where(models.Escalation.message_id == msg.id)).one()
        assert "dài hơn 4000 ký tự" in esc.reason


def test_api_rate_limit_per_ip(limited):
    url = limited.url + "/api/v1/ask"
    statuses = [httpx.post(url, json={"text": "x"}).status_code for _ in range(5)]
    assert statuses == [401] * 5  # the limit counts every request, before authentication
    r = httpx.post(url, json={"text": "x"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "thử lại" in r.json()["detail"]
    # another client (behind the trusted proxy) has its own bucket; health checks are never limited
    other = httpx.post(url, json={"text": "x"}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert other.status_code == 401
    assert httpx.get(limited.url + "/healthz").status_code == 200
    time.sleep(1.2)  # one token per second comes back
    assert httpx.post(url, json={"text": "x"}).status_code == 401
