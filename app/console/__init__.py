"""The staff and admin web console (server-rendered Jinja2 pages under /console)."""

from __future__ import annotations


def build_router():
    """The console's routes, to mount on the app (imported lazily: the CLI's `users` command needs
    only app.console.auth)."""
    from app.console.routers import build_router as build

    return build()


def install_error_pages(app) -> None:
    """The console's exception handlers, registered once on the app: a refusal (`Denied`: not logged in,
    the wrong role, a stale CSRF token, a body over the limit) becomes its response; console pages answer
    errors (an unknown address, a wrong method, a bad number in the address, a crash) with a Vietnamese
    HTML page instead of FastAPI's JSON; everything else keeps its JSON."""
    from app.console.routers import install_error_pages as install

    install(app)
