"""The staff and admin web console (server-rendered Jinja2 pages under /console)."""

from __future__ import annotations


def build_router():
    """The console's routes, to mount on the app (imported lazily: the CLI's `users` command needs
    only app.console.auth)."""
    from app.console.routes import build_router as build

    return build()
