"""Shared fixtures: every test that touches storage runs on SQLite and on PostgreSQL, except
those marked `one_database` (the answering engine, the knowledge-base files: storage is not what
they test), which run on SQLite only.

PostgreSQL is taken from TEST_POSTGRES_URL (default: the local server). Outside CI
the PostgreSQL pass is skipped when no server answers; in CI (CI=true) it fails.

Tiers (docs/testing-tiers.md): the default `pytest` runs everything in this process; tests marked
`e2e` (uvicorn processes, the app and the fake platforms over HTTP, two instances, SIGKILL), `browser`
(Chromium), `fuzz` and `slow` (model training) are deselected by default and run by `pytest -m ""` and by
`bash scripts/dev.sh test` (CI). A test that uses the `server` or `browser` fixture is marked
e2e / browser here automatically; one that starts an AppServer itself must carry the mark (AppServer
refuses to start otherwise).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
import traceback
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


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    # storage is not what a `one_database` test tests: it runs on SQLite only (a direct parametrization,
    # seen before the fixture's own two params are applied)
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("one_database"):
        metafunc.definition.add_marker(pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session"))


# fixtures whose use puts a test in a tier of real processes (the `fake` platforms run in a thread of this
# process: the fake's own tests stay in the default tier)
_TIER_FIXTURES = {"server": "e2e", "browser": "browser"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for name, tier in _TIER_FIXTURES.items():
            if name in getattr(item, "fixturenames", ()) and not item.get_closest_marker(tier):
                item.add_marker(getattr(pytest.mark, tier))


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


# commands that run until stopped: always a real process
_LONG_RUNNING = {"serve", "worker"}


class Cli:
    """`bhxh-bot ARGS` as a citizen of the shell runs it: the environment of base_env(database_url, **env),
    the working directory, stdin, and back a CompletedProcess (returncode, stdout, stderr).

    By default the command runs in this process (app.cli.main, see run_in_process: no interpreter start,
    no imports, the shipped model and index built once); `process=True`, or `cli.process(...)` for one
    call, runs the installed `bhxh-bot` script in a process of its own, for what needs one."""

    def __init__(self, database_url: str, cwd: Path, process: bool = False):
        self.database_url = database_url
        self.cwd = cwd
        self.in_process = not process

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None,
                 check: bool = True) -> subprocess.CompletedProcess:
        full_env = base_env(self.database_url, **(env or {}))
        if self.in_process and (not args or args[0] not in _LONG_RUNNING):
            result = run_in_process(list(args), full_env, self.cwd, input)
        else:
            result = subprocess.run([str(BIN), *args], cwd=self.cwd, env=full_env,
                                    capture_output=True, text=True, input=input, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"bhxh-bot {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def process(self, *args: str, **kw) -> subprocess.CompletedProcess:
        """This one call in a process of its own."""
        return Cli(self.database_url, self.cwd, process=True)(*args, **kw)


# --- the CLI in this process ----------------------------------------------------------------------
# What a fresh `bhxh-bot` process would have, restored after each call: the environment, the working
# directory, stdin/stdout/stderr, logging as Python leaves it (no handlers: warnings reach stderr through
# logging.lastResort, as in the script), no cached settings. Database engines made during the call are
# disposed. Two things are shared between calls, both pure functions of their input: the shipped semantic
# model (SEMANTIC_MODEL=auto) and the answering engine built from a given knowledge base and model
# (keyed by app.knowledge.fingerprint, which hashes every entry, parameter, synonym, intent and the office).

_shared_encoders: dict[str, object] = {}
_shared_engines: dict[tuple, object] = {}


def _shared_load_encoder(setting: str):
    from app import semantic

    if setting != "auto":
        return semantic.load_encoder(setting)
    if setting not in _shared_encoders:
        _shared_encoders[setting] = semantic.load_encoder(setting)
    return _shared_encoders[setting]


def _shared_engine(kb, encoder=None, thresholds=None):
    from app.engine import Engine
    from app.knowledge import fingerprint

    if encoder is not None and not any(encoder is e for e in _shared_encoders.values()):
        return Engine(kb, encoder=encoder, thresholds=thresholds)
    key = (fingerprint(kb), id(encoder), thresholds)
    if key not in _shared_engines:
        if len(_shared_engines) >= 8:  # tests that import an edited knowledge base each add one
            _shared_engines.pop(next(iter(_shared_engines)))
        _shared_engines[key] = Engine(kb, encoder=encoder, thresholds=thresholds)
    return _shared_engines[key]


@pytest.fixture(scope="session")
def shipped_engine():
    """The answering engine (app.engine.Engine) over the shipped knowledge base and semantic model, built once
    per session (the same object the in-process `bhxh-bot ask` uses): for tests of answers that need no
    conversation stored. Answer with `shipped_engine.answer(text, Turn(), day=dt.date(2026, 11, 23))`."""
    from app.knowledge import load_directory

    kb, errors = load_directory(ROOT / "knowledge_base")
    assert not errors, errors
    return _shared_engine(kb, _shared_load_encoder("auto"))


def run_in_process(args: list[str], env: dict[str, str], cwd: Path, input: str | None) -> subprocess.CompletedProcess:
    from app import cli as app_cli
    from app import database, service
    from app.settings import get_settings

    out, err = io.StringIO(), io.StringIO()
    engines = []
    make_engine = database.make_engine

    def tracked_make_engine(url: str):
        engine = make_engine(url)
        engines.append(engine)
        return engine

    root = logging.getLogger()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_handlers, saved_level = root.handlers[:], root.level
    saved = (database.make_engine, service.Engine, service.load_encoder)
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(input or ""), out, err
        root.handlers[:] = []
        root.setLevel(logging.WARNING)
        get_settings.cache_clear()
        database.make_engine, service.Engine, service.load_encoder = tracked_make_engine, _shared_engine, \
            _shared_load_encoder
        try:
            code = app_cli.main(args)
        except SystemExit as exc:  # argparse's usage errors (2), sys.exit("message")
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:  # as the interpreter reports an uncaught exception
            traceback.print_exc()
            code = 1
    finally:
        database.make_engine, service.Engine, service.load_encoder = saved
        get_settings.cache_clear()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for engine in engines:
            with contextlib.suppress(Exception):
                engine.dispose()
    return subprocess.CompletedProcess([str(BIN), *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(database_url, tmp_path) -> Cli:
    return Cli(database_url, ROOT)


_current_item: list = [None]


@pytest.fixture(autouse=True)
def _tier_guard(request):
    """Lets AppServer refuse to start in a test that is not marked e2e (it would slow the default tier)."""
    _current_item[0] = request.node
    yield
    _current_item[0] = None


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
        item = _current_item[0]
        if item is not None and not item.get_closest_marker("e2e"):
            raise AssertionError(f"{item.nodeid} starts the service under uvicorn: mark it @pytest.mark.e2e "
                                 "(docs/testing-tiers.md)")
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


@pytest.fixture
def platforms(fake):
    """The fake platforms, under the name the console tests use."""
    return fake


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


@pytest.fixture
def page(browser):
    """A desktop-sized page in Vietnamese, waiting up to 20 s for what a test expects (a test file may
    define its own `page` for another viewport)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()
