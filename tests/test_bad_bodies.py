"""Webhook bodies no parser can take (nesting deeper than Python's recursion limit, not UTF-8) are bad
input: 400 after a valid signature (Messenger), 401 when the signature cannot be checked (Zalo signs with
the body's timestamp), never a 500 and never a traceback. In process (ASGI):
what is tested is the route and the adapters, not storage."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from app.settings import Settings
from webhooks import messenger, zalo
from webhooks.base import ChannelError

APP_ID, OA_KEY, FB_SECRET = "1234567890123456789", "test_oa_secret_key", "test_app_secret"
NESTED = b"[" * 50_000  # far past the parser's recursion limit, within the body size limit
NESTED_OBJECT = b'{"a":' * 5_000 + b"1" + b"}" * 5_000


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("bad") / "bhxh.db"
    settings = Settings(database_url=f"sqlite:///{db}", zalo_app_id=APP_ID, zalo_oa_secret_key=OA_KEY,
                        zalo_access_token="at", zalo_refresh_token="rt", zalo_app_secret="s", fb_app_id="1",
                        fb_app_secret=FB_SECRET, fb_page_access_token="pt", fb_verify_token="v",
                        run_workers=False, kb_poll_seconds=0)
    # without the lifespan: no worker threads, nothing here is stored
    return TestClient(create_app(settings), raise_server_exceptions=False)


def zalo_headers(raw: bytes, ts: str = "1700000000000") -> dict[str, str]:
    return {"x-zevent-signature": zalo.signature(APP_ID, raw, ts, OA_KEY), "x-zevent-timestamp": ts}


@pytest.mark.parametrize("raw", [NESTED, NESTED_OBJECT, b"\xff\xfe{}"], ids=["list", "object", "not-utf8"])
def test_unparseable_zalo_body_is_401_in_one_line(client, raw, caplog):
    """Zalo signs with the body's own timestamp, so a body no parser can read cannot be verified: 401."""
    with caplog.at_level(logging.INFO):
        r = client.post("/webhooks/zalo", content=raw, headers=zalo_headers(raw))
    assert r.status_code == 401, r.text
    assert not any(rec.exc_info for rec in caplog.records), "a bad body must not log a traceback"


@pytest.mark.parametrize("raw", [NESTED, NESTED_OBJECT], ids=["list", "object"])
def test_unparseable_signed_messenger_body_is_400_in_one_line(client, raw, caplog):
    headers = {"x-hub-signature-256": messenger.signature(FB_SECRET, raw)}
    with caplog.at_level(logging.INFO):
        r = client.post("/webhooks/facebook", content=raw, headers=headers)
    assert r.status_code == 400 and "nested too deeply" in r.json()["detail"], r.text
    refused = [rec for rec in caplog.records if "malformed messenger event" in rec.getMessage()]
    assert len(refused) == 1 and not any(rec.exc_info for rec in caplog.records)


@pytest.mark.parametrize("path", ["/webhooks/zalo", "/webhooks/facebook"])
def test_unparseable_unsigned_body_is_401(client, path):
    r = client.post(path, content=NESTED, headers={"x-zevent-signature": "mac=00", "x-hub-signature-256": "sha256=00"})
    assert r.status_code == 401, r.text


def test_adapters_refuse_deep_nesting_as_channel_error():
    with pytest.raises(ChannelError, match="nested too deeply"):
        zalo.ZaloChannel.parse(object.__new__(zalo.ZaloChannel), NESTED)
    assert zalo.ZaloChannel.account(NESTED) == ""
    assert messenger.MessengerChannel.accounts(NESTED) == []
