"""ASGI middleware for every endpoint: request metrics, security headers, per-IP rate limit on
the API, and the request body size limit (413 before the body is read)."""

from __future__ import annotations

import json
import math

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.ratelimit import RateLimiter

# HTML pages (the staff console) get a strict policy: only this origin's scripts, styles and
# images, no inline script, no plugins, never framed. A route that sets its own policy keeps it.
HTML_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# FastAPI's /docs and /redoc load Swagger UI / ReDoc from cdn.jsdelivr.net with an inline bootstrap script
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


async def _json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestMetrics:
    """Counts requests by route template (not raw path: conversation ids would explode the labels)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            metrics.http_request(getattr(route, "path", "unmatched"), status)


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        path = scope.get("path", "")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                ctype = Headers(raw=headers).get("content-type", "")
                if path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
                    csp = DOCS_CSP
                elif ctype.startswith("text/html"):
                    csp = HTML_CSP
                else:
                    csp = OTHER_CSP
                add = {b"x-content-type-options": b"nosniff", b"x-frame-options": b"DENY",
                       b"referrer-policy": b"no-referrer", b"content-security-policy": csp.encode(),
                       b"cross-origin-opener-policy": b"same-origin",
                       b"permissions-policy": b"camera=(), microphone=(), geolocation=()"}
                if https:
                    add[b"strict-transport-security"] = HSTS.encode()
                headers += [(k, v) for k, v in add.items() if k not in present]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_wrapper)


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing passes it on (any other error there becomes a 400)."""

    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"request body larger than {limit} bytes", headers={"Connection": "close"})


class BodyLimit:
    """413 for a body over the limit: at once from Content-Length, or as soon as a streamed body
    passes it (the rest is never read). Webhooks have their own limit (WEBHOOK_MAX_BYTES), and so do
    the console's knowledge-base imports (UPLOAD_MAX_BYTES)."""

    UPLOAD_PATHS = ("/console/kb/import",)  # the admin's knowledge-base files (CSV, zip)

    def __init__(self, app: ASGIApp, max_bytes: int, webhook_max_bytes: int, upload_max_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.webhook_max_bytes = webhook_max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith("/webhooks/"):
            limit = self.webhook_max_bytes
        elif path.startswith(self.UPLOAD_PATHS):
            limit = self.upload_max_bytes
        else:
            limit = self.max_bytes
        detail = f"request body larger than {limit} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _json(send, 413 if declared.isdigit() else 400, detail if declared.isdigit() else "bad Content-Length",
                        {"connection": "close"})
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except BodyTooLarge:
            if not started:
                await _json(send, 413, detail, {"connection": "close"})
        except BaseExceptionGroup as group:  # raised inside a task group
            if group.subgroup(BodyTooLarge) is None or started:
                raise
            await _json(send, 413, detail, {"connection": "close"})


class RateLimit:
    """Per client IP on the API (`/api/`): 429 with Retry-After once the bucket is empty."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, prefixes: tuple[str, ...] = ("/api/",)):
        self.app = app
        self.limiter = limiter
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(self.prefixes):
            client = scope.get("client")
            wait = self.limiter.hit(client[0] if client else "unknown")
            if wait:
                await _json(send, 429, "Bạn thao tác quá nhanh, vui lòng thử lại sau ít phút.",
                            {"retry-after": str(max(1, math.ceil(wait)))})
                return
        await self.app(scope, receive, send)
