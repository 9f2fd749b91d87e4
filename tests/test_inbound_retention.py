"""Webhook events are kept INBOUND_RETENTION_DAYS for their dedupe keys, then pruned; events older than that
(a replay the pruned keys could no longer catch) or a day ahead are acknowledged and dropped."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import database, models
from app.api import create_app
from app.settings import Settings
from tests.conftest import ROOT
from webhooks import messenger

FB_SECRET, PAGE = "test_app_secret", "111111111111111"
DAY_MS = 86_400_000


def text_event(psid: str, mid: str, timestamp_ms: int) -> bytes:
    import json

    body = {"object": "page", "entry": [{"id": PAGE, "time": timestamp_ms, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": timestamp_ms,
         "message": {"mid": mid, "text": "bhxh tự nguyện là gì"}}]}]}
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("retention") / "bhxh.db"
    settings = Settings(database_url=f"sqlite:///{db}", fb_app_id="1", fb_app_secret=FB_SECRET,
                        fb_page_access_token="pt", fb_verify_token="v", run_workers=False, kb_poll_seconds=0,
                        inbound_retention_days=30, knowledge_base_dir=ROOT / "knowledge_base")
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.mark.parametrize("age_days, stored", [(0, 1), (29, 1), (31, 0), (-2, 0), (-0.5, 1)],
                         ids=["now", "29-days-old", "31-days-old", "2-days-ahead", "12-hours-ahead"])
def test_events_outside_the_window_are_acknowledged_and_dropped(client, age_days, stored):
    ts = int(time.time() * 1000) - int(age_days * DAY_MS)
    raw = text_event(f"psid-{age_days}", f"m-{age_days}", ts)
    r = client.post("/webhooks/facebook", content=raw, headers={"x-hub-signature-256": messenger.signature(FB_SECRET, raw)})
    assert r.status_code == 200, r.text
    assert r.json()["new"] == stored


def test_prune_deletes_only_old_handled_events(cli, database_url):
    cli("db", "upgrade")
    db = database.make_engine(database_url)
    old = models.utcnow() - dt.timedelta(days=31)
    with Session(db) as session:
        for key, status, received in [("old-done", "done", old), ("old-failed", "failed", old),
                                      ("old-pending", "pending", old), ("new-done", "done", models.utcnow())]:
            session.add(models.InboundRecord(channel="messenger", dedupe_key=key, kind="text", user_id="u1",
                                             status=status, received_at=received))
        session.commit()
    out = cli("db", "prune", env={"INBOUND_RETENTION_DAYS": "30"}).stdout
    assert out.startswith("pruned 2 handled webhook events")
    with Session(db) as session:
        left = sorted(r.dedupe_key for r in session.exec(select(models.InboundRecord)))
    db.dispose()
    assert left == ["new-done", "old-pending"]
