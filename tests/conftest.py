"""Shared fixtures: every test that touches storage runs on SQLite and on PostgreSQL.

PostgreSQL is taken from TEST_POSTGRES_URL (default: the local server). Outside CI
the PostgreSQL pass is skipped when no server answers; in CI (CI=true) it fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "bhxh-bot"
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# A test that edits a knowledge base would otherwise queue a training of the semantic model, and a server
# or worker would run it; tests/test_model_retraining.py turns it on where it is the subject
os.environ.setdefault("MODEL_RETRAIN", "false")


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_URL, connect_timeout=3, autocommit=True)


def _pg_reachable() -> bool:
    try:
        with _pg_admin():
            return True
    except Exception:
        return False


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request) -> str:
    if request.param == "postgresql" and not _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}; CI must run the PostgreSQL pass")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    return request.param


@pytest.fixture
def database_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'bhxh.db'}"
        return
    name = f"bhxh_test_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "ANSWER_DATE"))}
    # figures are asserted as on a fixed day, so the suite gives the same result every day
    env.update(DATABASE_URL=database_url, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONIOENCODING="utf-8",
               ANSWER_DATE="2026-11-23")
    env.update(extra)
    return env


class Cli:
    def __init__(self, database_url: str, cwd: Path):
        self.database_url = database_url
        self.cwd = cwd

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None,
                 check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BIN), *args], cwd=self.cwd, env=base_env(self.database_url, **(env or {})),
                                capture_output=True, text=True, input=input, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"bhxh-bot {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture
def cli(database_url, tmp_path) -> Cli:
    return Cli(database_url, ROOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """The real service under uvicorn on a loopback port, in its own process."""

    def __init__(self, database_url: str, log_path: Path, **env: str):
        self.database_url = database_url
        self.log_path = log_path
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> AppServer:
        log = open(self.log_path, "a")  # noqa: SIM115 - closed when the process ends
        self.proc = subprocess.Popen([str(BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port)], cwd=ROOT,
                                     env=base_env(self.database_url, **self.env), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server exited:\n" + self.log_path.read_text())
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.proc.kill()
        raise AssertionError("server did not start:\n" + self.log_path.read_text())

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None


@pytest.fixture
def server(database_url, tmp_path):
    token = "test-admin-token"
    app = AppServer(database_url, tmp_path / "server.log", ADMIN_API_TOKEN=token).start()
    yield {"url": app.url, "token": token, "database_url": database_url, "log": app.log_path}
    app.stop()


@pytest.fixture
def fake():
    """The fake Zalo and Meta platforms (scripts/fake_platforms.py) on a loopback port, without rate limits."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import fake_platforms as fp

    with fp.FakePlatformsServer(fp.FakeConfig(zalo_rps=0, messenger_rps=0)) as server:
        yield server


# --- a real headless browser (Debian's chromium driven by Playwright; nothing is downloaded) ---

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture
def browser():
    """One browser per test: Playwright's sync API keeps an event loop running while it is open, which
    would break later tests that call asyncio.run() if the browser lived for the whole session."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; scripts/dev.sh test installs it (apt-get install chromium)")
        pytest.skip(f"no browser at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()
