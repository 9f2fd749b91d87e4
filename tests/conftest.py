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


@pytest.fixture
def server(database_url, tmp_path):
    """The real service under uvicorn on a loopback port."""
    port = free_port()
    token = "test-admin-token"
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                            env=base_env(database_url, ADMIN_API_TOKEN=token), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("server exited:\n" + (tmp_path / "server.log").read_text())
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("server did not start:\n" + (tmp_path / "server.log").read_text())
    yield {"url": url, "token": token, "database_url": database_url, "log": tmp_path / "server.log"}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
