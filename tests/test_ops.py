"""Operations on the running service: /readyz, Prometheus /metrics, structured logs without
personal numbers or secrets. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PG_URL, ROOT, AppServer
from tests.test_channels import app_env, fp, post_fb, post_zalo, sent, wait_for

pytestmark = pytest.mark.e2e

TOKEN = "test-admin-token"


@pytest.fixture
def fake():
    with fp.FakePlatformsServer(fp.FakeConfig(zalo_rps=0, messenger_rps=0)) as server:
        yield server


def samples(url: str, headers: dict | None = None) -> dict[tuple, float]:
    r = httpx.get(url + "/metrics", headers=headers or {}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def ask(server, text: str) -> dict:
    r = httpx.post(server["url"] + "/api/v1/ask", json={"text": text},
                   headers={"Authorization": f"Bearer {server['token']}"}, timeout=60)
    assert r.status_code == 200
    return r.json()


def test_ready_and_metrics_count_answers_outcomes_and_latency(server):
    r = httpx.get(server["url"] + "/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"database": True, "knowledge_base": True, "model": True},
                        # the semantic model answering: the committed one until a retraining (app/retrain.py)
                        "model": {"source": "shipped", "id": None, "kb_revision": None, "trained_at": None,
                                  "fingerprint": (ROOT / "models/bhxh-static/training_corpus.sha256").read_text().strip()}}
    before = samples(server["url"])
    assert ask(server, "bảo hiểm xã hội tự nguyện là gì, ai được tham gia")["outcome"] == "answered"
    assert ask(server, "Kiểm tra giúp hồ sơ của tôi, CCCD 001203004567")["outcome"] == "escalated"
    after = samples(server["url"])
    assert value(after, "bhxh_messages_total", channel="api", outcome="answered") == \
        value(before, "bhxh_messages_total", channel="api", outcome="answered") + 1
    assert value(after, "bhxh_messages_total", channel="api", outcome="escalated") == 1
    assert value(after, "bhxh_answer_seconds_count") == 2
    assert 0 < value(after, "bhxh_answer_seconds_sum") < 10
    assert value(after, "bhxh_http_requests_total", route="/api/v1/ask", status="200") == 2
    assert value(after, "bhxh_outbox_depth", status="pending") == 0
    assert value(after, "bhxh_outbox_oldest_pending_seconds") == 0
    assert value(after, "bhxh_database_up") == 1


def test_not_ready_without_the_model(database_url, tmp_path):
    app = AppServer(database_url, tmp_path / "app.log", SEMANTIC_MODEL=str(tmp_path / "missing-model")).start()
    try:
        assert httpx.get(app.url + "/healthz").status_code == 200  # alive, but must not get traffic
        r = httpx.get(app.url + "/readyz")
        assert r.status_code == 503
        assert r.json()["checks"] == {"database": True, "knowledge_base": True, "model": False}
        assert any("semantic model not loaded" in reason for reason in r.json()["reasons"])
    finally:
        app.stop()


def test_not_ready_when_the_database_is_gone(backend, database_url, tmp_path):
    if backend != "postgresql":
        pytest.skip("a SQLite file cannot be taken away from a process that has it open")
    app = AppServer(database_url, tmp_path / "app.log").start()
    try:
        assert httpx.get(app.url + "/readyz").status_code == 200
        name = database_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        r = httpx.get(app.url + "/readyz", timeout=30)
        assert r.status_code == 503 and r.json()["checks"]["database"] is False
        assert r.json()["reasons"][0].startswith("database unreachable")
        assert value(samples(app.url), "bhxh_database_up") == 0
    finally:
        app.stop()


def test_channel_metrics_sends_failures_refreshes_and_outbox_age(database_url, tmp_path, fake):
    app = AppServer(database_url, tmp_path / "app.log", **app_env(fake.url)).start()
    try:
        httpx.post(fake.url + "/_fake/expire_access_token")
        post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", "7001"))
        assert wait_for(lambda: sent(fake, "7001"))
        httpx.post(fake.url + "/_fake/fail", json={"platform": "messenger", "mode": "blocked", "count": 5})
        post_fb(app, fp.messenger_text("bhyt hộ gia đình bao nhiêu tiền", "7002"))
        m = wait_for(lambda: (s := samples(app.url)) and
                     value(s, "bhxh_send_failures_total", channel="messenger", code="551") >= 1 and s)
        assert value(m, "bhxh_token_refreshes_total", channel="zalo", result="ok") == 1
        assert value(m, "bhxh_sends_total", channel="zalo", result="sent") >= 1
        assert value(m, "bhxh_sends_total", channel="messenger", result="failed") >= 1
        assert value(m, "bhxh_messages_total", channel="zalo", outcome="answered") == 1
        assert value(m, "bhxh_http_requests_total", route="/webhooks/zalo", status="200") >= 1
        # the platform is down: the reply waits in the outbox and the gauges show it
        httpx.post(fake.url + "/_fake/down", json={"platform": "zalo", "down": True})
        post_zalo(app, fp.zalo_user_text("bhyt học sinh bao nhiêu tiền", "7003"))
        m = wait_for(lambda: (s := samples(app.url)) and value(s, "bhxh_outbox_oldest_pending_seconds") > 1 and s,
                     timeout=30)
        assert value(m, "bhxh_outbox_depth", status="pending") + value(m, "bhxh_outbox_depth", status="sending") >= 1
        assert value(m, "bhxh_sends_total", channel="zalo", result="retry") >= 1
    finally:
        app.stop()


def test_metrics_token(database_url, tmp_path):
    app = AppServer(database_url, tmp_path / "app.log", METRICS_TOKEN="scrape-secret-1").start()
    try:
        assert httpx.get(app.url + "/metrics").status_code == 401
        assert value(samples(app.url, {"Authorization": "Bearer scrape-secret-1"}), "bhxh_database_up") == 1
    finally:
        app.stop()


def test_json_logs_mask_personal_numbers_and_never_show_secrets(database_url, tmp_path, fake):
    log_path = tmp_path / "app.log"
    app = AppServer(database_url, log_path, LOG_FORMAT="json", **app_env(fake.url)).start()
    try:
        post_fb(app, fp.messenger_text("bhxh tự nguyện là gì", "7101"))
        assert wait_for(lambda: sent(fake, "7101"))
        httpx.get(app.url + "/webhooks/facebook",
                  params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"})
        httpx.get(app.url + "/readyz", params={"phone": "0905123456", "cccd": "001203004567"})
        time.sleep(0.5)
    finally:
        app.stop()
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert len(lines) >= 4 and all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"] == "uvicorn.access" and "/webhooks/facebook" in line["message"] for line in lines)
    assert any(line["logger"] == "httpx" and "access_token=[redacted]" in line["message"] for line in lines)
    assert any("[SĐT ***456]" in line["message"] for line in lines)
    for secret in (fp.FB_PAGE_ACCESS_TOKEN, fp.FB_APP_SECRET, "verify-me", TOKEN, "0905123456", "001203004567"):
        assert secret not in text
