"""Logging in and out, and /console itself (to the inbox)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from app.console import auth
from app.console.deps import COOKIE, CsrfForm, PostedForm, current_user
from app.console.pages import _html, _state

LOGIN_COOKIE = "bhxh_login_csrf"
DEVICE_COOKIE = "bhxh_device"  # this browser logged in to this account before (auth.device_token)

router = APIRouter()


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.app.state.settings.console_secure_cookies


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/inbox"


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
async def login_submit(request: Request, form: PostedForm) -> Response:
    """The login form has its own double-submit token (no session yet), checked here."""
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


@router.post("/logout", dependencies=[Depends(current_user)])
async def logout(request: Request, form: CsrfForm) -> Response:
    await run_in_threadpool(auth.logout, _state(request).runtime.db, request.cookies.get(COOKIE))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
