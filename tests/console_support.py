"""Helpers for the staff console tests: users through the CLI, a logged-in HTTP client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from scripts.console_screenshots import ADMIN, browser_login  # noqa: F401  (the console's users and login, one place)
from tests.conftest import AppServer, Cli

STAFF = ("canbo@bhxh.example.vn", "mat-khau-can-bo-22")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(cli: Cli, email: str, password: str, role: str = "staff"):
    return cli("users", "add", "--role", role, email, input=password + "\n")


def add_default_users(cli: Cli) -> None:
    add_user(cli, *ADMIN, role="admin")
    add_user(cli, *STAFF, role="staff")


@contextmanager
def console_server(database_url: str, tmp_path: Path, cli: Cli, log: str = "app.log", **env: str) -> Iterator[AppServer]:
    """The service in a process of its own with the default console users (`ADMIN`, `STAFF`) and `env` as more
    settings, its log in `tmp_path`/`log`; stopped afterwards."""
    add_default_users(cli)
    server = AppServer(database_url, tmp_path / log, **env).start()
    try:
        yield server
    finally:
        server.stop()


class ConsoleClient:
    """A logged-in browser without JavaScript: over HTTP to `url`, or through `http` (an httpx client such as
    FastAPI's TestClient on the app in this process, which must not follow redirects)."""

    def __init__(self, url: str = "", http: httpx.Client | None = None):
        self.http = http if http is not None else httpx.Client(base_url=url, follow_redirects=False, timeout=30)

    def login(self, email: str, password: str, headers: dict | None = None) -> httpx.Response:
        page = self.http.get("/console/login")
        token = _CSRF.search(page.text).group(1)
        return self.http.post("/console/login", data={"csrf_token": token, "email": email, "password": password,
                                                      "next": "/console/inbox"}, headers=headers or {})

    def csrf(self, path: str = "/console/inbox") -> str:
        page = self.http.get(path)
        assert page.status_code == 200, page.text
        return _CSRF.search(page.text).group(1)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw) -> httpx.Response:
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        return self.http.post(path, data=data, **kw)

    def close(self) -> None:
        self.http.close()


@contextmanager
def console_app(database_url: str, log_path, fake_url: str, cli: Cli, echo_messenger: bool = True, **env: str):
    """The service under uvicorn wired to the fake platforms (their echoes come back to its webhooks), with the
    default console users; stopped afterwards. `env`: settings for this test's app."""
    from tests.test_channels import app_env

    add_default_users(cli)
    server = AppServer(database_url, log_path, **app_env(fake_url, **env)).start()
    echoes = {"echo_zalo_to": server.url + "/webhooks/zalo"}
    if echo_messenger:
        echoes["echo_messenger_to"] = server.url + "/webhooks/facebook"
    httpx.post(fake_url + "/_fake/config", json=echoes)
    try:
        yield server
    finally:
        server.stop()
