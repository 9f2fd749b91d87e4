"""The console's access rules hold on every route, found by enumerating the app's routes, so that a new
route cannot forget them: not logged in, a redirect to the login page (401 for the JSON API); staff refused
(403) everywhere but the inbox and conversations; a province's admin refused on what every province shares;
every POST but the login refused (403, nothing done) without the session's CSRF token. The rules are the
dependencies of app/console/deps.py, required once per area router (app/console/routers/).

In process (ASGI): what is tested is the routing and its dependencies, not storage."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app import models
from app.api import create_app
from app.console import auth
from app.service import Runtime
from app.settings import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.one_database

PASSWORD = "mot-mat-khau-dai-1"
# (method, path) a visitor who is not logged in may use
PUBLIC = {("GET", "/console"), ("GET", "/console/"), ("GET", "/console/static/{name}"), ("GET", "/console/login"),
          ("POST", "/console/login")}
# what staff may use (admins too); every other route is for admins
STAFF = re.compile(r"^/console/(inbox|inbox/rows|api/escalations|api/canned/\{entry_id\}|logout"
                   r"|conversations/\{conversation_id\}(/[a-z]+)?)$")
# what an admin of one province may use beside the staff's; every other route is for admins of every province
PROVINCE_ADMIN = re.compile(r"^/console/(dashboard|dashboard\.csv|parameters)$")
STALE = "Trang này đã cũ"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """The app (without its lifespan: no workers), a conversation, and logged-in clients: staff, an admin of
    one province, an admin of every province (each with their CSRF token)."""
    db = tmp_path_factory.mktemp("access") / "bhxh.db"
    settings = Settings(database_url=f"sqlite:///{db}", run_workers=False, kb_poll_seconds=0,
                        knowledge_base_dir=ROOT / "knowledge_base")
    runtime = Runtime.start(settings, load_model=False)
    app = create_app(settings, runtime)
    with Session(runtime.db) as session:
        conv = models.Conversation(channel="zalo", external_id="access-1", last_inbound_at=models.utcnow())
        session.add(conv)
        session.flush()
        msg = models.Message(conversation_id=conv.id, direction="in", author="citizen", text="câu hỏi thử",
                             outcome="escalated", score=0.2, candidates=[])
        session.add(msg)
        session.flush()
        session.add(models.Escalation(conversation_id=conv.id, message_id=msg.id, kind="escalated"))
        session.commit()
        conversation_id = conv.id
    clients = {}
    for who, role, province in (("staff", "staff", None), ("province_admin", "admin", "hn"),
                                ("admin", "admin", None)):
        email = f"{who.replace('_', '-')}@bhxh.example.vn"
        user = auth.create_user(runtime.db, email, role, PASSWORD, province=province)
        done = auth.login(runtime.db, settings, email, PASSWORD, "127.0.0.1")
        client = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                            cookies={"bhxh_console": done.token})
        clients[who] = (client, done.csrf_token, user.id)
    entry_id = sorted(runtime.engine.kb.entries)[0]
    values = {"conversation_id": str(conversation_id), "entry_id": entry_id, "version_id": "1",
              "user_id": str(clients["staff"][2]), "name": "console.css"}
    anonymous = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    return app, runtime, clients, anonymous, values


def routes(app) -> list[tuple[str, str]]:
    """Every console route as (method, path pattern)."""
    found = [(method, c.path) for c in iter_route_contexts(app.routes) if c.path and c.path.startswith("/console")
             for method in sorted(c.methods or ()) if method != "HEAD"]
    assert len(found) > 40, found  # the whole console, not a part of it
    return found


def address(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def changes(runtime) -> tuple[int, int, int]:
    """What a refused request must not have changed: the audit log, the messages, the sessions."""
    with Session(runtime.db) as session:
        return tuple(session.exec(select(func.count()).select_from(table)).one()
                     for table in (models.AuditLog, models.Message, models.StaffSession))


def test_every_route_needs_a_login(console):
    app, _, _, anonymous, values = console
    for method, path in routes(app):
        if (method, path) in PUBLIC:
            continue
        r = anonymous.request(method, address(path, values))
        if path.startswith("/console/api/"):
            assert r.status_code == 401 and r.json() == {"detail": "Chưa đăng nhập."}, (method, path, r.text)
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next="), (method, path)


def test_staff_are_refused_everywhere_but_the_inbox_and_conversations(console):
    app, runtime, clients, _, values = console
    staff, csrf, _ = clients["staff"]
    before = changes(runtime)
    checked = 0
    for method, path in routes(app):
        if (method, path) in PUBLIC or STAFF.match(path):
            continue
        # with the staff member's own CSRF token: the role is what refuses
        r = staff.request(method, address(path, values), data={"csrf_token": csrf} if method == "POST" else None)
        assert r.status_code == 403, (method, path, r.status_code)
        text = r.json()["detail"] if path.startswith("/console/api/") else r.text
        assert "chỉ dành cho quản trị viên" in text, (method, path, text)
        checked += 1
    assert checked > 25
    assert changes(runtime) == before
    for method, path in routes(app):
        if method == "GET" and STAFF.match(path):
            assert staff.get(address(path, values)).status_code == 200, path


def test_an_admin_of_one_province_is_refused_what_every_province_shares(console):
    app, runtime, clients, _, values = console
    admin, csrf, _ = clients["province_admin"]
    before = changes(runtime)
    for method, path in routes(app):
        if (method, path) in PUBLIC or STAFF.match(path):
            continue
        r = admin.request(method, address(path, values), data={"csrf_token": csrf} if method == "POST" else None)
        if PROVINCE_ADMIN.match(path):
            if method == "GET":
                assert r.status_code == 200, (method, path, r.status_code)
            continue
        assert r.status_code == 403, (method, path, r.status_code)
        text = r.json()["detail"] if path.startswith("/console/api/") else r.text
        assert "cấp toàn quốc (mọi tỉnh)" in text, (method, path, text)
    assert changes(runtime) == before


@pytest.mark.parametrize("token", [None, "gia-mao"], ids=["missing", "wrong"])
def test_every_post_refuses_a_missing_or_wrong_csrf_token(console, token):
    app, runtime, clients, _, values = console
    admin, _, _ = clients["admin"]
    before = changes(runtime)
    posts = [path for method, path in routes(app) if method == "POST" and (method, path) not in PUBLIC]
    assert len(posts) > 15, posts
    for path in posts:
        form = {"text": "trả lời thử", "email": "moi@bhxh.example.vn", "role": "staff", "password": PASSWORD,
                "entry_id": values["entry_id"], "question": "câu hỏi mới", "action": "save"}
        headers = {}
        if token:
            headers["X-CSRF-Token"] = token
        r = admin.post(address(path, values), data=form, headers=headers)
        assert r.status_code == 403, (path, r.status_code, r.text[:300])
        text = r.json()["detail"] if path.startswith("/console/api/") else r.text
        assert STALE in text, (path, text[:300])
    assert changes(runtime) == before  # nothing done, and still logged in
    assert admin.get("/console/inbox").status_code == 200


def test_a_stale_reply_to_a_conversation_the_user_cannot_see_is_refused_like_any_form(console):
    """A reply or note with a stale token comes back in the conversation page; without a page to come back to
    (no such conversation, or another province's) it is the same 403 as any other form, not a server error."""
    _, runtime, clients, _, values = console
    staff, _, _ = clients["staff"]
    before = changes(runtime)
    for name in ("reply", "note"):
        r = staff.post(f"/console/conversations/{values['conversation_id']}/{name}", data={"text": "chữ đã gõ"})
        assert r.status_code == 403 and STALE in r.text and "chữ đã gõ" in r.text, name
        r = staff.post(f"/console/conversations/999999/{name}", data={"text": "chữ đã gõ"})
        assert r.status_code == 403 and STALE in r.text, (name, r.status_code)
    assert changes(runtime) == before
