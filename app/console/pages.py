"""What the console's routers answer with: the Jinja2 pages, error pages and JSON errors, redirects
back to a page, paging, and the notices a page shows after an action.

The helpers keep the names they had when every route lived in one module (`_html`, `_error`, `_back`,
...): they are the console's own, used by app.console.deps and app.console.routers only."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.console import inbox
from app.console.auth import Current

HERE = Path(__file__).resolve().parent
# Only what the console adds to app.middleware.SecurityHeaders, which sets every security header
# (Content-Security-Policy, Referrer-Policy, X-Frame-Options, ...) in one place for the whole app.
# Body limits come from the settings (MAX_REQUEST_BYTES, UPLOAD_MAX_BYTES), enforced by app.middleware.BodyLimit.
SECURITY_HEADERS = {"Cache-Control": "no-store"}

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
templates.filters["json_vi"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
templates.globals["short"] = inbox.short
templates.globals["local"] = inbox.local  # Vietnam time (UTC+7), as every time staff read


def _html(name: str, request: Request, status: int = 200, cur: Current | None = None, **ctx) -> HTMLResponse:
    body = templates.get_template(name).render(request=request, me=cur.user if cur else None,
                                               csrf=cur.csrf_token if cur else "", **ctx)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/console/api/") or "application/json" in request.headers.get("accept", "")


def _error(request: Request, status: int, message: str, cur: Current | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=SECURITY_HEADERS)
    return _html("error.html", request, status, cur, message=message)


def _state(request: Request):
    return request.app.state


def _page(request: Request) -> int:
    """The page a list shows (?page=, from 1)."""
    value = request.query_params.get("page", "1")
    return min(int(value), 10_000) if value.isdigit() and int(value) > 0 else 1


def _pager(path: str, params: dict[str, str], page: int, more: bool) -> dict:
    """Links to the previous and next pages of a list, keeping its filters."""
    def link(n: int) -> str:
        return path + "?" + urlencode({**{k: v for k, v in params.items() if v and k != "page"}, "page": str(n)})
    return {"page": page, "prev": link(page - 1) if page > 1 else "", "next": link(page + 1) if more else ""}


def _back(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


NOTICES = {
    "reply": "Đã nhận tin trả lời; trạng thái gửi hiện ngay dưới tin nhắn.",
    "retry": "Đang gửi lại tin nhắn; trạng thái gửi hiện ngay dưới tin nhắn.",
    "assign": "Bạn đã nhận xử lý cuộc trò chuyện này.",
    "note": "Đã thêm ghi chú.",
    "resolve": "Đã đánh dấu là đã xử lý. Trợ lý tự động trả lời công dân từ bây giờ.",
    "resolve_keep": "Đã đánh dấu là đã xử lý. Cuộc trò chuyện vẫn do cán bộ giữ: nếu công dân nhắn thêm, "
                    "yêu cầu mở lại ở đầu hộp yêu cầu.",
    "release": "Đã trả cuộc trò chuyện cho trợ lý tự động.",
    "draft_saved": "Đã lưu bản nháp. Trợ lý vẫn trả lời theo bản đang dùng cho đến khi xuất bản.",
    "draft_discarded": "Đã bỏ bản nháp.",
    "published": "Đã xuất bản. Trợ lý trả lời theo nội dung mới từ bây giờ.",
    "rolled_back": "Đã khôi phục phiên bản cũ; trợ lý trả lời theo nội dung này từ bây giờ.",
    "param_added": "Đã thêm giá trị mới; các câu trả lời dùng giá trị này từ ngày hiệu lực.",
    "question_added": "Đã thêm câu hỏi vào mục và xuất bản; trợ lý nhận ra câu hỏi này từ bây giờ.",
    "unanswered_dismissed": "Đã bỏ qua nhóm câu hỏi. Xem lại hoặc hoàn tác ở “Đã bỏ qua, để sau”.",
    "unanswered_snoozed": "Đã để sau nhóm câu hỏi; nhóm sẽ hiện lại khi hết hạn.",
    "unanswered_undone": "Đã hoàn tác; nhóm câu hỏi hiện lại trong danh sách.",
    "user_created": "Đã tạo người dùng.",
    "user_updated": "Đã cập nhật người dùng.",
    "user_unlocked": "Đã mở khoá đăng nhập: người dùng đăng nhập được ngay, không phải chờ.",
}
