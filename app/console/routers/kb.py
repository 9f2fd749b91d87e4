"""The knowledge base: list and search, the editor (drafts, live preview, publish), new entries, history
and rollback, the semantic model's retraining, CSV and zip export and import. Admins of every province.

The order of the routes matters: the fixed addresses (/kb/new, /kb/import, /kb/export.csv, ...) come
before /kb/{entry_id}, which would take them too."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from app import retrain
from app.console import auth, inbox, kbcsv, kbedit, kbfiles
from app.console.auth import Current
from app.console.deps import CsrfForm, CsrfUpload, NationalAdmin, _answers_for, _province_choices, national_admin
from app.console.pages import NOTICES, SECURITY_HEADERS, _back, _error, _html, _state

router = APIRouter(dependencies=[Depends(national_admin)])


@router.get("/kb")
def kb_list(request: Request, cur: NationalAdmin) -> Response:
    q = request.query_params.get("q", "")
    state = _state(request)
    return _html("kb_list.html", request, cur=cur, q=q, rows=kbedit.search(state.runtime.db, q),
                 model=retrain.state(state.runtime.db, state.settings))


def kb_page(request: Request, cur: Current, entry_id: str, status: int = 200, form: dict[str, str] | None = None,
            error: str = "", notice: str = "", draft: bool | None = None, chosen: str = "") -> Response:
    """`chosen`: the province whose citizens the preview is rendered for ("": national)."""
    state = _state(request)
    try:
        current = kbedit.editing(state.runtime.db, entry_id)
    except kbedit.EditError as exc:
        return _error(request, 404, str(exc), cur)
    province = _answers_for(request, cur, chosen)
    form = form if form is not None else current.form
    errors, preview = kbedit.check(state.runtime.engine.kb, entry_id, kbedit.from_form({"id": entry_id}, form),
                                   state.settings.today(), province)
    return _html("kb_edit.html", request, status, cur=cur, entry_id=entry_id, form=form, errors=errors, preview=preview,
                 labels=kbedit.LABELS, topics=kbedit.TOPICS, error=error, notice=notice,
                 draft=current.draft if draft is None else draft, day=state.settings.today(),
                 provinces=_province_choices(request, cur), chosen=province.code if province else "",
                 audience=province.name if province else "",
                 **kbedit.editor_context(state.runtime.engine.kb, entry_id, form, state.settings.today()))


@router.get("/kb/new")
def kb_new_form(request: Request, cur: NationalAdmin) -> Response:
    form = {"questions": request.query_params.get("question", ""), "topic": kbedit.TOPICS[0]}
    return _html("kb_new.html", request, cur=cur, form=form, labels=kbedit.LABELS, topics=kbedit.TOPICS, error="",
                 required=kbedit.REQUIRED_FIELDS)


@router.post("/kb/new")
async def kb_new(request: Request, cur: NationalAdmin, form: CsrfForm) -> Response:
    try:
        entry_id = await run_in_threadpool(kbedit.create_draft, _state(request).runtime.db, form, cur.user)
    except kbedit.EditError as exc:
        keep = {k: v for k, v in form.items() if k != "csrf_token"}
        return _html("kb_new.html", request, 400, cur=cur, form=keep, labels=kbedit.LABELS, topics=kbedit.TOPICS,
                     error=str(exc), required=kbedit.REQUIRED_FIELDS)
    return _back(f"/console/kb/{entry_id}", done="draft_saved")


@router.post("/kb/model/retrain")
async def kb_model_retrain(request: Request, cur: NationalAdmin, form: CsrfForm) -> Response:
    """Queue a training of the semantic model on the live knowledge base (after a failure, say)."""
    state = _state(request)

    def queue() -> None:
        row_id = retrain.request(state.runtime.db, state.settings, f"quản trị viên {cur.user.email} yêu cầu")
        with Session(state.runtime.db) as session:
            auth.audit(session, cur.user, "model.retrain", f"lần học {row_id}")
            session.commit()

    await run_in_threadpool(queue)
    return _back("/console/kb")


@router.get("/kb/export.csv")
def kb_export_csv(request: Request) -> Response:
    name = f"kho-kien-thuc-{dt.date.today().isoformat()}.csv"
    return Response(kbcsv.export_csv(_state(request).runtime.db), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS})


@router.get("/kb/import")
def kb_import_form(request: Request, cur: NationalAdmin) -> Response:
    return _html("kb_import.html", request, cur=cur, report=None, files_report=None, dry_run=True, error="")


@router.post("/kb/import")
async def kb_import(request: Request, cur: NationalAdmin, form: CsrfUpload) -> Response:
    data = form.get("file")
    if not isinstance(data, bytes) or not data:
        return _html("kb_import.html", request, 400, cur=cur, report=None, files_report=None, dry_run=True,
                     error="Hãy chọn một tệp CSV.")
    state = _state(request)
    dry_run = form.get("dry_run") == "1"
    kb, day, db = state.runtime.engine.kb, state.settings.today(), state.runtime.db
    if dry_run:
        report, _ = await run_in_threadpool(kbcsv.check, db, kb, data, day)
    else:
        report = await run_in_threadpool(kbcsv.apply, db, kb, data, day, cur.user)
        if report.applied:
            await run_in_threadpool(state.runtime.reload)
    return _html("kb_import.html", request, 200 if report.ok else 400, cur=cur, report=report, files_report=None,
                 dry_run=dry_run, error="")


@router.get("/kb/export.zip")
def kb_export_zip(request: Request) -> Response:
    name = f"knowledge_base-{dt.date.today().isoformat()}.zip"
    return Response(kbfiles.export_zip(_state(request).runtime.db), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS})


@router.post("/kb/import-files")
async def kb_import_files(request: Request, cur: NationalAdmin, form: CsrfUpload) -> Response:
    data = form.get("file")
    if not isinstance(data, bytes) or not data:
        return _html("kb_import.html", request, 400, cur=cur, report=None, files_report=None, dry_run=True,
                     error="Hãy chọn một tệp .zip.")
    state = _state(request)
    dry_run = form.get("dry_run") == "1"
    settings, db = state.settings, state.runtime.db
    topics = settings.topics_file or (settings.knowledge_base_dir / "topics.tsv")
    topics = topics if topics.exists() else None
    if dry_run:
        report, _ = await run_in_threadpool(kbfiles.check, db, data, settings.today(), topics)
    else:
        report = await run_in_threadpool(kbfiles.apply, db, data, settings.today(), topics, cur.user)
        if report.applied:
            await run_in_threadpool(state.runtime.reload)
    return _html("kb_import.html", request, 200 if report.ok else 400, cur=cur, report=None, files_report=report,
                 dry_run=dry_run, error="")


@router.get("/kb/{entry_id}")
def kb_edit(request: Request, cur: NationalAdmin, entry_id: str) -> Response:
    return kb_page(request, cur, entry_id, notice=NOTICES.get(request.query_params.get("done", ""), ""),
                   chosen=request.query_params.get("province", ""))


@router.post("/kb/{entry_id}")
async def kb_submit(request: Request, cur: NationalAdmin, form: CsrfForm, entry_id: str) -> Response:
    state = _state(request)
    db, action = state.runtime.db, form.get("action", "save")
    chosen = form.get("province", "")  # the preview's province: kept across saving and publishing
    try:
        if action == "preview":
            return await run_in_threadpool(kb_page, request, cur, entry_id, 200, form, chosen=chosen)
        if action == "discard":
            await run_in_threadpool(kbedit.discard_draft, db, entry_id, cur.user)
            return _back(f"/console/kb/{entry_id}", done="draft_discarded", province=chosen)
        await run_in_threadpool(kbedit.save_draft, db, entry_id, form, cur.user)  # nothing typed is lost
        if action == "publish":
            await run_in_threadpool(kbedit.publish, db, state.runtime.engine.kb, entry_id, cur.user,
                                    state.settings.today())
            await run_in_threadpool(state.runtime.reload)  # the bot answers from the new version now
            return _back(f"/console/kb/{entry_id}", done="published", province=chosen)
    except kbedit.EditError as exc:
        return await run_in_threadpool(kb_page, request, cur, entry_id, 400, form, str(exc), chosen=chosen)
    return _back(f"/console/kb/{entry_id}", done="draft_saved", province=chosen)


@router.post("/api/kb/{entry_id}/preview")
async def kb_preview(request: Request, cur: NationalAdmin, form: CsrfForm, entry_id: str) -> Response:
    state = _state(request)
    province = _answers_for(request, cur, form.get("province", ""))
    errors, preview = kbedit.check(state.runtime.engine.kb, entry_id, kbedit.from_form({"id": entry_id}, form),
                                   state.settings.today(), province)
    return JSONResponse({"preview": preview, "errors": errors}, headers=SECURITY_HEADERS)


@router.get("/kb/{entry_id}/history")
def kb_history(request: Request, cur: NationalAdmin, entry_id: str) -> Response:
    try:
        versions = kbedit.history(_state(request).runtime.db, entry_id)
    except kbedit.EditError as exc:
        return _error(request, 404, str(exc), cur)
    return _html("kb_history.html", request, cur=cur, entry_id=entry_id, versions=versions, local=inbox.local,
                 notice=NOTICES.get(request.query_params.get("done", ""), ""), error="")


@router.post("/kb/{entry_id}/rollback/{version_id}")
async def kb_rollback(request: Request, cur: NationalAdmin, form: CsrfForm, entry_id: str, version_id: int) -> Response:
    state = _state(request)
    if form.get("confirm") != "1":  # never restored in one click: the confirmation page first
        return await run_in_threadpool(rollback_confirm_page, request, cur, entry_id, version_id)
    try:
        await run_in_threadpool(kbedit.rollback, state.runtime.db, state.runtime.engine.kb, entry_id, version_id,
                                cur.user, state.settings.today())
    except kbedit.EditError as exc:
        versions = kbedit.history(state.runtime.db, entry_id)
        return _html("kb_history.html", request, 400, cur=cur, entry_id=entry_id, versions=versions,
                     local=inbox.local, notice="", error=str(exc))
    await run_in_threadpool(state.runtime.reload)
    return _back(f"/console/kb/{entry_id}/history", done="rolled_back")


def rollback_confirm_page(request: Request, cur: Current, entry_id: str, version_id: int) -> Response:
    """What restoring a version would change in the live entry, with the button that does it (confirm=1)."""
    try:
        number, changes = kbedit.rollback_preview(_state(request).runtime.db, entry_id, version_id)
    except kbedit.EditError as exc:
        return _error(request, 404, str(exc), cur)
    return _html("kb_rollback_confirm.html", request, cur=cur, entry_id=entry_id, version_id=version_id,
                 number=number, changes=changes)
