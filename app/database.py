"""The database engine factory: one SQLAlchemy engine per database URL, SQLite or PostgreSQL.

Everything that opens the database (the service, the worker, the CLI, migrations) gets its engine here.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # write-ahead log: readers never wait for the writer, and a commit is an append, not an fsync
            # of the whole database; NORMAL keeps the database consistent after a crash
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        # a database that does not answer fails fast (readiness checks, start-up) instead of hanging
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    return engine
