"""HTTP API and webhooks. Routes stay thin: the work is in app.service, app.delivery and webhooks/."""

import asyncio
import hmac
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from app.delivery import Delivery, NoSuchConversation, WindowClosed
from app.service import ConversationService, KnowledgeWatcher, Runtime
from app.settings import Settings, get_settings
from app.tokens import StoredTokens
from webhooks.base import ChannelError, clean_text, read_json
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


MAX_AHEAD_MS = 24 * 3600 * 1000  # platform clocks and ours may differ; a day ahead is not a clock error


def in_window(channel: str, events: list, retention_days: float, now_ms: int | None = None) -> list:
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

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for code, channels in delivery.channels.items():
            where = "" if runtime.provinces.single else f" for province {code}"
            for name, channel in channels.items():
                if channel.enabled:
                    log.info("channel %s enabled%s", name, where)
                elif runtime.provinces.single:
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

    provinces = runtime.provinces

    def unrouted(name: str, account: str) -> JSONResponse:
        """An event for an OA or page no province declares. It cannot be verified (no key) and belongs to
        nobody here: acknowledged with 200, so that the platform does not retry it for hours and then
        disable the app's webhook for every province, logged for the operator, and not stored."""
        log.warning("%s event for %s %s, which no province declares: acknowledged and dropped (add it to the "
                    "provinces file if it is ours)", name, "OA" if name == "zalo" else "page", account or "(none)")
        return JSONResponse({"ok": True, "new": 0, "duplicates": 0, "ignored": "unknown account"})

    async def receive(name: str, request: Request) -> JSONResponse:
        if not any(ch[name].enabled for ch in delivery.channels.values()):
            return JSONResponse({"detail": f"{name} channel is disabled: {DISABLED[name]}"}, status_code=503)
        raw = await read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if name == "zalo" and "x-zevent-signature" not in headers and raw.strip() in (b"", b"{}"):
            return JSONResponse({"ok": True})  # Zalo's unsigned check when the webhook URL is saved
        # the province is picked from the OA / page the event was sent to; its key verifies the signature
        if name == "zalo":
            account = ZaloChannel.account(raw)
            province = provinces.by_zalo_oa(account)
            if province is None:
                return unrouted(name, account)
            parts = [(province, raw)]
        else:
            parts = messenger_parts(raw)
            if parts is None:
                return unrouted(name, ",".join(a for a in MessengerChannel.accounts(raw) if a))
        channel = delivery.channel(name, parts[0][0].code)
        # on the raw bytes, before anything is parsed or stored; a body mixing pages of different apps
        # (different secrets) cannot be genuine
        if not channel.enabled or not all(delivery.channel(name, p.code).verify(raw, headers) for p, _ in parts):
            return JSONResponse({"detail": "missing or invalid signature"}, status_code=401)
        events = []
        for province, part in parts:
            try:
                found = delivery.channel(name, province.code).parse(part)
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

    def messenger_parts(raw: bytes):
        """A notification's entries grouped by the province of their page: [(province, body bytes)];
        the whole body for one province; None when no entry's page is ours. Entries of pages no province
        declares are logged and dropped."""
        if provinces.single:
            return [(provinces.get(None), raw)]
        try:
            body = read_json(raw)
        except ChannelError:
            return None
        entries = body.get("entry") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            return None
        groups: dict[str, list] = {}
        for entry in entries:
            page = str(entry.get("id") or "") if isinstance(entry, dict) else ""
            province = provinces.by_page(page)
            if province is None:
                unrouted("messenger", page)
                continue
            groups.setdefault(province.code, []).append(entry)
        if not groups:
            return None
        if len(groups) == 1 and len(next(iter(groups.values()))) == len(entries):
            return [(provinces.get(next(iter(groups))), raw)]
        return [(provinces.get(code), json.dumps(dict(body, entry=items)).encode()) for code, items in groups.items()]

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


def build_channels(runtime: Runtime) -> dict[str, dict]:
    """Each province's channels, with its own credentials; its Zalo token pair is stored under
    "zalo" (the default province) or "zalo:<province>"."""
    settings = runtime.settings
    channels = {}
    for province in runtime.provinces:
        zalo = ZaloChannel(settings, creds=province)
        key = "zalo" if province.code == "default" else f"zalo:{province.code}"
        tokens = StoredTokens(runtime.db, key, zalo.refresh_tokens)
        tokens.seed(province.zalo_access_token, province.zalo_refresh_token)
        zalo.tokens = tokens
        channels[province.code] = {"zalo": zalo, "messenger": MessengerChannel(settings, creds=province)}
    return channels
