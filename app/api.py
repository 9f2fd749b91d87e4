"""HTTP API and webhooks. Routes stay thin: the work is in app.service, app.delivery and webhooks/."""

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from app import retrain
from app.delivery import Delivery, NoSuchConversation, WindowClosed
from app.provinces import Province
from app.service import ConversationService, KnowledgeWatcher, Runtime
from app.settings import Settings, get_settings
from webhooks.base import Channel, ChannelError, InboundEvent, clean_text
from webhooks.registry import adapters, build_channels

log = logging.getLogger(__name__)

MAX_TEXT = 4000
# conversation.id is a 32-bit INTEGER column: a larger id is a 422, not a database overflow
ConversationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class AskRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    conversation_id: str | None = Field(default=None, max_length=120)

    _clean = field_validator("text", "conversation_id")(lambda v: clean_text(v) if isinstance(v, str) else v)


class ChoiceOut(BaseModel):
    entry_id: str
    title: str


class AskResponse(BaseModel):
    text: str
    outcome: str
    entry_id: str | None
    candidates: list[str]
    score: float
    reply: str
    choices: list[ChoiceOut]
    conversation_id: str


MAX_AHEAD_MS = 24 * 3600 * 1000  # platform clocks and ours may differ; a day ahead is not a clock error


def in_window(channel: str, events: list[InboundEvent], retention_days: float,
              now_ms: int | None = None) -> list[InboundEvent]:
    """The events whose platform timestamp is neither older than the retention of webhook events (their dedupe
    keys are pruned after it, so an older event could be a replay) nor more than a day ahead. Events without a
    timestamp are kept. The others are acknowledged and dropped, logged in one line."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    oldest = now_ms - int(retention_days * 86_400_000)
    kept = [e for e in events if not e.timestamp_ms or oldest <= e.timestamp_ms <= now_ms + MAX_AHEAD_MS]
    if len(kept) < len(events):
        log.warning("%d %s events with a timestamp older than %g days or more than a day ahead: acknowledged and dropped",
                    len(events) - len(kept), channel, retention_days)
    return kept


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = runtime or Runtime.start(settings)
    delivery = Delivery(runtime, build_channels(runtime))
    watcher = KnowledgeWatcher(runtime, settings.kb_poll_seconds)
    trainer = retrain.trainer_for(runtime.db, runtime.settings)  # background retraining of the semantic model

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for code, channels in delivery.channels.items():
            where = "" if runtime.provinces.single else f" for province {code}"
            for name, channel in channels.items():
                if channel.enabled:
                    log.info("channel %s enabled%s", name, where)
                elif runtime.provinces.single:
                    log.warning("channel %s disabled: %s", name, channel.setup_hint)
        if settings.run_workers:
            delivery.start(alone=not settings.shared_database)
        watcher.start()
        if trainer is not None:
            trainer.start()
        yield
        if trainer is not None:
            trainer.stop()
        watcher.stop()
        delivery.stop()

    app = FastAPI(title="BHXH Assistant", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_ops(app, settings)  # /readyz, /metrics; metrics, security headers, rate and size limits (app/middleware.py)
    app.state.runtime = runtime
    app.state.delivery = delivery

    def get_runtime(request: Request) -> Runtime:
        return request.app.state.runtime

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        token = settings.admin_api_token
        if not token:
            raise HTTPException(status_code=503, detail="ADMIN_API_TOKEN is not configured on the server")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong admin API token",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/ask", response_model=AskResponse, dependencies=[Depends(require_admin)])
    def ask(body: AskRequest, runtime: Annotated[Runtime, Depends(get_runtime)]) -> AskResponse:
        import uuid

        conversation = body.conversation_id or f"api-{uuid.uuid4().hex[:12]}"
        reply, _ = ConversationService(runtime).handle("api", conversation, body.text)
        return AskResponse(
            text=body.text, outcome=reply.outcome, entry_id=reply.entry_id, candidates=reply.candidates,
            score=round(reply.score, 4), reply=reply.text,
            choices=[ChoiceOut(entry_id=c.entry_id, title=c.title) for c in reply.choices],
            conversation_id=conversation,
        )

    # --- webhooks -------------------------------------------------------------------

    async def read_body(request: Request) -> bytes:
        limit = settings.webhook_max_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HTTPException(status_code=413, detail=f"body larger than {limit} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPException(status_code=413, detail=f"body larger than {limit} bytes")
        return body

    provinces = runtime.provinces

    def unrouted(adapter: type[Channel], account: str) -> JSONResponse:
        """An event for an OA or page no province declares. It cannot be verified (no key) and belongs to
        nobody here: acknowledged with 200, so that the platform does not retry it for hours and then
        disable the app's webhook for every province, logged for the operator, and not stored."""
        log.warning("%s event for %s %s, which no province declares: acknowledged and dropped (add it to the "
                    "provinces file if it is ours)", adapter.name, adapter.account_label, account or "(none)")
        return JSONResponse({"ok": True, "new": 0, "duplicates": 0, "ignored": "unknown account"})

    def route(adapter: type[Channel], raw: bytes) -> list[tuple[Province, bytes]] | None:
        """The body by the province of the account (OA, page) it was sent to: [(province, body bytes)]; the
        whole body for one province; None when no account in it is a province's. A notification batching
        several accounts' entries is split by province; entries of accounts no province declares are logged
        and dropped."""
        if provinces.single:
            return [(provinces.get(None), raw)]
        entries = adapter.entries(raw)
        if entries is None:  # one account's events per request
            accounts = adapter.accounts(raw)
            province = provinces.by_account(adapter.account_field, accounts[0] if accounts else "")
            return None if province is None else [(province, raw)]
        groups: dict[str, list[Any]] = {}
        for account, entry in entries:
            province = provinces.by_account(adapter.account_field, account)
            if province is None:
                unrouted(adapter, account)
                continue
            groups.setdefault(province.code, []).append(entry)
        if not groups:
            return None
        if len(groups) == 1 and len(next(iter(groups.values()))) == len(entries):
            return [(provinces.get(next(iter(groups))), raw)]
        return [(provinces.get(code), adapter.with_entries(raw, items)) for code, items in groups.items()]

    async def receive(adapter: type[Channel], request: Request) -> JSONResponse:
        """Any platform's webhook: verified with the key of the province it was sent to, parsed, stored,
        and only then acknowledged."""
        name = adapter.name
        if not any(ch[name].enabled for ch in delivery.channels.values()):
            return JSONResponse({"detail": f"{name} channel is disabled: {adapter.setup_hint}"}, status_code=503)
        raw = await read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if adapter.url_check(raw, headers):
            return JSONResponse({"ok": True})
        # the province is picked from the account the event was sent to; its key verifies the signature
        parts = route(adapter, raw)
        if parts is None:
            return unrouted(adapter, ",".join(a for a in adapter.accounts(raw) if a))
        channel = delivery.channels[parts[0][0].code][name]
        # on the raw bytes, before anything is parsed or stored; a body mixing accounts of different apps
        # (different secrets) cannot be genuine
        if not channel.enabled or not all(delivery.channels[p.code][name].verify(raw, headers) for p, _ in parts):
            return JSONResponse({"detail": "missing or invalid signature"}, status_code=401)
        events: list[InboundEvent] = []
        for province, part in parts:
            try:
                found = delivery.channels[province.code][name].parse(part)
            except ChannelError as exc:
                log.warning("malformed %s event refused with 400: %s", name, exc)
                return JSONResponse({"detail": f"malformed {name} event: {exc}"}, status_code=400)
            for event in found:
                event.province = province.code
            events += found
        events = in_window(name, events, settings.inbound_retention_days)
        if not events:
            return JSONResponse({"ok": True, "new": 0, "duplicates": 0, "ignored": "timestamp outside the window"})
        # durable before the acknowledgement; the writer thread commits concurrent webhooks together
        stored = await asyncio.wrap_future(delivery.submit(events))
        return JSONResponse({"ok": True, "new": stored.new, "duplicates": stored.duplicates})

    def handshake(adapter: type[Channel], request: Request) -> PlainTextResponse:
        challenge = adapter.handshake(settings, request.query_params)
        if challenge is None:
            return PlainTextResponse("verification failed", status_code=403)
        return PlainTextResponse(challenge)

    def serve(adapter: type[Channel]) -> None:
        """The platform's webhook at /webhooks/<path>, and its GET handshake if it has one."""

        async def webhook(request: Request) -> JSONResponse:
            return await receive(adapter, request)

        def subscribe(request: Request) -> PlainTextResponse:
            return handshake(adapter, request)

        path = f"/webhooks/{adapter.path}"
        app.add_api_route(path, webhook, methods=["POST"], name=f"{adapter.path}_webhook")
        if adapter.handshake_params:
            query = [{"name": param, "in": "query", "required": False,
                      "schema": {"type": "string", "default": "", "title": param.replace("_", " ").title()}}
                     for param in adapter.handshake_params]
            app.add_api_route(path, subscribe, methods=["GET"], name=f"{adapter.path}_handshake",
                              openapi_extra={"parameters": query})

    for adapter in adapters():  # every registered platform, served by the same two handlers
        serve(adapter)

    # --- staff replies (the staff console builds on these) ----------------------------

    class StaffReply(BaseModel):
        text: str = Field(min_length=1, max_length=MAX_TEXT)
        staff: str = Field(default="", max_length=120)

        _clean = field_validator("text", "staff")(lambda v: clean_text(v) if isinstance(v, str) else v)

    @app.post("/api/v1/conversations/{conversation_id}/replies", dependencies=[Depends(require_admin)])
    def staff_reply(conversation_id: ConversationId, body: StaffReply) -> dict:
        try:
            ids = delivery.staff_reply(conversation_id, body.text, body.staff)
        except WindowClosed as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        except NoSuchConversation:
            raise HTTPException(status_code=404, detail="no such conversation") from None
        return {"queued": ids}

    @app.post("/api/v1/conversations/{conversation_id}/release", dependencies=[Depends(require_admin)])
    def release(conversation_id: ConversationId) -> dict:
        try:
            delivery.release(conversation_id)
        except NoSuchConversation:
            raise HTTPException(status_code=404, detail="no such conversation") from None
        return {"released": True}

    from app.console import build_router, install_error_pages

    app.include_router(build_router())  # the staff console under /console
    install_error_pages(app)
    return app


def install_ops(app: FastAPI, settings: Settings) -> None:
    from app.middleware import BodyLimit, RateLimit, RequestMetrics, SecurityHeaders
    from app.ops import router
    from app.ratelimit import RateLimiter

    app.include_router(router)
    # the staff console's login calls app.ratelimit.limit_login(request, username)
    app.state.login_limiter = RateLimiter(settings.login_rate_per_minute, burst=settings.login_rate_burst)
    # added innermost first: a request meets metrics, then headers, then the rate limit, then the size limit
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes, webhook_max_bytes=settings.webhook_max_bytes,
                       upload_max_bytes=settings.upload_max_bytes)
    app.add_middleware(RateLimit, limiter=RateLimiter(settings.api_rate_per_minute, burst=settings.api_rate_burst))
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics)
