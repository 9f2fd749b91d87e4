"""HTTP API. Routes stay thin: the work is in app.service and app.engine."""


import hmac
import logging
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field

from app.service import ConversationService, Runtime
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)

MAX_TEXT = 4000


class AskRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    conversation_id: str | None = Field(default=None, max_length=120)


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
    app = FastAPI(title="BHXH Assistant", version="0.1.0")
    app.state.settings = settings
    app.state.runtime = runtime or Runtime.start(settings)

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

    return app
