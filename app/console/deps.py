"""The console's FastAPI dependencies: who is asking, what they may reach, and the forms they post.

- `Staff`: the logged-in user, staff or admin. Not logged in: a redirect to the login page (back to the
  page afterwards), or 401 for the JSON API.
- `Admin`: an admin (403 for staff).
- `NationalAdmin`: an admin of every province, i.e. without a province (403 for a province's admin):
  the knowledge base, users and the audit log are shared by every province.
- `PostedForm`, `UploadedForm`: the request's fields, read once within MAX_REQUEST_BYTES or
  UPLOAD_MAX_BYTES (413 past it).
- `CsrfForm`, `CsrfUpload`: the same, after checking the session's CSRF token (the form field
  `csrf_token` or the `X-CSRF-Token` header); a missing or wrong token is `Stale` (403, nothing done).

Each area router (app.console.routers) requires its role once, with `dependencies=[Depends(...)]`; a
route that needs the user takes it as a parameter of the same type (FastAPI computes it once per request).
Refusals raise `Denied`, whose response app.console.routers.install_error_pages answers with."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.console import auth
from app.console.auth import Current
from app.console.pages import SECURITY_HEADERS, _error, _state, _wants_json

COOKIE = "bhxh_console"


class Denied(Exception):
    """A request the console refuses: `response` is the answer (a redirect to the login page, a 403 page,
    a 413, ...). Raised by a dependency or a route; answered by the handler install_error_pages registers."""

    def __init__(self, response: Response):
        self.response = response


STALE = ("Trang này đã cũ (bạn đã đăng nhập lại hoặc phiên làm việc đã đổi) nên chưa thực hiện được. "
         "Nội dung bạn đã nhập vẫn được giữ: kiểm tra rồi bấm gửi lại.")


class Stale(Denied):
    """A form posted with a CSRF token that is not the session's (a page left open past a re-login):
    nothing is done. A conversation's reply form comes back with what was typed
    (app.console.routers.conversations); elsewhere an error page (the browser keeps the typed text too:
    static/console.js)."""

    def __init__(self, request: Request, cur: Current, form: dict):
        super().__init__(_error(request, 403, STALE, cur))
        self.cur, self.form = cur, form


# --- the user and their role ---------------------------------------------------------------------


def current_user(request: Request) -> Current:
    """The logged-in user, or Denied: a redirect to the login page (or 401 for the API) when not logged in."""
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
    return cur


Staff = Annotated[Current, Depends(current_user)]


async def admin(request: Request, cur: Staff) -> Current:
    """The logged-in user if an admin; 403 for staff."""
    if not cur.is_admin:
        raise Denied(_error(request, 403, "Bạn không có quyền truy cập trang này (chỉ dành cho quản trị viên).", cur))
    return cur


Admin = Annotated[Current, Depends(admin)]


async def national_admin(request: Request, cur: Admin) -> Current:
    """The logged-in user if an admin of every province (no province); 403 for a province's admin."""
    if cur.user.province is not None:
        # the knowledge base, users and the audit log are shared by every province
        raise Denied(_error(request, 403, "Trang này chỉ dành cho quản trị viên cấp toàn quốc (mọi tỉnh).", cur))
    return cur


NationalAdmin = Annotated[Current, Depends(national_admin)]


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


# --- the province a page's answers are for -------------------------------------------------------


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


# --- forms and CSRF ------------------------------------------------------------------------------


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
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        fields[name] = payload if part.get_filename() is not None else payload.decode("utf-8", errors="replace")
    return fields


async def posted_form(request: Request) -> dict:
    """The fields of a form (MAX_REQUEST_BYTES)."""
    return await _form(request, _limit(request))


async def uploaded_form(request: Request) -> dict:
    """The fields of a form that uploads a file (UPLOAD_MAX_BYTES)."""
    return await _form(request, _limit(request, upload=True))


PostedForm = Annotated[dict, Depends(posted_form)]
UploadedForm = Annotated[dict, Depends(uploaded_form)]


def check_csrf(request: Request, cur: Current, form: dict) -> dict:
    """`form` if it (or the `X-CSRF-Token` header) carries the session's CSRF token; else Stale."""
    given = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not auth.csrf_ok(cur.csrf_token, given):
        raise Stale(request, cur, form)
    return form


async def csrf_form(request: Request, cur: Staff, form: PostedForm) -> dict:
    """A state-changing form: the user first (login, role), then the body, then its CSRF token."""
    return check_csrf(request, cur, form)


async def csrf_upload(request: Request, cur: Staff, form: UploadedForm) -> dict:
    """A state-changing form with a file (UPLOAD_MAX_BYTES), CSRF checked as csrf_form."""
    return check_csrf(request, cur, form)


CsrfForm = Annotated[dict, Depends(csrf_form)]
CsrfUpload = Annotated[dict, Depends(csrf_upload)]
