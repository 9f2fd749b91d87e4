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
def unanswered_list(request: Request, cur: NationalAdmin) -> Response:
    return unanswered_page(request, cur, notice=NOTICES.get(request.query_params.get("done", ""), ""))


@router.post("/unanswered/add")
async def unanswered_add(request: Request, cur: NationalAdmin, form: CsrfForm) -> Response:
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


# --- confirmations, groups dismissed or snoozed ------------------------------------------------------------

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


@router.post("/unanswered/decision")
async def unanswered_decision(request: Request, cur: NationalAdmin, form: CsrfForm) -> Response:
    """"Bỏ qua", "Để sau" (days) or "Hoàn tác" (decision_id) for a group of unanswered questions."""
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
