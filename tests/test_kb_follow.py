"""A knowledge-base change made through one instance's console reaches the other instances and the
separate worker (`bhxh-bot worker`) without a restart; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import httpx
import pytest

from tests.conftest import BIN, ROOT, AppServer, base_env
from tests.console_support import ADMIN, ConsoleClient, add_default_users
from tests.test_channels import TOKEN, app_env, sent, wait_for
from tests.test_console_kb_csv import to_csv

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

pytestmark = pytest.mark.e2e

QUESTION = "bảo hiểm xã hội tự nguyện là gì, ai được tham gia"
MARKER = "Nội dung mới do quản trị viên xuất bản trên một máy chủ khác."


def ask(app: AppServer) -> str:
    r = httpx.post(app.url + "/api/v1/ask", json={"text": QUESTION}, headers={"Authorization": f"Bearer {TOKEN}"},
                   timeout=60)
    assert r.status_code == 200 and r.json()["entry_id"] == "vtn-khai-niem"
    return r.json()["reply"]


def messenger_reply(app: AppServer, fake, user: str) -> str:
    raw, headers = fp.messenger_signed(fp.messenger_text(QUESTION, user, mid=f"m_{user}"))
    assert httpx.post(app.url + "/webhooks/facebook", content=raw, headers=headers, timeout=30).status_code == 200
    replies = wait_for(lambda: sent(fake, user), timeout=60)
    assert replies, f"{user} got no reply"
    return "\n".join(m["text"] for m in replies)


def with_marker(exported: bytes) -> bytes:
    reader = csv.DictReader(io.StringIO(exported.decode("utf-8-sig")))
    rows = list(reader)
    for row in rows:
        if row["id"] == "vtn-khai-niem":
            row["answer"] += "\n" + MARKER
    return to_csv(rows, reader.fieldnames)


def test_a_console_edit_reaches_the_other_instance_and_the_worker(database_url, tmp_path, cli, fake):
    add_default_users(cli)
    # the docker-compose layout: web instances that do not answer webhooks themselves, and a worker
    env = app_env(fake.url, SHARED_DATABASE="true", RUN_WORKERS="false", KB_POLL_SECONDS="0.5")
    console = AppServer(database_url, tmp_path / "console.log", **env).start()
    other = AppServer(database_url, tmp_path / "other.log", **env).start()
    worker_log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen([str(BIN), "worker", "--poll", "0.1"], cwd=ROOT, env=base_env(database_url, **env),
                              stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        # both have the published answer loaded before the edit
        assert MARKER not in ask(other)
        assert MARKER not in messenger_reply(other, fake, "follow-before")

        admin = ConsoleClient(console.url)
        admin.login(*ADMIN)
        exported = admin.get("/console/kb/export.csv")
        assert exported.status_code == 200
        imported = admin.post("/console/kb/import", files={"file": ("kb.csv", with_marker(exported.content), "text/csv")})
        assert imported.status_code == 200, imported.text
        assert MARKER in ask(console)  # the instance that made the edit answers from it at once

        assert wait_for(lambda: MARKER in ask(other), timeout=30, interval=0.5), "the other instance kept the old answer"
        # the worker polls on its own schedule (KB_POLL_SECONDS): ask again, as a new citizen each time, until it
        # has followed; a slow machine only makes it take longer
        tries = iter(range(1000))
        assert wait_for(lambda: MARKER in messenger_reply(other, fake, f"follow-after-{next(tries)}"), timeout=90,
                        interval=0.5), "the worker kept the old answer"
        admin.close()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()
        other.stop()
        console.stop()
    assert "reloading" in (tmp_path / "worker.log").read_text()
