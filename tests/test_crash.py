"""SIGKILL in the middle of a load run: every message still gets exactly one reply, no outbox row is
lost and no single-use Zalo refresh token is burnt."""

from __future__ import annotations

import random
import sys
import threading
import time

import httpx
import pytest
from sqlmodel import func, select

from app import models
from tests.conftest import ROOT, AppServer
from tests.test_channels import app_env, db_session, wait_for

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

pytestmark = pytest.mark.e2e

CITIZENS = 300
TEXTS = ["bhxh tu nguyen dong bao nhieu 1 thang", "mức đóng bhyt hộ gia đình", "rut bhxh 1 lan co thiet khong",
         "hssv dong bhyt o dau", "bhyt hgd giam tru the nao"]


def _deliver(url_of, jobs: list[tuple[str, bytes, dict[str, str]]], rate: float) -> list[str]:
    """Webhooks at `rate` per second; like the platforms, a webhook that gets no 200 is delivered again."""
    problems = []
    with httpx.Client(timeout=10) as client:
        start = time.time()
        for i, (path, raw, headers) in enumerate(jobs):
            time.sleep(max(0.0, start + i / rate - time.time()))
            deadline = time.time() + 90
            while True:
                try:
                    if client.post(url_of() + path, content=raw, headers=headers).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.time() > deadline:
                    problems.append(path)
                    break
                time.sleep(0.5)
    return problems


def test_sigkill_mid_run_loses_nothing_and_answers_once(database_url, tmp_path, fake):
    env = app_env(fake.url, SEND_DOUBT_SECONDS="12", LOG_LEVEL="WARNING")
    app = AppServer(database_url, tmp_path / "app.log", **env).start()
    httpx.post(fake.url + "/_fake/config", json={"echo_zalo_to": app.url + "/webhooks/zalo",
                                                "echo_messenger_to": app.url + "/webhooks/facebook",
                                                "echo_retry_delays": "1,1,2,2,3,3,5,5"})
    rng = random.Random(5)
    jobs = []
    for i in range(CITIZENS):
        user = f"crash{i:04d}"
        if i % 2:
            raw, headers = fp.zalo_signed(fp.zalo_user_text(rng.choice(TEXTS), user, msg_id=f"crash-{i}"))
            jobs.append(("/webhooks/zalo", raw, headers))
        else:
            raw, headers = fp.messenger_signed(fp.messenger_text(rng.choice(TEXTS), user, mid=f"m_crash-{i}"))
            jobs.append(("/webhooks/facebook", raw, headers))
    problems: list[str] = []
    sender = threading.Thread(target=lambda: problems.extend(_deliver(lambda: app.url, jobs, rate=40)))
    sender.start()
    try:
        time.sleep(2.5)
        httpx.post(fake.url + "/_fake/expire_access_token")  # refreshes happen around the crash
        time.sleep(1.0)
        app.stop(kill=True)  # SIGKILL: no shutdown code runs
        time.sleep(1.0)
        app.start()
        sender.join(timeout=300)
        assert not problems, f"{len(problems)} webhooks were never acknowledged"

        users = {f"crash{i:04d}" for i in range(CITIZENS)}

        def replies() -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for m in httpx.get(fake.url + "/_fake/sent", timeout=30).json():
                if m["recipient"] in users:
                    out.setdefault(m["recipient"], []).append(m["text"])
            return out

        assert wait_for(lambda: len(replies()) == CITIZENS, timeout=300, interval=1.0), "some citizens got no reply"

        def settled() -> bool:
            with db_session(app) as session:
                return session.exec(select(func.count()).select_from(models.OutboxMessage)
                                    .where(models.OutboxMessage.status != "sent")).one() == 0

        assert wait_for(settled, timeout=120, interval=1.0), "outbox rows left unsent"
        time.sleep(3)  # a late duplicate would show up meanwhile
        got = replies()
        duplicated = {u: r for u, r in got.items() if len(set(r)) < len(r)}
        assert not duplicated, f"{len(duplicated)} citizens got a reply twice: {list(duplicated.items())[:2]}"
        with db_session(app) as session:
            statuses = dict(session.exec(select(models.InboundRecord.status, func.count())
                                         .where(models.InboundRecord.kind == "text")
                                         .group_by(models.InboundRecord.status)).all())
            assert statuses == {"done": CITIZENS}
            rows = session.exec(select(func.count()).select_from(models.OutboxMessage)).one()
            assert rows == sum(len(r) for r in got.values())  # every outbox row went out exactly once
            stored = session.get(models.ChannelToken, "zalo")
        tokens = httpx.get(fake.url + "/_fake/tokens").json()
        assert tokens["refreshes"] >= 1
        assert tokens["burnt_refresh_token_reuses"] == 0
        assert stored.refresh_token == tokens["zalo_refresh_token"]  # the app holds the live refresh token
    finally:
        sender.join(timeout=1)
        app.stop()
