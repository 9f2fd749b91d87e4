"""The inbox: open escalations and handoffs, its rows for the page to refresh itself, and the same as JSON.
Staff and admins."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from app.console import inbox
from app.console.auth import Current
from app.console.deps import Staff, _province_choices, current_user
from app.console.pages import SECURITY_HEADERS, _html, _page, _pager, _state

router = APIRouter(dependencies=[Depends(current_user)])


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
    return inbox.inbox(state.runtime.db, state.runtime.engine.kb, state.settings, cur.user_id, status=f["status"],
                       channel=f["channel"], topic=f["topic"], province=f["province"], tests=f["tests"] == "1",
                       scope=cur.user.province, **page)


@router.get("/inbox")
def inbox_page(request: Request, cur: Staff) -> Response:
    f = filters(request)
    state = _state(request)
    rows = items(request, cur, f)
    return _html("inbox.html", request, cur=cur, items=rows[:inbox.PAGE_SIZE], f=f, statuses=inbox.STATUSES,
                 pager=_pager("/console/inbox", f, int(f["page"]), len(rows) > inbox.PAGE_SIZE),
                 channels=inbox.CHANNELS, provinces=_province_choices(request, cur),
                 topics=inbox.topics(state.runtime.engine.kb),
                 poll_url="/console/inbox/rows?" + urlencode(f), poll_ms=int(state.settings.console_poll_seconds * 1000))


@router.get("/inbox/rows")
def inbox_rows(request: Request, cur: Staff) -> Response:
    """The table body alone, for the page to refresh itself without reloading."""
    rows = items(request, cur, filters(request))[:inbox.PAGE_SIZE]
    response = _html("_rows.html", request, cur=cur, items=rows)
    response.headers["X-Item-Count"] = str(len(rows))
    return response


@router.get("/api/escalations")
def escalations_api(request: Request, cur: Staff) -> Response:
    return JSONResponse([i.as_dict() for i in items(request, cur, filters(request), paged=False)],
                        headers=SECURITY_HEADERS)
