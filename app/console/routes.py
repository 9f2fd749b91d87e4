"""Console HTTP routes: thin. Access checks, CSRF and form parsing here; the work is in
app.console.auth and app.console.inbox."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session

from app import retrain
from app.console import auth, dashboard, inbox, kbcsv, kbedit, kbfiles, params, unanswered, wording
from app.console.auth import Current
from app.delivery import NoSuchConversation, WindowClosed
from app.knowledge import RenderError

HERE = Path(__file__).resolve().parent
STATIC = {p.name: p for p in (HERE / "static").iterdir() if p.is_file()}
COOKIE = "bhxh_console"
LOGIN_COOKIE = "bhxh_login_csrf"
DEVICE_COOKIE = "bhxh_device"  # this browser logged in to this account before (auth.device_token)
# Only what the console adds to app.middleware.SecurityHeaders, which sets every security header
# (Content-Security-Policy, Referrer-Policy, X-Frame-Options, ...) in one place for the whole app.
# Body limits come from the settings (MAX_REQUEST_BYTES, UPLOAD_MAX_BYTES), enforced by app.middleware.BodyLimit.
SECURITY_HEADERS = {"Cache-Control": "no-store"}

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
templates.filters["json_vi"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
templates.globals["short"] = inbox.short
templates.globals["local"] = inbox.local  # Vietnam time (UTC+7), as every time staff read


class Denied(Exception):
    def __init__(self, response: Response):
        self.response = response


STALE = ("Trang này đã cũ (bạn đã đăng nhập lại hoặc phiên làm việc đã đổi) nên chưa thực hiện được. "
         "Nội dung bạn đã nhập vẫn được giữ: kiểm tra rồi bấm gửi lại.")


class Stale(Denied):
    """A form posted with a CSRF token that is not the session's (a page left open past a re-login):
    nothing is done. A conversation's reply form comes back with what was typed; elsewhere an error page
    (the browser keeps the typed text too: static/console.js)."""

    def __init__(self, request: Request, cur: Current, form: dict):
        super().__init__(_error(request, 403, STALE, cur))
        self.cur, self.form = cur, form


def _html(name: str, request: Request, status: int = 200, cur: Current | None = None, **ctx) -> HTMLResponse:
    body = templates.get_template(name).render(request=request, me=cur.user if cur else None,
                                               csrf=cur.csrf_token if cur else "", **ctx)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/console/api/") or "application/json" in request.headers.get("accept", "")


def _error(request: Request, status: int, message: str, cur: Current | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=SECURITY_HEADERS)
    return _html("error.html", request, status, cur, message=message)


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.app.state.settings.console_secure_cookies


def _state(request: Request):
    return request.app.state


def _user(request: Request, role: str = "staff") -> Current:
    """The logged-in user, or Denied: a redirect to the login page (or 401 for the API) when not
    logged in, 403 when the role is not enough. `national`: an admin of every province (no province)."""
    cur = auth.current(_state(request).runtime.db, request.cookies.get(COOKIE))
    if cur is None:
        if _wants_json(request):
            raise Denied(JSONResponse({"detail": "Chưa đăng nhập."}, status_code=401, headers=SECURITY_HEADERS))
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            nxt = _form_page(request.url.path)  # back to the form, where the typed text is restored
        query = {"next": nxt, "expired": "1" if request.cookies.get(COOKIE) else ""}
        raise Denied(RedirectResponse("/console/login?" + urlencode({k: v for k, v in query.items() if v}),
                                      status_code=303))
    if role in ("admin", "national") and not cur.is_admin:
        raise Denied(_error(request, 403, "Bạn không có quyền truy cập trang này (chỉ dành cho quản trị viên).", cur))
    if role == "national" and cur.user.province is not None:
        # the knowledge base, users and the audit log are shared by every province
        raise Denied(_error(request, 403, "Trang này chỉ dành cho quản trị viên cấp toàn quốc (mọi tỉnh).", cur))
    return cur


def _form_page(path: str) -> str:
    """The page whose form posts to `path`: a conversation's actions come from the conversation page,
    the other forms from the page at their own address (or its parent)."""
    parts = path.rstrip("/").split("/")  # ["", "console", ...]
    if len(parts) >= 4 and parts[2] == "conversations" and parts[3].isdigit():
        return "/".join(parts[:4])
    if len(parts) >= 3 and parts[2] == "users":
        return "/console/users"  # /users/N and /users/N/unlock
    if len(parts) >= 3 and parts[2] == "unanswered":
        return "/console/unanswered"  # /unanswered/add, /unanswered/decision
    if len(parts) >= 5 and parts[2] == "kb" and parts[-2] == "rollback":
        return "/".join(parts[:4]) + "/history"
    if path == "/console/kb/import-files":
        return "/console/kb/import"
    if path == "/console/logout":
        return "/console/inbox"
    return path


def _limit(request: Request, upload: bool = False) -> int:
    """The body limit of a console form (MAX_REQUEST_BYTES) or upload (UPLOAD_MAX_BYTES), from the settings."""
    settings = request.app.state.settings
    return settings.upload_max_bytes if upload else settings.max_request_bytes


def _size(n: int) -> str:
    """A byte count for staff: "10 MB", "64 KB"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB".replace(".", ",")
    return f"{max(1, n // 1024)} KB"


async def _form(request: Request, limit: int | None = None) -> dict:
    """The request's fields: URL-encoded, JSON or multipart (an uploaded file's field holds bytes)."""
    limit = limit or _limit(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Denied(_error(request, 413, f"Nội dung gửi lên quá lớn (tối đa {_size(limit)})."))
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Denied(_error(request, 413, f"Nội dung gửi lên quá lớn (tối đa {_size(limit)})."))
    ctype = request.headers.get("content-type", "")
    if body and "application/json" in ctype:
        try:
            data = json.loads(body)
        except ValueError:
            raise Denied(_error(request, 400, "Dữ liệu JSON không hợp lệ.")) from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    if "multipart/form-data" in ctype:
        return _multipart(body, ctype)
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def _multipart(body: bytes, ctype: str) -> dict:
    """multipart/form-data with the standard library's MIME parser (no extra dependency)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)
    fields: dict = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if part.get_filename() is not None else payload.decode("utf-8", errors="replace")
    return fields


async def _post(request: Request, role: str = "staff", upload: bool = False) -> tuple[Current, dict]:
    """A state-changing request: logged in, the right role, and the session's CSRF token in the
    form field `csrf_token` or the `X-CSRF-Token` header."""
    cur = await run_in_threadpool(_user, request, role)
    form = await _form(request, _limit(request, upload))
    given = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not auth.csrf_ok(cur.csrf_token, given):
        raise Stale(request, cur, form)
    return cur, form


def _page(request: Request) -> int:
    """The page a list shows (?page=, from 1)."""
    value = request.query_params.get("page", "1")
    return min(int(value), 10_000) if value.isdigit() and int(value) > 0 else 1


def _pager(path: str, params: dict[str, str], page: int, more: bool) -> dict:
    """Links to the previous and next pages of a list, keeping its filters."""
    def link(n: int) -> str:
        return path + "?" + urlencode({**{k: v for k, v in params.items() if v and k != "page"}, "page": str(n)})
    return {"page": page, "prev": link(page - 1) if page > 1 else "", "next": link(page + 1) if more else ""}


def _back(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/inbox"


def _province_choices(request: Request, cur: Current) -> dict[str, str]:
    """The provinces an all-province user may pick on a page (code: name); none for a province's user or
    a one-province deployment."""
    provinces = _state(request).runtime.provinces
    return {} if provinces.single or cur.user.province else provinces.labels()


def _answers_for(request: Request, cur: Current, chosen: str | None):
    """The province whose citizens' answers a page shows (app.provinces.Province; None: the national values
    and office.yaml): a province's user always their own; an all-province user the one chosen (`chosen`,
    empty: national). An unknown choice is a 400 naming the configured provinces."""
    provinces = _state(request).runtime.provinces
    if cur.user.province:
        return provinces.get(cur.user.province)
    if not chosen:
        return None
    try:
        return provinces.get(auth.check_province(provinces, chosen))
    except auth.UserError as exc:
        raise Denied(_error(request, 400, str(exc), cur)) from None


def build_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    def guarded(fn):
        """Turn Denied into its response."""
        import functools

        if _is_async(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args, **kwargs):
                try:
                    return await fn(*args, **kwargs)
                except Denied as d:
                    return d.response
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Denied as d:
                return d.response
        return wrapper

    # --- static files (vendored, served by the app: no CDN) --------------------------------

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        path = STATIC.get(name)
        if path is None:
            return Response("not found", status_code=404)
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})

    # --- login and logout ---------------------------------------------------------------------

    @router.get("")
    @router.get("/")
    def home() -> Response:
        return RedirectResponse("/console/inbox", status_code=303)

    def login_page(request: Request, status: int = 200, error: str = "", email: str = "", nxt: str = "") -> Response:
        token = secrets.token_urlsafe(32)
        response = _html("login.html", request, status, error=error, email=email, login_csrf=token,
                         expired=request.query_params.get("expired") == "1",
                         next=_safe_next(nxt or request.query_params.get("next")))
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                            path="/console/login")
        return response

    @router.get("/login")
    def login_form(request: Request) -> Response:
        return login_page(request)

    @router.post("/login")
    async def login_submit(request: Request) -> Response:
        try:
            form = await _form(request)
        except Denied as d:
            return d.response
        email, nxt = form.get("email", ""), form.get("next", "")
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not auth.csrf_ok(expected, form.get("csrf_token")):
            return login_page(request, 403, "Phiên đăng nhập đã hết hạn hoặc thiếu mã CSRF. Vui lòng đăng nhập lại.",
                              email, nxt)
        state = _state(request)
        try:
            done = await run_in_threadpool(auth.login, state.runtime.db, state.settings, email, form.get("password", ""),
                                           _ip(request), request.cookies.get(DEVICE_COOKIE))
        except auth.Throttled as exc:
            response = login_page(request, 429, str(exc), email, nxt)
            response.headers["Retry-After"] = str(exc.seconds)
            return response
        if done is None:
            return login_page(request, 401, "Sai e-mail hoặc mật khẩu.", email, nxt)
        response = RedirectResponse(_safe_next(nxt), status_code=303)
        response.set_cookie(COOKIE, done.token, httponly=True, samesite="lax", secure=_secure(request), path="/console",
                            max_age=int(state.settings.console_session_hours * 3600))
        response.delete_cookie(LOGIN_COOKIE, path="/console/login")
        response.set_cookie(DEVICE_COOKIE, done.device, httponly=True, samesite="strict", secure=_secure(request),
                            path="/console/login", max_age=180 * 24 * 3600)
        return response

    @router.post("/logout")
    @guarded
    async def logout(request: Request) -> Response:
        await _post(request)
        await run_in_threadpool(auth.logout, _state(request).runtime.db, request.cookies.get(COOKIE))
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # --- inbox ----------------------------------------------------------------------------------

    def filters(request: Request) -> dict[str, str]:
        q = request.query_params
        status = q.get("status", "open")
        return {"status": status if status in inbox.STATUSES else "open", "channel": q.get("channel", ""),
                "topic": q.get("topic", ""), "province": q.get("province", ""),
                "tests": "1" if q.get("tests") == "1" else "", "page": str(_page(request))}

    def items(request: Request, cur: Current, f: dict[str, str], paged: bool = True) -> list[inbox.InboxItem]:
        """The filtered inbox: one page of it (and one row more, saying there is a next page), or all."""
        state = _state(request)
        size = inbox.PAGE_SIZE
        page = {"limit": size + 1, "offset": (int(f["page"]) - 1) * size} if paged else {}
        return inbox.inbox(state.runtime.db, state.runtime.engine.kb, state.settings, cur.user.id,
                           **{k: v for k, v in f.items() if k not in ("tests", "page")}, tests=f["tests"] == "1",
                           scope=cur.user.province, **page)

    @router.get("/inbox")
    @guarded
    def inbox_page(request: Request) -> Response:
        cur = _user(request)
        f = filters(request)
        state = _state(request)
        rows = items(request, cur, f)
        return _html("inbox.html", request, cur=cur, items=rows[:inbox.PAGE_SIZE], f=f, statuses=inbox.STATUSES,
                     pager=_pager("/console/inbox", f, int(f["page"]), len(rows) > inbox.PAGE_SIZE),
                     channels=inbox.CHANNELS, provinces=_province_choices(request, cur),
                     topics=inbox.topics(state.runtime.engine.kb),
                     poll_url="/console/inbox/rows?" + urlencode(f), poll_ms=int(state.settings.console_poll_seconds * 1000))

    @router.get("/inbox/rows")
    @guarded
    def inbox_rows(request: Request) -> Response:
        """The table body alone, for the page to refresh itself without reloading."""
        cur = _user(request)
        rows = items(request, cur, filters(request))[:inbox.PAGE_SIZE]
        response = _html("_rows.html", request, cur=cur, items=rows)
        response.headers["X-Item-Count"] = str(len(rows))
        return response

    @router.get("/api/escalations")
    @guarded
    def escalations_api(request: Request) -> Response:
        cur = _user(request)
        return JSONResponse([i.as_dict() for i in items(request, cur, filters(request), paged=False)],
                            headers=SECURITY_HEADERS)

    # --- conversation ---------------------------------------------------------------------------

    def conversation_page(request: Request, cur: Current, conversation_id: int, status: int = 200, error: str = "",
                          draft: str = "", notice: str = "", note: str = "") -> Response:
        state = _state(request)
        try:
            view = inbox.conversation(state.runtime.db, state.runtime.engine.kb, state.settings, conversation_id,
                                      cur.user.id, scope=cur.user.province)
        except NoSuchConversation:
            return _error(request, 404, "Không có cuộc trò chuyện này.", cur)
        return _html("conversation.html", request, status, cur=cur, c=view, error=error, draft=draft, notice=notice,
                     note=note, sent=request.query_params.get("done", "") if status == 200 else "",
                     test_note=inbox.TEST_NOTE, poll_ms=int(state.settings.console_poll_seconds * 1000))

    def conversation_part(request: Request, conversation_id: int, template: str) -> Response:
        """A part of the conversation page alone, for the open page to refresh itself (as the inbox does
        its rows): the messages, or the bot's state with the requests and their actions."""
        cur = _user(request)
        state = _state(request)
        try:
            view = inbox.conversation(state.runtime.db, state.runtime.engine.kb, state.settings, conversation_id,
                                      cur.user.id, scope=cur.user.province)
        except NoSuchConversation:
            return _error(request, 404, "Không có cuộc trò chuyện này.", cur)
        response = _html(template, request, cur=cur, c=view)
        response.headers["X-Item-Count"] = str(len(view.lines))
        return response

    @router.get("/conversations/{conversation_id}/messages")
    @guarded
    def conversation_messages(request: Request, conversation_id: int) -> Response:
        return conversation_part(request, conversation_id, "_messages.html")

    @router.get("/conversations/{conversation_id}/status")
    @guarded
    def conversation_status(request: Request, conversation_id: int) -> Response:
        return conversation_part(request, conversation_id, "_status.html")

    @router.get("/conversations/{conversation_id}")
    @guarded
    def conversation_view(request: Request, conversation_id: int) -> Response:
        cur = _user(request)
        draft, error = "", ""
        entry = request.query_params.get("canned")
        if entry:
            state = _state(request)
            try:
                code = inbox.check_access(state.runtime.db, conversation_id, cur.user.province)
                draft = inbox.canned(state.runtime.engine.kb, state.settings, entry, state.runtime.provinces.get(code))
            except inbox.ActionError as exc:
                error = str(exc)
            except NoSuchConversation:
                return _error(request, 404, "Không có cuộc trò chuyện này.", cur)
        return conversation_page(request, cur, conversation_id, error=error, draft=draft,
                                 notice=NOTICES.get(request.query_params.get("done", ""), ""))

    @router.get("/api/canned/{entry_id}")
    @guarded
    def canned_api(request: Request, entry_id: str) -> Response:
        cur = _user(request)
        state = _state(request)
        province = state.runtime.provinces.get(cur.user.province) if cur.user.province else None
        try:
            return JSONResponse({"text": inbox.canned(state.runtime.engine.kb, state.settings, entry_id, province)})
        except inbox.ActionError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)

    async def action(request: Request, conversation_id: int, name: str) -> Response:
        try:
            cur, form = await _post(request)
        except Stale as stale:
            if _wants_json(request) or name not in ("reply", "note"):
                raise
            # the page again, with a fresh token and the typed text in its box: nothing is lost
            await run_in_threadpool(inbox.check_access, _state(request).runtime.db, conversation_id,
                                    stale.cur.user.province)
            return conversation_page(request, stale.cur, conversation_id, 403, error=STALE,
                                     draft=stale.form.get("text", "") if name == "reply" else "",
                                     note=stale.form.get("text", "") if name == "note" else "")
        state = _state(request)
        db = state.runtime.db
        quiet = state.settings.bot_quiet_hours
        try:
            # a staff member of one province never reads or acts on another province's conversations
            await run_in_threadpool(inbox.check_access, db, conversation_id, cur.user.province)
            if name == "reply":
                await run_in_threadpool(inbox.reply, state.delivery, conversation_id, cur.user, form.get("text", ""))
            elif name == "assign":
                await run_in_threadpool(inbox.assign, db, conversation_id, cur.user.id, quiet_hours=quiet)
            elif name == "note":
                await run_in_threadpool(inbox.add_note, db, conversation_id, cur.user.id, form.get("text", ""), quiet)
            elif name == "resolve":
                keep = form.get("keep") == "1"  # "Giữ cuộc trò chuyện cho cán bộ"
                await run_in_threadpool(inbox.resolve, db, conversation_id, cur.user.id, keep, quiet)
                name = "resolve_keep" if keep else "resolve"
            elif name == "release":
                await run_in_threadpool(inbox.release, state.delivery, conversation_id)
            elif name == "retry":
                message_id = form.get("message_id", "")
                if not message_id.isdigit():
                    raise inbox.ActionError("Thiếu tin nhắn cần gửi lại.")
                await run_in_threadpool(inbox.retry, state.delivery, conversation_id, int(message_id))
        except NoSuchConversation:
            return _error(request, 404, "Không có cuộc trò chuyện này.", cur)
        except (WindowClosed, inbox.ActionError) as exc:
            status = 409 if isinstance(exc, WindowClosed) else 400
            prefix = "Không gửi được: " if isinstance(exc, WindowClosed) else ""
            if _wants_json(request):
                return JSONResponse({"detail": prefix + str(exc)}, status_code=status)
            # the typed text is kept in the box: nothing is lost
            return conversation_page(request, cur, conversation_id, status, error=prefix + str(exc),
                                     draft=form.get("text", "") if name == "reply" else "")
        if _wants_json(request):
            return JSONResponse({"ok": True})
        return _back(f"/console/conversations/{conversation_id}", done=name)

    for name in ("reply", "assign", "note", "resolve", "release", "retry"):
        def make(name=name):
            @guarded
            async def handler(request: Request, conversation_id: int) -> Response:
                return await action(request, conversation_id, name)
            handler.__name__ = f"conversation_{name}"
            return handler
        router.add_api_route(f"/conversations/{{conversation_id}}/{name}", make(), methods=["POST"])

    # --- admin: users and the audit log ------------------------------------------------------

    def users_page(request: Request, cur: Current, status: int = 200, error: str = "", notice: str = "",
                   form: dict[str, str] | None = None) -> Response:
        state = _state(request)
        provinces = {} if state.runtime.provinces.single else state.runtime.provinces.labels()
        waits = {email: auth.wait_label(left) if left else "" for email, left in
                 auth.login_waits(state.runtime.db, state.settings).items()}
        return _html("users.html", request, status, cur=cur, users=auth.list_users(state.runtime.db), error=error,
                     notice=notice, form=form or {}, roles=ROLE_LABELS, provinces=provinces, waits=waits)

    @router.get("/users")
    @guarded
    def users(request: Request) -> Response:
        cur = _user(request, "national")
        return users_page(request, cur, notice=NOTICES.get(request.query_params.get("done", ""), ""))

    @router.post("/users")
    @guarded
    async def users_create(request: Request) -> Response:
        cur, form = await _post(request, "national")
        try:
            province = auth.check_province(_state(request).runtime.provinces, form.get("province") or None)
            await run_in_threadpool(auth.create_user, _state(request).runtime.db, form.get("email", ""),
                                    form.get("role", ""), form.get("password", ""), cur.user, province=province)
        except auth.UserError as exc:
            keep = {"email": form.get("email", ""), "role": form.get("role", ""), "province": form.get("province", "")}
            return users_page(request, cur, 400, error=str(exc), form=keep)
        return _back("/console/users", done="user_created")

    @router.post("/users/{user_id}")
    @guarded
    async def users_update(request: Request, user_id: int) -> Response:
        cur, form = await _post(request, "national")
        active = {"1": True, "0": False}.get(form.get("active", ""))
        try:
            # no province field (one-province deployments, or a client changing something else): unchanged;
            # an empty one: every province
            province = (form["province"] or None) if "province" in form else auth.KEEP
            await run_in_threadpool(auth.update_user, _state(request).runtime.db, user_id, cur.user,
                                    form.get("role") or None, active, form.get("password") or None, province,
                                    _state(request).runtime.provinces)
        except auth.UserError as exc:
            return users_page(request, cur, 400, error=str(exc))
        return _back("/console/users", done="user_updated")

    @router.post("/users/{user_id}/unlock")
    @guarded
    async def users_unlock(request: Request, user_id: int) -> Response:
        """Forget the user's failed logins: no wait from any browser."""
        cur, _ = await _post(request, "national")
        db = _state(request).runtime.db
        user = next((u for u in auth.list_users(db) if u.id == user_id), None)
        if user is None:
            return users_page(request, cur, 404, error="Không có người dùng này.")
        await run_in_threadpool(auth.unlock, db, user.email, cur.user)
        return _back("/console/users", done="user_unlocked")

    @router.get("/audit")
    @guarded
    def audit_page(request: Request) -> Response:
        cur = _user(request, "national")
        state = _state(request)
        rows = auth.audit_entries(state.runtime.db)
        titles = {e.id: e.title for e in state.runtime.engine.kb.entries.values()}
        provinces = state.runtime.provinces.labels()
        return _html("audit.html", request, cur=cur, rows=[(r, wording.audit_sentence(r, titles, provinces)) for r in rows],
                     local=inbox.local)

    # --- admin: dashboard ----------------------------------------------------------------------

    def dashboard_range(request: Request):
        q = request.query_params
        return dashboard.parse_range(q.get("from"), q.get("to"), dt.datetime.now(inbox.VN_TZ).date())

    @router.get("/dashboard")
    @guarded
    def dashboard_page(request: Request) -> Response:
        cur = _user(request, "admin")
        state = _state(request)
        error, status = "", 200
        try:
            first, last = dashboard_range(request)
        except dashboard.RangeError as exc:
            error, status = str(exc), 400
            first, last = dashboard.parse_range(None, None, dt.datetime.now(inbox.VN_TZ).date())
        tests = request.query_params.get("tests") == "1"
        s = dashboard.stats(state.runtime.db, state.runtime.engine.kb, first, last, scope=cur.user.province, tests=tests)
        return _html("dashboard.html", request, status, cur=cur, s=s, charts=dashboard.charts(s), error=error, tests=tests,
                     csv_url="/console/dashboard.csv?" + urlencode({"from": first.isoformat(), "to": last.isoformat(),
                                                                     "tests": "1" if tests else ""}))

    @router.get("/dashboard.csv")
    @guarded
    def dashboard_csv(request: Request) -> Response:
        cur = _user(request, "admin")
        try:
            first, last = dashboard_range(request)
        except dashboard.RangeError as exc:
            return _error(request, 400, str(exc))
        state = _state(request)
        s = dashboard.stats(state.runtime.db, state.runtime.engine.kb, first, last, scope=cur.user.province,
                            tests=request.query_params.get("tests") == "1")
        name = f"thong-ke-{first.isoformat()}-{last.isoformat()}.csv"
        return Response("\ufeff" + dashboard.to_csv(s), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS})

    # --- admin: knowledge base -------------------------------------------------------------------

    @router.get("/kb")
    @guarded
    def kb_list(request: Request) -> Response:
        cur = _user(request, "national")
        q = request.query_params.get("q", "")
        state = _state(request)
        return _html("kb_list.html", request, cur=cur, q=q, rows=kbedit.search(state.runtime.db, q),
                     model=retrain.state(state.runtime.db, state.settings))

    def kb_page(request: Request, cur: Current, entry_id: str, status: int = 200, form: dict[str, str] | None = None,
                error: str = "", notice: str = "", draft: bool | None = None, chosen: str = "") -> Response:
        """`chosen`: the province whose citizens the preview is rendered for ("": national)."""
        state = _state(request)
        try:
            current = kbedit.editing(state.runtime.db, entry_id)
        except kbedit.EditError as exc:
            return _error(request, 404, str(exc), cur)
        province = _answers_for(request, cur, chosen)
        form = form if form is not None else current.form
        errors, preview = kbedit.check(state.runtime.engine.kb, entry_id, kbedit.from_form({"id": entry_id}, form),
                                       state.settings.today(), province)
        return _html("kb_edit.html", request, status, cur=cur, entry_id=entry_id, form=form, errors=errors, preview=preview,
                     labels=kbedit.LABELS, topics=kbedit.TOPICS, error=error, notice=notice,
                     draft=current.draft if draft is None else draft, day=state.settings.today(),
                     provinces=_province_choices(request, cur), chosen=province.code if province else "",
                     audience=province.name if province else "",
                     **kbedit.editor_context(state.runtime.engine.kb, entry_id, form, state.settings.today()))

    @router.get("/kb/new")
    @guarded
    def kb_new_form(request: Request) -> Response:
        cur = _user(request, "national")
        form = {"questions": request.query_params.get("question", ""), "topic": kbedit.TOPICS[0]}
        return _html("kb_new.html", request, cur=cur, form=form, labels=kbedit.LABELS, topics=kbedit.TOPICS, error="",
                     required=kbedit.REQUIRED_FIELDS)

    @router.post("/kb/new")
    @guarded
    async def kb_new(request: Request) -> Response:
        cur, form = await _post(request, "national")
        try:
            entry_id = await run_in_threadpool(kbedit.create_draft, _state(request).runtime.db, form, cur.user)
        except kbedit.EditError as exc:
            keep = {k: v for k, v in form.items() if k != "csrf_token"}
            return _html("kb_new.html", request, 400, cur=cur, form=keep, labels=kbedit.LABELS, topics=kbedit.TOPICS,
                         error=str(exc), required=kbedit.REQUIRED_FIELDS)
        return _back(f"/console/kb/{entry_id}", done="draft_saved")

    # --- admin: what the bot could not answer --------------------------------------------------

    def unanswered_page(request: Request, cur: Current, status: int = 200, error: str = "", notice: str = "") -> Response:
        state = _state(request)
        q = request.query_params
        today = dt.datetime.now(inbox.VN_TZ).date()
        try:
            first, last = dashboard.parse_range(q.get("from") or (today - dt.timedelta(days=89)).isoformat(), q.get("to"),
                                                today)
        except dashboard.RangeError as exc:
            error, status = str(exc), 400
            first, last = today - dt.timedelta(days=89), today
        province = _answers_for(request, cur, q.get("province", ""))
        show = "decided" if q.get("show") == "decided" else "open"
        found = unanswered.groups(state.runtime.db, state.runtime.engine, first, last, show=show)
        page, size = _page(request), UNANSWERED_PAGE
        pager = _pager("/console/unanswered", {"from": q.get("from", ""), "to": q.get("to", ""), "show": q.get("show", ""),
                                               "province": q.get("province", "")}, page, len(found) > page * size)
        found = found[(page - 1) * size:page * size]
        kb = state.runtime.engine.kb
        entries = sorted(((e.id, e.title) for e in kb.entries.values()), key=lambda x: x[1])
        # the closest entry's answer as the chosen province's citizens read it today
        answers = {}
        for g in found:
            entry = kb.entries.get(g.closest_entry)
            if entry is not None and entry.id not in answers:
                with contextlib.suppress(RenderError):  # a live entry renders; if not, no answer is shown
                    answers[entry.id] = inbox.render_entry(kb, entry, state.settings.today(), province)
        titles = {e.id: e.title for e in kb.entries.values()}
        return _html("unanswered.html", request, status, cur=cur, groups=found, entries=entries, first=first, last=last,
                     error=error, notice=notice, urlencode=urlencode, answers=answers, titles=titles,
                     provinces=_province_choices(request, cur), chosen=province.code if province else "",
                     audience=province.name if province else "", pager=pager, show=show, local=inbox.local)

    @router.get("/unanswered")
    @guarded
    def unanswered_list(request: Request) -> Response:
        cur = _user(request, "national")
        return unanswered_page(request, cur, notice=NOTICES.get(request.query_params.get("done", ""), ""))

    @router.post("/unanswered/add")
    @guarded
    async def unanswered_add(request: Request) -> Response:
        cur, form = await _post(request, "national")
        state = _state(request)
        if form.get("confirm") != "1":  # never published in one click: the confirmation page first
            return await run_in_threadpool(unanswered_confirm_page, request, cur, form)
        try:
            await run_in_threadpool(kbedit.add_question, state.runtime.db, state.runtime.engine.kb, form.get("entry_id", ""),
                                    form.get("question", ""), cur.user, state.settings.today())
        except kbedit.EditError as exc:
            return await run_in_threadpool(unanswered_page, request, cur, 400, str(exc))
        await run_in_threadpool(unanswered_handled, request, cur, form)
        await run_in_threadpool(state.runtime.reload)
        return _back("/console/unanswered", done="question_added", province=form.get("province", ""))

    @router.post("/kb/model/retrain")
    @guarded
    async def kb_model_retrain(request: Request) -> Response:
        """Queue a training of the semantic model on the live knowledge base (after a failure, say)."""
        cur, _ = await _post(request, "national")
        state = _state(request)

        def queue() -> None:
            row_id = retrain.request(state.runtime.db, state.settings, f"quản trị viên {cur.user.email} yêu cầu")
            with Session(state.runtime.db) as session:
                auth.audit(session, cur.user, "model.retrain", f"lần học {row_id}")
                session.commit()

        await run_in_threadpool(queue)
        return _back("/console/kb")

    @router.get("/kb/export.csv")
    @guarded
    def kb_export_csv(request: Request) -> Response:
        _user(request, "national")
        name = f"kho-kien-thuc-{dt.date.today().isoformat()}.csv"
        return Response(kbcsv.export_csv(_state(request).runtime.db), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS})

    @router.get("/kb/import")
    @guarded
    def kb_import_form(request: Request) -> Response:
        cur = _user(request, "national")
        return _html("kb_import.html", request, cur=cur, report=None, files_report=None, dry_run=True, error="")

    @router.post("/kb/import")
    @guarded
    async def kb_import(request: Request) -> Response:
        cur, form = await _post(request, "national", upload=True)
        data = form.get("file")
        if not isinstance(data, bytes) or not data:
            return _html("kb_import.html", request, 400, cur=cur, report=None, files_report=None, dry_run=True,
                         error="Hãy chọn một tệp CSV.")
        state = _state(request)
        dry_run = form.get("dry_run") == "1"
        kb, day, db = state.runtime.engine.kb, state.settings.today(), state.runtime.db
        if dry_run:
            report, _ = await run_in_threadpool(kbcsv.check, db, kb, data, day)
        else:
            report = await run_in_threadpool(kbcsv.apply, db, kb, data, day, cur.user)
            if report.applied:
                await run_in_threadpool(state.runtime.reload)
        return _html("kb_import.html", request, 200 if report.ok else 400, cur=cur, report=report, files_report=None,
                     dry_run=dry_run, error="")

    @router.get("/kb/export.zip")
    @guarded
    def kb_export_zip(request: Request) -> Response:
        _user(request, "national")
        name = f"knowledge_base-{dt.date.today().isoformat()}.zip"
        return Response(kbfiles.export_zip(_state(request).runtime.db), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS})

    @router.post("/kb/import-files")
    @guarded
    async def kb_import_files(request: Request) -> Response:
        cur, form = await _post(request, "national", upload=True)
        data = form.get("file")
        if not isinstance(data, bytes) or not data:
            return _html("kb_import.html", request, 400, cur=cur, report=None, files_report=None, dry_run=True,
                         error="Hãy chọn một tệp .zip.")
        state = _state(request)
        dry_run = form.get("dry_run") == "1"
        settings, db = state.settings, state.runtime.db
        topics = settings.topics_file or (settings.knowledge_base_dir / "topics.tsv")
        topics = topics if topics.exists() else None
        if dry_run:
            report, _ = await run_in_threadpool(kbfiles.check, db, data, settings.today(), topics)
        else:
            report = await run_in_threadpool(kbfiles.apply, db, data, settings.today(), topics, cur.user)
            if report.applied:
                await run_in_threadpool(state.runtime.reload)
        return _html("kb_import.html", request, 200 if report.ok else 400, cur=cur, report=None, files_report=report,
                     dry_run=dry_run, error="")

    @router.get("/kb/{entry_id}")
    @guarded
    def kb_edit(request: Request, entry_id: str) -> Response:
        cur = _user(request, "national")
        return kb_page(request, cur, entry_id, notice=NOTICES.get(request.query_params.get("done", ""), ""),
                       chosen=request.query_params.get("province", ""))

    @router.post("/kb/{entry_id}")
    @guarded
    async def kb_submit(request: Request, entry_id: str) -> Response:
        cur, form = await _post(request, "national")
        state = _state(request)
        db, action = state.runtime.db, form.get("action", "save")
        chosen = form.get("province", "")  # the preview's province: kept across saving and publishing
        try:
            if action == "preview":
                return await run_in_threadpool(kb_page, request, cur, entry_id, 200, form, chosen=chosen)
            if action == "discard":
                await run_in_threadpool(kbedit.discard_draft, db, entry_id, cur.user)
                return _back(f"/console/kb/{entry_id}", done="draft_discarded", province=chosen)
            await run_in_threadpool(kbedit.save_draft, db, entry_id, form, cur.user)  # nothing typed is lost
            if action == "publish":
                await run_in_threadpool(kbedit.publish, db, state.runtime.engine.kb, entry_id, cur.user,
                                        state.settings.today())
                await run_in_threadpool(state.runtime.reload)  # the bot answers from the new version now
                return _back(f"/console/kb/{entry_id}", done="published", province=chosen)
        except kbedit.EditError as exc:
            return await run_in_threadpool(kb_page, request, cur, entry_id, 400, form, str(exc), chosen=chosen)
        return _back(f"/console/kb/{entry_id}", done="draft_saved", province=chosen)

    @router.post("/api/kb/{entry_id}/preview")
    @guarded
    async def kb_preview(request: Request, entry_id: str) -> Response:
        cur, form = await _post(request, "national")
        state = _state(request)
        province = _answers_for(request, cur, form.get("province", ""))
        errors, preview = kbedit.check(state.runtime.engine.kb, entry_id, kbedit.from_form({"id": entry_id}, form),
                                       state.settings.today(), province)
        return JSONResponse({"preview": preview, "errors": errors}, headers=SECURITY_HEADERS)

    @router.get("/kb/{entry_id}/history")
    @guarded
    def kb_history(request: Request, entry_id: str) -> Response:
        cur = _user(request, "national")
        try:
            versions = kbedit.history(_state(request).runtime.db, entry_id)
        except kbedit.EditError as exc:
            return _error(request, 404, str(exc), cur)
        return _html("kb_history.html", request, cur=cur, entry_id=entry_id, versions=versions, local=inbox.local,
                     notice=NOTICES.get(request.query_params.get("done", ""), ""), error="")

    @router.post("/kb/{entry_id}/rollback/{version_id}")
    @guarded
    async def kb_rollback(request: Request, entry_id: str, version_id: int) -> Response:
        cur, form = await _post(request, "national")
        state = _state(request)
        if form.get("confirm") != "1":  # never restored in one click: the confirmation page first
            return await run_in_threadpool(rollback_confirm_page, request, cur, entry_id, version_id)
        try:
            await run_in_threadpool(kbedit.rollback, state.runtime.db, state.runtime.engine.kb, entry_id, version_id,
                                    cur.user, state.settings.today())
        except kbedit.EditError as exc:
            versions = kbedit.history(state.runtime.db, entry_id)
            return _html("kb_history.html", request, 400, cur=cur, entry_id=entry_id, versions=versions,
                         local=inbox.local, notice="", error=str(exc))
        await run_in_threadpool(state.runtime.reload)
        return _back(f"/console/kb/{entry_id}/history", done="rolled_back")

    # --- admin: parameters ------------------------------------------------------------------------

    def params_page(request: Request, cur: Current, status: int = 200, form: dict[str, str] | None = None,
                    errors: dict[str, str] | None = None, changes: list | None = None, notice: str = "") -> Response:
        state = _state(request)
        kb = state.runtime.engine.kb
        return _html("parameters.html", request, status, cur=cur,
                     rows=params.listing(kb, state.settings.today(), cur.user.province),
                     form=form or {}, errors=errors or {}, changes=changes, notice=notice, day=state.settings.today(),
                     provinces=_province_choices(request, cur),
                     own=state.runtime.provinces.labels().get(cur.user.province or "", ""))

    @router.get("/parameters")
    @guarded
    def parameters_page(request: Request) -> Response:
        cur = _user(request, "admin")
        return params_page(request, cur, notice=NOTICES.get(request.query_params.get("done", ""), ""))

    @router.post("/parameters")
    @guarded
    async def parameters_submit(request: Request) -> Response:
        cur, form = await _post(request, "admin")
        state = _state(request)
        kb = state.runtime.engine.kb
        keep = {k: v for k, v in form.items() if k != "csrf_token"}
        # a province's admin adds values for that province only; an admin of every province chooses
        province = cur.user.province or form.get("province", "")
        if province and province not in state.runtime.provinces.codes():
            return params_page(request, cur, 400, keep, {"province": "Chọn một tỉnh có trong danh sách."})
        try:
            new = params.parse(kb, form, province)
            if form.get("action") == "save":
                await run_in_threadpool(params.add, state.runtime.db, kb, new, cur.user)
                await run_in_threadpool(state.runtime.reload)  # answers use it from its effective date
                return _back("/console/parameters", done="param_added")
            changes = await run_in_threadpool(params.preview, kb, new)
        except params.ParamError as exc:
            return params_page(request, cur, 400, keep, exc.errors)
        return params_page(request, cur, 200, keep, changes=changes)

    @router.get("/api/users")
    @guarded
    def users_api(request: Request) -> Response:
        _user(request, "national")
        return JSONResponse([{"id": u.id, "email": u.email, "role": u.role, "active": u.active, "province": u.province}
                             for u in auth.list_users(_state(request).runtime.db)], headers=SECURITY_HEADERS)

    @router.get("/api/audit")
    @guarded
    def audit_api(request: Request) -> Response:
        _user(request, "national")
        return JSONResponse([{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "target": r.target,
                              "changes": r.changes} for r in auth.audit_entries(_state(request).runtime.db)],
                            headers=SECURITY_HEADERS)

    # --- knowledge-base safety routes: confirmations, unanswered groups dismissed or snoozed ---------------

    def _group_texts(form: dict) -> list[str]:
        texts = [t for t in (form.get("texts") or "").split("\n") if t.strip()]
        return texts or [form.get("question", "")]

    def unanswered_confirm_page(request: Request, cur: Current, form: dict, status: int = 200) -> Response:
        """What "Thêm và xuất bản" will publish, with the button that does it (field confirm=1)."""
        state = _state(request)
        kb = state.runtime.engine.kb
        entry = kb.entries.get(form.get("entry_id", ""))
        if entry is None:
            return unanswered_page(request, cur, 400, "Hãy chọn một mục để thêm câu hỏi vào, hoặc tạo mục mới.")
        keep = {k: form.get(k, "") for k in ("entry_id", "question", "texts", "province")}
        return _html("unanswered_confirm.html", request, status, cur=cur, entry=entry, form=keep,
                     questions=list(entry.questions))

    def unanswered_handled(request: Request, cur: Current, form: dict) -> None:
        state = _state(request)
        unanswered.decide(state.runtime.db, state.runtime.engine, "handled", _group_texts(form), cur.user,
                          entry_id=form.get("entry_id", ""))

    def rollback_confirm_page(request: Request, cur: Current, entry_id: str, version_id: int) -> Response:
        """What restoring a version would change in the live entry, with the button that does it (confirm=1)."""
        try:
            number, changes = kbedit.rollback_preview(_state(request).runtime.db, entry_id, version_id)
        except kbedit.EditError as exc:
            return _error(request, 404, str(exc), cur)
        return _html("kb_rollback_confirm.html", request, cur=cur, entry_id=entry_id, version_id=version_id,
                     number=number, changes=changes)

    @router.post("/unanswered/decision")
    @guarded
    async def unanswered_decision(request: Request) -> Response:
        """"Bỏ qua", "Để sau" (days) or "Hoàn tác" (decision_id) for a group of unanswered questions."""
        cur, form = await _post(request, "national")
        state = _state(request)
        action = form.get("action", "")
        try:
            if action == "undo":
                decision = form.get("decision_id", "")
                if not decision.isdigit():
                    raise unanswered.DecisionError("Thiếu quyết định cần hoàn tác.")
                await run_in_threadpool(unanswered.undo, state.runtime.db, int(decision), cur.user)
            else:
                days = form.get("days", str(unanswered.SNOOZE_DAYS))
                await run_in_threadpool(unanswered.decide, state.runtime.db, state.runtime.engine,
                                        {"dismiss": "dismissed", "snooze": "snoozed"}.get(action, ""),
                                        _group_texts(form), cur.user, "", int(days) if days.isdigit() else 0)
        except unanswered.DecisionError as exc:
            return await run_in_threadpool(unanswered_page, request, cur, 400, str(exc))
        done = {"undo": "unanswered_undone", "snooze": "unanswered_snoozed"}.get(action, "unanswered_dismissed")
        return _back("/console/unanswered", done=done, province=form.get("province", ""),
                     show="decided" if action == "undo" and form.get("show") == "decided" else "")

    return router


ERROR_PAGES = {
    400: "Yêu cầu không hợp lệ.",
    404: "Không có trang này. Có thể địa chỉ đã gõ sai hoặc trang đã được chuyển.",
    405: "Không mở trực tiếp được địa chỉ này; hãy dùng các nút trên trang.",
    422: "Địa chỉ không hợp lệ (ví dụ: số cuộc trò chuyện phải là một số).",
    500: "Hệ thống gặp lỗi khi xử lý yêu cầu này. Vui lòng thử lại; nếu vẫn lỗi, hãy báo quản trị viên.",
}


def install_error_pages(app) -> None:
    from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    def page(request: Request) -> bool:
        path = request.url.path
        return (path == "/console" or path.startswith("/console/")) and not _wants_json(request)

    def error_page(request: Request, status: int) -> Response:
        try:
            cur = auth.current(_state(request).runtime.db, request.cookies.get(COOKIE))
        except Exception:  # the page must show even when the database does not answer
            cur = None
        message = ERROR_PAGES.get(status) or ERROR_PAGES[500 if status >= 500 else 400]
        return _error(request, status, message, cur)

    async def on_http(request: Request, exc: HTTPException) -> Response:
        if not page(request) or exc.status_code == 413:  # a body over the limit keeps the middleware's answer
            return await http_exception_handler(request, exc)
        response = await run_in_threadpool(error_page, request, exc.status_code)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        if not page(request):
            return await request_validation_exception_handler(request, exc)
        return await run_in_threadpool(error_page, request, 422)

    async def on_crash(request: Request, exc: Exception) -> Response:
        if not page(request):
            return PlainTextResponse("Internal Server Error", status_code=500)  # as Starlette answers by default
        return await run_in_threadpool(error_page, request, 500)

    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(Exception, on_crash)


def _is_async(fn) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)


UNANSWERED_PAGE = 20  # groups of questions per page

ROLE_LABELS = {"staff": "Cán bộ", "admin": "Quản trị viên"}
NOTICES = {
    "reply": "Đã nhận tin trả lời; trạng thái gửi hiện ngay dưới tin nhắn.",
    "retry": "Đang gửi lại tin nhắn; trạng thái gửi hiện ngay dưới tin nhắn.",
    "assign": "Bạn đã nhận xử lý cuộc trò chuyện này.",
    "note": "Đã thêm ghi chú.",
    "resolve": "Đã đánh dấu là đã xử lý. Trợ lý tự động trả lời công dân từ bây giờ.",
    "resolve_keep": "Đã đánh dấu là đã xử lý. Cuộc trò chuyện vẫn do cán bộ giữ: nếu công dân nhắn thêm, "
                    "yêu cầu mở lại ở đầu hộp yêu cầu.",
    "release": "Đã trả cuộc trò chuyện cho trợ lý tự động.",
    "draft_saved": "Đã lưu bản nháp. Trợ lý vẫn trả lời theo bản đang dùng cho đến khi xuất bản.",
    "draft_discarded": "Đã bỏ bản nháp.",
    "published": "Đã xuất bản. Trợ lý trả lời theo nội dung mới từ bây giờ.",
    "rolled_back": "Đã khôi phục phiên bản cũ; trợ lý trả lời theo nội dung này từ bây giờ.",
    "param_added": "Đã thêm giá trị mới; các câu trả lời dùng giá trị này từ ngày hiệu lực.",
    "question_added": "Đã thêm câu hỏi vào mục và xuất bản; trợ lý nhận ra câu hỏi này từ bây giờ.",
    "unanswered_dismissed": "Đã bỏ qua nhóm câu hỏi. Xem lại hoặc hoàn tác ở “Đã bỏ qua, để sau”.",
    "unanswered_snoozed": "Đã để sau nhóm câu hỏi; nhóm sẽ hiện lại khi hết hạn.",
    "unanswered_undone": "Đã hoàn tác; nhóm câu hỏi hiện lại trong danh sách.",
    "user_created": "Đã tạo người dùng.",
    "user_updated": "Đã cập nhật người dùng.",
    "user_unlocked": "Đã mở khoá đăng nhập: người dùng đăng nhập được ngay, không phải chờ.",
}
