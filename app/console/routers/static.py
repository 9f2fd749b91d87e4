"""The console's static files (vendored, served by the app: no CDN). No login needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from app.console.pages import HERE

STATIC = {p.name: p for p in (HERE / "static").iterdir() if p.is_file()}

router = APIRouter()


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC.get(name)
    if path is None:
        return Response("not found", status_code=404)
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
