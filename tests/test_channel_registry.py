"""Channels own their webhooks: a platform registered in webhooks/registry.py is served at /webhooks/<path> by
the generic route, stored and answered, with no edit to app/api.py; and `bhxh-bot worker` builds its channels
without the HTTP layer. In process (ASGI), on both databases."""

from __future__ import annotations

import hmac
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import models
from app.api import create_app
from app.settings import Settings
from tests.conftest import ROOT, base_env
from webhooks import registry
from webhooks.base import (
    Channel,
    ChannelError,
    EventKind,
    InboundEvent,
    OutgoingMessage,
    SendResult,
    checked_parse,
    read_json,
    split_text,
)

SECRET = "webchat-shared-secret"


class WebchatChannel(Channel):
    """A web-chat widget on the province's site: the widget's server posts {"visitor", "id", "text"} with a
    shared secret in a header; replies are kept in `sent` (the widget would fetch them)."""

    name = "webchat"
    path = "webchat"
    account_label = "site"
    setup_hint = "set the widget's shared secret"
    sent: list[tuple[str, dict[str, Any]]] = []

    @property
    def enabled(self) -> bool:
        return True

    def verify(self, raw: bytes, headers: dict[str, str]) -> bool:
        return hmac.compare_digest(headers.get("x-webchat-secret", "").encode(), SECRET.encode())

    @checked_parse
    def parse(self, raw: bytes) -> list[InboundEvent]:
        body = read_json(raw)
        if not isinstance(body, dict) or not body.get("visitor"):
            raise ChannelError("expected {visitor, id, text}")
        return [InboundEvent(self.name, str(body["id"]), EventKind.TEXT, str(body["visitor"]), text=str(body.get("text", "")),
                             platform_message_id=str(body["id"]))]

    def render(self, message: OutgoingMessage) -> list[dict[str, Any]]:
        return [{"text": part} for part in split_text(message.text)]

    def send(self, recipient: str, payload: dict[str, Any], *, tag: str | None = None,
             reply_to: str | None = None, ref: str | None = None) -> SendResult:
        self.sent.append((recipient, payload))
        return SendResult(ok=True, platform_message_id=f"wc-{len(self.sent)}")


@pytest.fixture
def webchat() -> Iterator[type[WebchatChannel]]:
    registry.register(WebchatChannel)
    WebchatChannel.sent = []
    try:
        yield WebchatChannel
    finally:
        registry.unregister(WebchatChannel.name)


def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, semantic_model="off", run_workers=False, kb_poll_seconds=0,
                    knowledge_base_dir=ROOT / "knowledge_base", provinces_file=None)


def test_a_registered_platform_is_served_stored_and_answered(database_url, webchat):
    app = create_app(settings(database_url))
    delivery = app.state.delivery
    try:
        client = TestClient(app, raise_server_exceptions=False)  # no lifespan: the test drives the worker
        raw = json.dumps({"visitor": "visitor-1", "id": "wc-m1", "text": "bhxh tự nguyện là gì"}).encode()
        assert client.post("/webhooks/webchat", content=raw).status_code == 401
        assert client.post("/webhooks/webchat", content=raw, headers={"X-Webchat-Secret": "wrong"}).status_code == 401
        r = client.post("/webhooks/webchat", content=raw, headers={"X-Webchat-Secret": SECRET})
        assert r.status_code == 200 and r.json() == {"ok": True, "new": 1, "duplicates": 0}
        again = client.post("/webhooks/webchat", content=raw, headers={"X-Webchat-Secret": SECRET})
        assert again.json() == {"ok": True, "new": 0, "duplicates": 1}
        bad = client.post("/webhooks/webchat", content=b"[1]", headers={"X-Webchat-Secret": SECRET})
        assert bad.status_code == 400 and bad.json() == {"detail": "malformed webchat event: expected {visitor, id, text}"}
        assert client.get("/webhooks/webchat").status_code == 405  # no handshake declared: no GET
        assert client.post("/webhooks/telegram", content=raw).status_code == 404  # not registered

        assert delivery.process_pending() == 1
        delivery.send_due()
        assert delivery.wait_idle(60)
        assert [to for to, _ in webchat.sent] == ["visitor-1"]
        assert "tự nguyện" in webchat.sent[0][1]["text"].lower()
        with Session(delivery.db) as session:
            event = session.exec(select(models.InboundRecord)).one()
            assert (event.channel, event.status, event.province) == ("webchat", "done", "default")
            conv = session.exec(select(models.Conversation)).one()
            assert (conv.channel, conv.external_id) == ("webchat", "visitor-1")
            assert [row.status for row in session.exec(select(models.OutboxMessage))] == ["sent"]
    finally:
        delivery.stop()
        delivery.db.dispose()


def test_registry_refuses_a_name_or_path_already_served():
    class Clash(WebchatChannel):
        path = "zalo"

    with pytest.raises(ValueError, match="clashes with zalo"):
        registry.register(Clash)
    assert [adapter.path for adapter in registry.adapters()] == ["zalo", "facebook"]


@pytest.mark.one_database
def test_the_worker_builds_its_channels_without_the_http_layer(database_url, tmp_path):
    """`bhxh-bot worker` runs (here stopped as soon as it has started) without importing app.api or FastAPI."""
    code = ("import sys\n"
            "from app import cli\n"
            "from app.delivery import Delivery\n"
            "Delivery.wait = Delivery.stop  # stop once started: what it imported is the point\n"
            "assert cli.main(['worker']) == 0\n"
            "print(sorted(m for m in sys.modules if m == 'app.api' or m.split('.')[0] in ('fastapi', 'starlette')))\n")
    env = base_env(database_url, SEMANTIC_MODEL="off", KB_POLL_SECONDS="0", MODEL_TRAINER="false",
                   ZALO_APP_ID="1", ZALO_OA_SECRET_KEY="k", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]", done.stdout
