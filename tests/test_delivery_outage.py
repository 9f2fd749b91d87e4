"""A real 10-minute outage of both platforms (issue 14 item 2), in the slow tier: every reply written
during it goes out once after it, in order, and nothing is handed to staff. The same outage of hours
is simulated on a controllable clock in tests/test_delivery.py."""

from __future__ import annotations

import sys
import time

import httpx
import pytest
from sqlmodel import func, select

from app import models
from tests.conftest import ROOT, AppServer
from tests.test_channels import app_env, db_session, post_fb, post_zalo, sent, wait_for

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

# real processes: the service under uvicorn and the fake platforms, for ten real minutes; on SQLite only (the
# outbox's retries and their order on both databases are tested on a controllable clock in test_delivery.py)
pytestmark = [pytest.mark.e2e, pytest.mark.one_database]

OUTAGE_SECONDS = 600
USERS = [f"outage{i:02d}" for i in range(10)]


@pytest.mark.slow
def test_a_ten_minute_outage_loses_no_reply(database_url, tmp_path, fake):
    # the cap on the wait between attempts is shortened so that the test ends soon after the outage
    app = AppServer(database_url, tmp_path / "app.log",
                    **app_env(fake.url, SEMANTIC_MODEL="off", SEND_BACKOFF_MAX_SECONDS="60")).start()
    try:
        httpx.post(fake.url + "/_fake/config", json={"echo_zalo_to": app.url + "/webhooks/zalo",
                                                    "echo_messenger_to": app.url + "/webhooks/facebook"})
        httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": True})
        down_at = time.time()
        for i, user in enumerate(USERS):
            text = "bhxh tự nguyện đóng bao nhiêu"
            r = post_zalo(app, fp.zalo_user_text(text, user)) if i % 2 else post_fb(app, fp.messenger_text(text, user))
            assert r.status_code == 200

        def failing() -> bool:
            with db_session(app) as session:
                return session.exec(select(func.count()).select_from(models.OutboxMessage)
                                    .where(models.OutboxMessage.attempts > 0)).one() >= len(USERS)

        assert wait_for(failing, timeout=120, interval=1.0)
        time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.time()))  # the outage itself: real time
        httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": False})
        assert wait_for(lambda: all(sent(fake, u) for u in USERS), timeout=300, interval=2.0)

        def settled() -> bool:
            with db_session(app) as session:
                return session.exec(select(func.count()).select_from(models.OutboxMessage)
                                    .where(models.OutboxMessage.status != "sent")).one() == 0

        assert wait_for(settled, timeout=300, interval=2.0)
        with db_session(app) as session:
            rows = session.exec(select(models.OutboxMessage)).all()
            assert session.exec(select(func.count()).select_from(models.Escalation)
                                .where(models.Escalation.reason.startswith("Không gửi được tin"))).one() == 0
        assert max(r.attempts for r in rows) > 8  # more than the old limit of 8 attempts
        for user in USERS:
            texts = [m["text"] for m in sent(fake, user)]
            assert len(texts) == len(set(texts)) == len([r for r in rows if r.recipient == user])
    finally:
        app.stop()
