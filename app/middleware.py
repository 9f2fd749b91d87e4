"""ASGI middleware for every endpoint: request metrics by route template."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics


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
