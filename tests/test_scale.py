"""Several instances on one database, and citizens who flood: nothing lost, nothing answered twice."""

from __future__ import annotations

import asyncio
import os
import random
import sys

import httpx
import pytest
from sqlmodel import func, select

from app import models
from tests.conftest import ROOT, AppServer
from tests.test_channels import app_env, db_session, sent, wait_for

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

pytestmark = pytest.mark.e2e

MESSAGES = int(os.environ.get("SCALE_TEST_MESSAGES", "2000"))


async def _send_all(jobs: list[tuple[str, bytes, dict[str, str]]]) -> list[int]:
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        gate = asyncio.Semaphore(32)

        async def post(url: str, raw: bytes, headers: dict[str, str]) -> int:
            async with gate:
                for _ in range(3):
                    try:
                        return (await client.post(url, content=raw, headers=headers)).status_code
                    except httpx.TransportError:
                        # a kept-alive connection the server closed as we reused it: the platforms
                        # deliver again, and so do we
                        await asyncio.sleep(0.5)
                return 0

        return await asyncio.gather(*(post(*job) for job in jobs))


def _all_sent(fake) -> list[dict]:
    return httpx.get(fake.url + "/_fake/sent", timeout=60).json()


def test_two_instances_answer_every_message_exactly_once(database_url, tmp_path, fake):
    env = app_env(fake.url, SHARED_DATABASE="true", LOG_LEVEL="WARNING")
    instances = [AppServer(database_url, tmp_path / f"app{i}.log", **env).start() for i in range(2)]
    try:
        rng = random.Random(11)
        texts = ["bhxh tu nguyen dong bao nhieu 1 thang", "mức đóng bhyt hộ gia đình", "rut bhxh 1 lan co thiet khong",
                 "hssv dong bhyt o dau", "xin chao", "cho gap can bo"]
        jobs = []
        for i in range(MESSAGES):
            user = f"scale{i:05d}"
            if i % 2:
                raw, headers = fp.zalo_signed(fp.zalo_user_text(rng.choice(texts), user, msg_id=f"scale-{i}"))
                path = "/webhooks/zalo"
            else:
                raw, headers = fp.messenger_signed(fp.messenger_text(rng.choice(texts), user, mid=f"m_scale-{i}"))
                path = "/webhooks/facebook"
            jobs.append((instances[i % 2].url + path, raw, headers))
            if i % 10 == 0:  # the platform retries, and the retry lands on the other instance
                jobs.append((instances[(i + 1) % 2].url + path, raw, headers))
        statuses = asyncio.run(_send_all(jobs))
        assert set(statuses) == {200}

        users = {f"scale{i:05d}" for i in range(MESSAGES)}

        def answered() -> bool:
            return len({m["recipient"] for m in _all_sent(fake)} & users) == MESSAGES

        assert wait_for(answered, timeout=600, interval=2.0), "some citizens got no reply"
        wait_for(lambda: False, timeout=3)  # late duplicates would show up meanwhile
        by_user: dict[str, list[str]] = {}
        for m in _all_sent(fake):
            if m["recipient"] in users:
                by_user.setdefault(m["recipient"], []).append(m["text"])
        duplicated = [u for u, replies in by_user.items() if len(set(replies)) < len(replies)]
        assert not duplicated, f"{len(duplicated)} citizens got a reply twice, e.g. {duplicated[:3]}"
        with db_session(instances[0]) as session:
            events = session.exec(select(models.InboundRecord.status, func.count()).group_by(models.InboundRecord.status)).all()
            assert dict(events) == {"done": MESSAGES}
            citizen_messages = session.exec(select(func.count()).select_from(models.Message)
                                            .where(models.Message.author == "citizen")).one()
            assert citizen_messages == MESSAGES
            unsent = session.exec(select(func.count()).select_from(models.OutboxMessage)
                                  .where(models.OutboxMessage.status != "sent")).one()
            assert unsent == 0
            # every platform message we sent was sent once: as many sends at the fake as outbox rows
            rows = session.exec(select(func.count()).select_from(models.OutboxMessage)).one()
            assert rows == sum(len(r) for r in by_user.values())
    finally:
        for app in instances:
            app.stop()


def test_a_flooding_citizen_gets_one_notice_and_nothing_is_lost(database_url, tmp_path, fake):
    app = AppServer(database_url, tmp_path / "app.log", **app_env(fake.url, CITIZEN_MESSAGES_PER_MINUTE="3")).start()
    try:
        texts = [f"bhxh tu nguyen dong bao nhieu lan {i}" for i in range(8)]
        for i, text in enumerate(texts):
            raw, headers = fp.zalo_signed(fp.zalo_user_text(text, "flooder", msg_id=f"flood-{i}"))
            assert httpx.post(app.url + "/webhooks/zalo", content=raw, headers=headers).status_code == 200
        calm_raw, calm_headers = fp.zalo_signed(fp.zalo_user_text("bhyt hssv", "calm", msg_id="calm-1"))
        assert httpx.post(app.url + "/webhooks/zalo", content=calm_raw, headers=calm_headers).status_code == 200

        def flood_done():
            with db_session(app) as session:
                return session.exec(select(func.count()).select_from(models.InboundRecord)
                                    .where(models.InboundRecord.status == "done")).one() == 9

        assert wait_for(flood_done, timeout=60)
        wait_for(lambda: len(sent(fake, "calm")) > 0, timeout=30)
        wait_for(lambda: False, timeout=2)
        replies = [m["text"] for m in sent(fake, "flooder")]
        notices = [t for t in replies if "nhiều tin nhắn trong thời gian ngắn" in t]
        assert len(notices) == 1
        answers = [t for t in replies if t not in notices]
        assert 3 <= len(answers) <= 3 * 4  # three answered turns (an answer may be split into parts)
        assert sent(fake, "calm"), "another citizen is not held up by the flood"
        with db_session(app) as session:
            stored = session.exec(select(models.Message.text).where(models.Message.author == "citizen")
                                  .join(models.Conversation)
                                  .where(models.Conversation.external_id == "flooder")).all()
        assert sorted(stored) == sorted(texts)  # every message is kept for staff
    finally:
        app.stop()
