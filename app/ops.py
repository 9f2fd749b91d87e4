"""Operations endpoints: /readyz (can this instance serve?) and /metrics (Prometheus)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app import metrics

log = logging.getLogger(__name__)

router = APIRouter()


def readiness(runtime) -> tuple[list[str], dict[str, bool]]:
    """Reasons this instance cannot serve (empty when ready), and each check's result."""
    reasons = []
    checks = {}
    try:
        with runtime.db.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception as exc:  # the type only: messages may carry host names
        reasons.append(f"database unreachable ({type(exc).__name__})")
        checks["database"] = False
    engine = runtime.engine
    checks["knowledge_base"] = bool(engine.kb.entries)
    if not checks["knowledge_base"]:
        reasons.append("knowledge base not loaded (no entries)")
    wants_model = runtime.settings.semantic_model.lower() != "off"
    checks["model"] = engine.index.encoder is not None or not wants_model
    if not checks["model"]:
        reasons.append(f"semantic model not loaded (SEMANTIC_MODEL={runtime.settings.semantic_model})")
    return reasons, checks


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    reasons, checks = readiness(request.app.state.runtime)
    if reasons:
        return JSONResponse({"status": "unavailable", "reasons": reasons, "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})


def _private_client(request: Request) -> bool:
    """The client (after the trusted proxy's X-Forwarded-For, as uvicorn resolves it) is on loopback or a
    private network."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


@router.get("/metrics", include_in_schema=False)
def prometheus(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    token = request.app.state.settings.metrics_token
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"detail": "missing or wrong metrics token"}, status_code=401)
    elif not _private_client(request):
        # without a token the figures are for a scraper on this host or the private network only
        return JSONResponse({"detail": "metrics are served to private addresses only; set METRICS_TOKEN to scrape "
                                       "from elsewhere"}, status_code=403)
    return Response(metrics.render(request.app.state.runtime.db), media_type=metrics.CONTENT_TYPE)
