"""Issue 13's console safety work over HTTP, against the real service under uvicorn, on SQLite and
PostgreSQL: one source for the console's headers and limits; no silent pause; test escalations kept
apart; login throttling that cannot lock staff out. Citizens write through the real webhooks of the
fake Zalo and Messenger platforms."""

from __future__ import annotations

import html
import sys

import httpx
import pytest

from app import middleware
from tests.conftest import ROOT, AppServer
from tests.console_support import ADMIN, ConsoleClient, add_default_users

sys.path.insert(0, str(ROOT / "scripts"))


def logged_in(server, email: str, password: str, **headers: str) -> ConsoleClient:
    client = ConsoleClient(server.url)
    r = client.login(email, password, headers=headers or None)
    assert r.status_code == 303 and r.headers["location"] == "/console/inbox", r.text
    return client


def text_of(r: httpx.Response) -> str:
    return html.unescape(r.text)


# --- one source for headers and limits ---------------------------------------------------------


@pytest.fixture
def plain_app(database_url, tmp_path, cli):
    add_default_users(cli)
    server = AppServer(database_url, tmp_path / "app.log", UPLOAD_MAX_BYTES=str(7 * 1024 * 1024)).start()
    yield server
    server.stop()


def readme_promises() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_console_pages_send_the_headers_the_middleware_and_readme_promise(plain_app):
    admin = logged_in(plain_app, *ADMIN)
    readme = readme_promises()
    for client, path in ((ConsoleClient(plain_app.url), "/console/login"), (admin, "/console/inbox"),
                         (admin, "/console/kb/import"), (admin, "/console/inbox/rows")):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        # exactly once each: the console no longer sends its own, weaker copy
        assert r.headers.get_list("content-security-policy") == [middleware.HTML_CSP], path
        assert r.headers.get_list("referrer-policy") == ["no-referrer"], path
        assert r.headers.get_list("x-frame-options") == ["DENY"], path
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], path
        assert r.headers["cache-control"] == "no-store", path
        csp = r.headers["content-security-policy"]
        for directive in ("object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
                          "script-src 'self'"):
            assert directive in csp, (path, directive)
    # the README's table names what the browser receives
    assert "`Referrer-Policy: no-referrer`" in readme and "`X-Frame-Options: DENY`" in readme
    assert "`object-src 'none'`" in readme and "`base-uri 'none'`" in readme
    # a JSON answer of the console: the middleware's policy for non-HTML, still not cached
    api = admin.get("/console/api/escalations")
    assert api.headers["content-security-policy"] == middleware.OTHER_CSP
    assert api.headers["referrer-policy"] == "no-referrer" and api.headers["cache-control"] == "no-store"


def test_console_uploads_follow_upload_max_bytes(plain_app):
    from app.settings import Settings

    assert Settings().upload_max_bytes == 10 * 1024 * 1024  # the documented default
    admin = logged_in(plain_app, *ADMIN)

    def upload(size: int) -> httpx.Response:
        fields = {"csrf_token": admin.csrf("/console/kb/import"), "dry_run": "1"}
        return admin.http.post("/console/kb/import-files", data=fields,
                               files={"file": ("kb.zip", b"x" * size, "application/zip")})

    # 6 MB: over the old hard-coded 5 MB, under UPLOAD_MAX_BYTES (7 MB here): read and checked
    accepted = upload(6 * 1024 * 1024)
    assert accepted.status_code == 400, accepted.text[:300]
    assert "quá lớn" not in text_of(accepted) and "zip" in text_of(accepted).lower()
    # over UPLOAD_MAX_BYTES: refused before it is read
    assert upload(7 * 1024 * 1024 + 1).status_code == 413
    # an ordinary form keeps the small MAX_REQUEST_BYTES limit
    big_note = admin.post("/console/users", {"email": "x" * (70 * 1024), "role": "staff", "password": "y" * 12})
    assert big_note.status_code == 413
