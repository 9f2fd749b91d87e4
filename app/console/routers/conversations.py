"""A conversation: its page and the parts the open page refreshes, canned replies, and the staff's
actions (reply, assign, note, resolve, release, retry). Staff and admins; a staff member of one
province never reads or acts on another province's conversations (inbox.check_access)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from app.console import inbox
from app.console.auth import Current
from app.console.deps import STALE, Denied, PostedForm, Staff, Stale, check_csrf, current_user
from app.console.pages import NOTICES, _back, _error, _html, _state, _wants_json
from app.delivery import NoSuchConversation, WindowClosed

ACTIONS = ("reply", "assign", "note", "resolve", "release", "retry")

router = APIRouter(dependencies=[Depends(current_user)])


def _view(request: Request, cur: Current, conversation_id: int) -> inbox.ConversationView | None:
    """The conversation as this user may see it (another province's: None, like one that does not exist)."""
    state = _state(request)
    try:
        return inbox.conversation(state.runtime.db, state.runtime.engine.kb, state.settings, conversation_id,
                                  cur.user_id, scope=cur.user.province)
    except NoSuchConversation:
        return None


def conversation_page(request: Request, cur: Current, conversation_id: int, status: int = 200, error: str = "",
                      draft: str = "", notice: str = "", note: str = "") -> Response:
    state = _state(request)
    view = _view(request, cur, conversation_id)
    if view is None:
        return _error(request, 404, "Không có cuộc trò chuyện này.", cur)
    return _html("conversation.html", request, status, cur=cur, c=view, error=error, draft=draft, notice=notice,
                 note=note, sent=request.query_params.get("done", "") if status == 200 else "",
                 test_note=inbox.TEST_NOTE, poll_ms=int(state.settings.console_poll_seconds * 1000))


def conversation_part(request: Request, cur: Current, conversation_id: int, template: str) -> Response:
    """A part of the conversation page alone, for the open page to refresh itself (as the inbox does
    its rows): the messages, or the bot's state with the requests and their actions."""
    view = _view(request, cur, conversation_id)
    if view is None:
        return _error(request, 404, "Không có cuộc trò chuyện này.", cur)
    response = _html(template, request, cur=cur, c=view)
    response.headers["X-Item-Count"] = str(len(view.lines))
    return response


@router.get("/conversations/{conversation_id}/messages")
def conversation_messages(request: Request, cur: Staff, conversation_id: int) -> Response:
    return conversation_part(request, cur, conversation_id, "_messages.html")


@router.get("/conversations/{conversation_id}/status")
def conversation_status(request: Request, cur: Staff, conversation_id: int) -> Response:
    return conversation_part(request, cur, conversation_id, "_status.html")


@router.get("/conversations/{conversation_id}")
def conversation_view(request: Request, cur: Staff, conversation_id: int) -> Response:
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
def canned_api(request: Request, cur: Staff, entry_id: str) -> Response:
    state = _state(request)
    province = state.runtime.provinces.get(cur.user.province) if cur.user.province else None
    try:
        return JSONResponse({"text": inbox.canned(state.runtime.engine.kb, state.settings, entry_id, province)})
    except inbox.ActionError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)


async def action_form(request: Request, cur: Staff, form: PostedForm, conversation_id: int) -> dict:
    """An action's form, CSRF checked (deps.check_csrf). A reply or a note posted with a stale token
    comes back as the conversation page, with a fresh token and the typed text in its box: nothing is lost."""
    name = request.url.path.rsplit("/", 1)[-1]
    try:
        return check_csrf(request, cur, form)
    except Stale as stale:
        if _wants_json(request) or name not in ("reply", "note"):
            raise
        try:
            await run_in_threadpool(inbox.check_access, _state(request).runtime.db, conversation_id,
                                    stale.cur.user.province)
        except NoSuchConversation:
            raise stale from None  # no page to come back to (or not the user's to see): refused like any form
        raise Denied(conversation_page(request, stale.cur, conversation_id, 403, error=STALE,
                                       draft=stale.form.get("text", "") if name == "reply" else "",
                                       note=stale.form.get("text", "") if name == "note" else "")) from None


ActionForm = Annotated[dict, Depends(action_form)]


async def action(request: Request, cur: Current, form: dict, conversation_id: int, name: str) -> Response:
    state = _state(request)
    db = state.runtime.db
    quiet = state.settings.bot_quiet_hours
    try:
        # a staff member of one province never reads or acts on another province's conversations
        await run_in_threadpool(inbox.check_access, db, conversation_id, cur.user.province)
        if name == "reply":
            await run_in_threadpool(inbox.reply, state.delivery, conversation_id, cur.user, form.get("text", ""))
        elif name == "assign":
            await run_in_threadpool(inbox.assign, db, conversation_id, cur.user_id, quiet_hours=quiet)
        elif name == "note":
            await run_in_threadpool(inbox.add_note, db, conversation_id, cur.user_id, form.get("text", ""), quiet)
        elif name == "resolve":
            keep = form.get("keep") == "1"  # "Giữ cuộc trò chuyện cho cán bộ"
            await run_in_threadpool(inbox.resolve, db, conversation_id, cur.user_id, keep, quiet)
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


def _action_route(name: str):
    async def handler(request: Request, cur: Staff, form: ActionForm, conversation_id: int) -> Response:
        return await action(request, cur, form, conversation_id, name)
    handler.__name__ = f"conversation_{name}"
    return handler


for _name in ACTIONS:
    router.add_api_route(f"/conversations/{{conversation_id}}/{_name}", _action_route(_name), methods=["POST"])
