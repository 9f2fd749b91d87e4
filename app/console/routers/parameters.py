"""The legal parameters: their dated values, and adding one (previewing the answers it changes first).
Admins; a province's admin adds values for that province only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.console import params
from app.console.auth import Current
from app.console.deps import Admin, CsrfForm, _province_choices, admin
from app.console.pages import NOTICES, _back, _html, _state

router = APIRouter(dependencies=[Depends(admin)])


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
def parameters_page(request: Request, cur: Admin) -> Response:
    return params_page(request, cur, notice=NOTICES.get(request.query_params.get("done", ""), ""))


@router.post("/parameters")
async def parameters_submit(request: Request, cur: Admin, form: CsrfForm) -> Response:
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
