"""HTTP API and webhooks. Routes stay thin: the work is in app.service, app.delivery and webhooks/."""

import asyncio
import hmac
import logging
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from app.delivery import Delivery, NoSuchConversation, WindowClosed
from app.service import ConversationService, KnowledgeWatcher, Runtime
from app.settings import Settings, get_settings
from app.tokens import StoredTokens
from webhooks.base import ChannelError, clean_text
from webhooks.messenger import MessengerChannel
from webhooks.zalo import ZaloChannel

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


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = runtime or Runtime.start(settings)
    delivery = Delivery(runtime, build_channels(runtime))
    watcher = KnowledgeWatcher(runtime, settings.kb_poll_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for name, channel in delivery.channels.items():
            if channel.enabled:
                log.info("channel %s enabled", name)
            else:
                log.warning("channel %s disabled: %s", name, DISABLED[name])
        if settings.run_workers:
            delivery.start(alone=not settings.shared_database)
        watcher.start()
        yield
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

    async def receive(name: str, request: Request) -> JSONResponse:
        channel = delivery.channels[name]
        if not channel.enabled:
            return JSONResponse({"detail": f"{name} channel is disabled: {DISABLED[name]}"}, status_code=503)
        raw = await read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if name == "zalo" and "x-zevent-signature" not in headers and raw.strip() in (b"", b"{}"):
            return JSONResponse({"ok": True})  # Zalo's unsigned check when the webhook URL is saved
        if not channel.verify(raw, headers):  # on the raw bytes, before anything is parsed or stored
            return JSONResponse({"detail": "missing or invalid signature"}, status_code=401)
        try:
            events = channel.parse(raw)
        except ChannelError as exc:
            return JSONResponse({"detail": f"malformed {name} event: {exc}"}, status_code=400)
        # durable before the acknowledgement; the writer thread commits concurrent webhooks together
        stored = await asyncio.wrap_future(delivery.submit(events))
        return JSONResponse({"ok": True, "new": stored.new, "duplicates": stored.duplicates})

    @app.post("/webhooks/zalo")
    async def zalo_webhook(request: Request) -> JSONResponse:
        return await receive("zalo", request)

    @app.post("/webhooks/facebook")
    async def facebook_webhook(request: Request) -> JSONResponse:
        return await receive("messenger", request)

    @app.get("/webhooks/facebook")
    def facebook_handshake(mode: Annotated[str, Query(alias="hub.mode")] = "",
                           token: Annotated[str, Query(alias="hub.verify_token")] = "",
                           challenge: Annotated[str, Query(alias="hub.challenge")] = ""):
        expected = settings.fb_verify_token
        if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
            return PlainTextResponse(challenge)
        return PlainTextResponse("verification failed", status_code=403)

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

    from app.console import build_router

    app.include_router(build_router())  # the staff console under /console
    return app


DISABLED = {
    "zalo": "set ZALO_APP_ID and ZALO_OA_SECRET_KEY (and ZALO_APP_SECRET, ZALO_ACCESS_TOKEN, ZALO_REFRESH_TOKEN to reply)",
    "messenger": "set FB_APP_SECRET and FB_PAGE_ACCESS_TOKEN (and FB_VERIFY_TOKEN for the handshake)",
}


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


def build_channels(runtime: Runtime) -> dict:
    settings = runtime.settings
    zalo = ZaloChannel(settings)
    tokens = StoredTokens(runtime.db, "zalo", zalo.refresh_tokens)
    tokens.seed(settings.zalo_access_token, settings.zalo_refresh_token)
    zalo.tokens = tokens
    return {"zalo": zalo, "messenger": MessengerChannel(settings)}
