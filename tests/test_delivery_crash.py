"""kill -9 at each instant of a send: every message still gets exactly one reply where the platform
echoes (issue 14, item 1).

Thirty citizens (half on Zalo, half on Messenger) write; the app is killed with SIGKILL while their
replies are at one of these points, then started again:

- before_call: the row is claimed (`sending`), the platform has not been called (the app's
  SEND_PAUSE_AT hook holds every send there);
- during_call_lost / during_call_delivered: the fake platform holds the calls; after the kill it
  either drops them or processes them (and echoes them once the app is back);
- after_accepted: the platform accepted and answered, the app has not recorded it, the echoes are
  held until the app is back;
- after_echo: the platform accepted and its echoes were stored and handled before the kill.

No instant depends on timing: the app's hook and the fake's hold wait until the test acts. Where an
echo comes, the restarted app runs with SEND_DOUBT_SECONDS=600, so a reply that was not settled by its
echo could only go out again ten minutes later, long after the test's deadline: the echo alone
settles it. Where no echo can come (the platform never got the call), the doubt is 2 s and the reply
goes out once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app import models
from tests.conftest import ROOT, AppServer
from tests.test_channels import app_env, db_session, post_fb, post_zalo, wait_for

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

# real processes: the service under uvicorn, killed with SIGKILL, and the fake platforms
pytestmark = pytest.mark.e2e

CITIZENS = 30
TEXTS = ["bhxh tu nguyen dong bao nhieu 1 thang", "mức đóng bhyt hộ gia đình", "rut bhxh 1 lan co thiet khong",
         "hssv dong bhyt o dau", "bhyt hgd giam tru the nao"]
POINTS = ["before_call", "during_call_lost", "during_call_delivered", "after_accepted", "after_echo"]
ECHOED = {"during_call_delivered", "after_accepted", "after_echo"}


def users() -> list[str]:
    return [f"kill{i:03d}" for i in range(CITIZENS)]


def replies(fake) -> dict[str, list[str]]:
    wanted = set(users())
    out: dict[str, list[str]] = {}
    for m in httpx.get(fake.url + "/_fake/sent", timeout=30).json():
        if m["recipient"] in wanted:
            out.setdefault(m["recipient"], []).append(m["text"])
    return out


def first_rows(app) -> dict[str, models.OutboxMessage]:
    """Each citizen's first outbox row."""
    with db_session(app) as session:
        rows = session.exec(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).all()
    first: dict[str, models.OutboxMessage] = {}
    for row in rows:
        first.setdefault(row.recipient, row)
    return first


def fake_post(fake, path: str, body: dict) -> dict:
    r = httpx.post(fake.url + path, json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def point_reached(point: str, app, fake, pause_dir: Path) -> bool:
    if point.startswith("during_call"):
        held = httpx.get(fake.url + "/_fake/held").json()["requests"]
        return len({h["recipient"] for h in held}) == CITIZENS
    first = first_rows(app)
    if len(first) < CITIZENS:
        return False
    marker = "before_call" if point == "before_call" else "after_call"
    paused = {int(p.name.rsplit("-", 1)[1]) for p in pause_dir.glob(f"{marker}-*")}
    if not all(row.id in paused and row.status == "sending" or row.status == "sent" for row in first.values()):
        return False
    if point == "after_echo":  # every first reply settled by its echo while its send is still held
        return all(row.status == "sent" and row.echoed_at is not None for row in first.values())
    return all(row.id in paused for row in first.values())


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_at_each_point_of_a_send_answers_every_message_exactly_once(database_url, tmp_path, fake, point):
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()
    env = app_env(fake.url, LOG_LEVEL="WARNING", SEMANTIC_MODEL="off", SEND_CONCURRENCY="64",
                  HTTP_TIMEOUT_SECONDS="120")
    first_env = dict(env, SEND_PAUSE_DIR=str(pause_dir))
    if point == "before_call":
        first_env["SEND_PAUSE_AT"] = "before_call"
    elif point in ("after_accepted", "after_echo"):
        first_env["SEND_PAUSE_AT"] = "after_call"
    else:
        fake_post(fake, "/_fake/hold", {"platform": "all", "requests": True})
    if point == "after_accepted":
        fake_post(fake, "/_fake/hold", {"platform": "all", "echoes": True})
    app = AppServer(database_url, tmp_path / "app1.log", **first_env).start()
    # an echo the dead app could not take is delivered again for minutes, as the platforms do
    fake_post(fake, "/_fake/config", {"echo_zalo_to": app.url + "/webhooks/zalo",
                                      "echo_messenger_to": app.url + "/webhooks/facebook",
                                      "echo_retry_delays": ",".join(["1"] * 300)})
    again = None
    try:
        for i, user in enumerate(users()):
            text = TEXTS[i % len(TEXTS)]
            r = post_zalo(app, fp.zalo_user_text(text, user, msg_id=f"kill-{i}")) if i % 2 else \
                post_fb(app, fp.messenger_text(text, user, mid=f"m_kill-{i}"))
            assert r.status_code == 200
        assert wait_for(lambda: point_reached(point, app, fake, pause_dir), timeout=180, interval=0.3), \
            f"the sends never all reached {point}"
        fake_post(fake, "/_fake/hold", {"platform": "all", "echoes": True})  # nothing reaches the dead app
        app.stop(kill=True)
        if point.startswith("during_call"):
            fake_post(fake, "/_fake/hold", {"platform": "all", "requests": False})
            fake_post(fake, "/_fake/release", {"platform": "all", "deliver": point == "during_call_delivered"})
        if point in ("before_call", "during_call_lost"):
            assert replies(fake) == {}, "the platform got nothing before the restart"
        else:  # the platform has every first reply: only the echo can tell the app
            assert wait_for(lambda: len(replies(fake)) == CITIZENS, timeout=60)
        again = AppServer(database_url, tmp_path / "app2.log",
                          **dict(env, SEND_DOUBT_SECONDS="600" if point in ECHOED else "2"))
        again.port, again.url = app.port, app.url  # the platforms' webhooks go to the same address
        again.start()
        fake_post(fake, "/_fake/hold", {"platform": "all", "echoes": False})

        def settled() -> bool:
            with db_session(again) as session:
                open_rows = session.exec(select(func.count()).select_from(models.OutboxMessage)
                                         .where(models.OutboxMessage.status != "sent")).one()
                done = session.exec(select(func.count()).select_from(models.InboundRecord)
                                    .where(models.InboundRecord.kind == "text",
                                           models.InboundRecord.status == "done")).one()
            return open_rows == 0 and done == CITIZENS and len(replies(fake)) == CITIZENS

        assert wait_for(settled, timeout=240, interval=0.5), \
            f"not every reply went out: {len(replies(fake))} of {CITIZENS} citizens answered"
        got = replies(fake)
        duplicated = {u: r for u, r in got.items() if len(set(r)) < len(r)}
        assert not duplicated, f"{len(duplicated)} citizens got a reply twice: {list(duplicated.items())[:2]}"
        with db_session(again) as session:
            rows = session.exec(select(models.OutboxMessage)).all()
        # nothing is left to send, and every row reached the platform exactly once
        assert len(rows) == sum(len(r) for r in got.values())
        if point in ECHOED:  # and the platform's echoes all found their rows
            def echoed() -> bool:
                with db_session(again) as session:
                    return session.exec(select(func.count()).select_from(models.OutboxMessage)
                                        .where(models.OutboxMessage.echoed_at.is_(None))).one() == 0
            assert wait_for(echoed, timeout=60, interval=0.5)
    finally:
        for server in (again, app):
            if server is not None:
                server.stop()


@pytest.mark.parametrize("platform", ["zalo", "messenger"])
def test_a_send_whose_answer_is_lost_is_settled_by_its_echo_not_sent_again(database_url, tmp_path, fake, platform):
    """The issue's slow platform: the call times out on our side, the platform processes it anyway. The
    send is in doubt, so it is not retried on the normal backoff (2 s) but waits for the echo, which
    settles it (SEND_DOUBT_SECONDS=600: a retry could only come ten minutes later)."""
    app = AppServer(database_url, tmp_path / "app.log",
                    **app_env(fake.url, LOG_LEVEL="WARNING", SEMANTIC_MODEL="off", HTTP_TIMEOUT_SECONDS="2",
                              SEND_DOUBT_SECONDS="600")).start()
    try:
        fake_post(fake, "/_fake/config", {"echo_zalo_to": app.url + "/webhooks/zalo",
                                          "echo_messenger_to": app.url + "/webhooks/facebook"})
        # the platform holds the call until the app has given up on it, then processes it
        fake_post(fake, "/_fake/hold", {"platform": platform, "requests": True, "recipient": "lost-answer"})
        text = "bhxh tự nguyện đóng bao nhiêu"
        r = post_zalo(app, fp.zalo_user_text(text, "lost-answer")) if platform == "zalo" else \
            post_fb(app, fp.messenger_text(text, "lost-answer"))
        assert r.status_code == 200

        def row() -> models.OutboxMessage | None:
            with db_session(app) as session:
                return session.exec(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).first()

        assert wait_for(lambda: (r := row()) is not None and r.in_doubt and r.error_code == "timeout", timeout=120)
        fake_post(fake, "/_fake/hold", {"platform": platform, "requests": False, "recipient": "lost-answer"})
        fake_post(fake, "/_fake/release", {"platform": platform, "deliver": True})
        assert wait_for(lambda: (r := row()) is not None and r.status == "sent" and r.echoed_at is not None,
                        timeout=120)
        def all_rows() -> list[models.OutboxMessage]:
            with db_session(app) as session:
                return session.exec(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).all()

        assert wait_for(lambda: all(r.status == "sent" for r in all_rows()), timeout=60)
        rows = all_rows()
        got = httpx.get(fake.url + "/_fake/sent", params={"recipient": "lost-answer"}).json()
        assert len(got) == len(rows)  # each row once: the first is not repeated
        assert got[0]["text"] == rows[0].payload["text"]
    finally:
        app.stop()
