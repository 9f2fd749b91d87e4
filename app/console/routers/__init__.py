"""The console's routes, one router per area, each requiring its role once (app.console.deps); and the
exception handlers that answer for all of them: `Denied` (a refusal from a dependency or a route) and the
Vietnamese error pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from app.console import auth
from app.console.deps import COOKIE, Denied
from app.console.pages import _error, _state, _wants_json
from app.console.routers import audit, conversations, dashboard, inbox, kb, login, parameters, static, unanswered, users

PREFIX = "/console"
# in this order: within an area a fixed address comes before a pattern that would take it too (kb.py)
AREAS = (static, login, inbox, conversations, users, audit, dashboard, kb, unanswered, parameters)


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for area in AREAS:
        router.include_router(area.router, prefix=PREFIX)
    return router


ERROR_PAGES = {
    400: "Yêu cầu không hợp lệ.",
    404: "Không có trang này. Có thể địa chỉ đã gõ sai hoặc trang đã được chuyển.",
    405: "Không mở trực tiếp được địa chỉ này; hãy dùng các nút trên trang.",
    422: "Địa chỉ không hợp lệ (ví dụ: số cuộc trò chuyện phải là một số).",
    500: "Hệ thống gặp lỗi khi xử lý yêu cầu này. Vui lòng thử lại; nếu vẫn lỗi, hãy báo quản trị viên.",
}


def install_error_pages(app) -> None:
    from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    def page(request: Request) -> bool:
        path = request.url.path
        return (path == PREFIX or path.startswith(PREFIX + "/")) and not _wants_json(request)

    def error_page(request: Request, status: int) -> Response:
        try:
            cur = auth.current(_state(request).runtime.db, request.cookies.get(COOKIE))
        except Exception:  # the page must show even when the database does not answer
            cur = None
        message = ERROR_PAGES.get(status) or ERROR_PAGES[500 if status >= 500 else 400]
        return _error(request, status, message, cur)

    async def on_denied(request: Request, exc: Denied) -> Response:
        return exc.response

    async def on_http(request: Request, exc: HTTPException) -> Response:
        if not page(request) or exc.status_code == 413:  # a body over the limit keeps the middleware's answer
            return await http_exception_handler(request, exc)
        response = await run_in_threadpool(error_page, request, exc.status_code)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        if not page(request):
            return await request_validation_exception_handler(request, exc)
        return await run_in_threadpool(error_page, request, 422)

    async def on_crash(request: Request, exc: Exception) -> Response:
        if not page(request):
            return PlainTextResponse("Internal Server Error", status_code=500)  # as Starlette answers by default
        return await run_in_threadpool(error_page, request, 500)

    app.add_exception_handler(Denied, on_denied)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(Exception, on_crash)
