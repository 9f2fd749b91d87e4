"""What the bot could not answer, grouped; adding a question to an entry from there. Admins of every
province."""

from __future__ import annotations

import contextlib
import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.console import dashboard, inbox, kbedit, unanswered
from app.console.auth import Current
from app.console.deps import CsrfForm, NationalAdmin, _answers_for, _province_choices, national_admin
from app.console.pages import NOTICES, _back, _html, _page, _pager, _state
from app.knowledge import RenderError

UNANSWERED_PAGE = 20  # groups of questions per page

router = APIRouter(dependencies=[Depends(national_admin)])


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
    found = unanswered.groups(state.runtime.db, state.runtime.engine, first, last)
    page, size = _page(request), UNANSWERED_PAGE
    pager = _pager("/console/unanswered", {"from": q.get("from", ""), "to": q.get("to", ""),
                                           "province": q.get("province", "")}, page, len(found) > page * size)
    found = found[(page - 1) * size:page * size]
    kb = state.runtime.engine.kb
    entries = sorted(((e.id, f"{e.topic} — {e.title}") for e in kb.entries.values()), key=lambda x: x[1])
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
                 audience=province.name if province else "", pager=pager)


@router.get("/unanswered")
def unanswered_list(request: Request, cur: NationalAdmin) -> Response:
    return unanswered_page(request, cur, notice=NOTICES.get(request.query_params.get("done", ""), ""))


@router.post("/unanswered/add")
async def unanswered_add(request: Request, cur: NationalAdmin, form: CsrfForm) -> Response:
    state = _state(request)
    try:
        await run_in_threadpool(kbedit.add_question, state.runtime.db, state.runtime.engine.kb, form.get("entry_id", ""),
                                form.get("question", ""), cur.user, state.settings.today())
    except kbedit.EditError as exc:
        return await run_in_threadpool(unanswered_page, request, cur, 400, str(exc))
    await run_in_threadpool(state.runtime.reload)
    return _back("/console/unanswered", done="question_added", province=form.get("province", ""))
