"""Alembic environment. `bhxh-bot db ...` (app/migrate.py) passes an open connection in
`config.attributes["connection"]`; the plain `alembic` command uses DATABASE_URL from the settings."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table there (and is plain ALTER elsewhere)
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `bhxh-bot db upgrade` against the database")

connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from app.database import make_engine
    from app.settings import get_settings

    engine = make_engine(get_settings().database_url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
