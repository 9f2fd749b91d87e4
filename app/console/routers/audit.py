"""The audit log, as sentences and as JSON. Admins of every province."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from app.console import auth, inbox, wording
from app.console.deps import NationalAdmin, national_admin
from app.console.pages import SECURITY_HEADERS, _html, _state

router = APIRouter(dependencies=[Depends(national_admin)])


@router.get("/audit")
def audit_page(request: Request, cur: NationalAdmin) -> Response:
    state = _state(request)
    rows = auth.audit_entries(state.runtime.db)
    titles = {e.id: e.title for e in state.runtime.engine.kb.entries.values()}
    provinces = state.runtime.provinces.labels()
    return _html("audit.html", request, cur=cur, rows=[(r, wording.audit_sentence(r, titles, provinces)) for r in rows],
                 local=inbox.local)


@router.get("/api/audit")
def audit_api(request: Request) -> Response:
    return JSONResponse([{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "target": r.target,
                          "changes": r.changes} for r in auth.audit_entries(_state(request).runtime.db)],
                        headers=SECURITY_HEADERS)
