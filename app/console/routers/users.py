"""Console users: add, change role, province, lock, new password, unlock logins; and the same list as
JSON. Admins of every province."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from app.console import auth
from app.console.auth import Current
from app.console.deps import CsrfForm, NationalAdmin, national_admin
from app.console.pages import NOTICES, SECURITY_HEADERS, _back, _html, _state

ROLE_LABELS = {"staff": "Cán bộ", "admin": "Quản trị viên"}

router = APIRouter(dependencies=[Depends(national_admin)])


def users_page(request: Request, cur: Current, status: int = 200, error: str = "", notice: str = "",
               form: dict[str, str] | None = None) -> Response:
    state = _state(request)
    provinces = {} if state.runtime.provinces.single else state.runtime.provinces.labels()
    waits = {email: auth.wait_label(left) if left else "" for email, left in
             auth.login_waits(state.runtime.db, state.settings).items()}
    return _html("users.html", request, status, cur=cur, users=auth.list_users(state.runtime.db), error=error,
                 notice=notice, form=form or {}, roles=ROLE_LABELS, provinces=provinces, waits=waits)


@router.get("/users")
def users(request: Request, cur: NationalAdmin) -> Response:
    return users_page(request, cur, notice=NOTICES.get(request.query_params.get("done", ""), ""))


@router.post("/users")
async def users_create(request: Request, cur: NationalAdmin, form: CsrfForm) -> Response:
    try:
        province = auth.check_province(_state(request).runtime.provinces, form.get("province") or None)
        await run_in_threadpool(auth.create_user, _state(request).runtime.db, form.get("email", ""),
                                form.get("role", ""), form.get("password", ""), cur.user, province=province)
    except auth.UserError as exc:
        keep = {"email": form.get("email", ""), "role": form.get("role", ""), "province": form.get("province", "")}
        return users_page(request, cur, 400, error=str(exc), form=keep)
    return _back("/console/users", done="user_created")


@router.post("/users/{user_id}")
async def users_update(request: Request, cur: NationalAdmin, form: CsrfForm, user_id: int) -> Response:
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
async def users_unlock(request: Request, cur: NationalAdmin, form: CsrfForm, user_id: int) -> Response:
    """Forget the user's failed logins: no wait from any browser."""
    db = _state(request).runtime.db
    user = next((u for u in auth.list_users(db) if u.id == user_id), None)
    if user is None:
        return users_page(request, cur, 404, error="Không có người dùng này.")
    await run_in_threadpool(auth.unlock, db, user.email, cur.user)
    return _back("/console/users", done="user_unlocked")


@router.get("/api/users")
def users_api(request: Request) -> Response:
    return JSONResponse([{"id": u.id, "email": u.email, "role": u.role, "active": u.active, "province": u.province}
                         for u in auth.list_users(_state(request).runtime.db)], headers=SECURITY_HEADERS)
