"""The dashboard: figures and charts for a date range, and their CSV. Admins (a province's admin sees
their province)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.console import dashboard, inbox
from app.console.deps import Admin, admin
from app.console.pages import SECURITY_HEADERS, _error, _html, _state

router = APIRouter(dependencies=[Depends(admin)])


def dashboard_range(request: Request):
    q = request.query_params
    return dashboard.parse_range(q.get("from"), q.get("to"), dt.datetime.now(inbox.VN_TZ).date())


@router.get("/dashboard")
def dashboard_page(request: Request, cur: Admin) -> Response:
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
def dashboard_csv(request: Request, cur: Admin) -> Response:
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
