"""Database schema managed by Alembic (app/migrations/).

`upgrade` brings any database to the newest revision: an empty one, one at an older revision,
or one created by the old `SQLModel.metadata.create_all` (tables but no `alembic_version`),
which is adopted: it is matched against the newest revision's schema, then the initial one;
tables, nullable columns and indexes it lacks are added, and it is stamped with the revision it
matched before the later ones run. Several processes starting at once take turns (an advisory lock on
PostgreSQL, a lock file beside a SQLite database).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Column, MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table
from app.database import make_engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INITIAL = "0001"
_PG_LOCK_KEY = 0x62687868  # "bhxh": one advisory lock for schema changes


class SchemaError(RuntimeError):
    pass


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    newest = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if newest is None:
        raise SchemaError(f"no migrations in {MIGRATIONS}")
    return newest


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _schema_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        return
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def initial_schema() -> MetaData:
    """The tables as the initial revision creates them (what `create_all` made before migrations)."""
    path = next(MIGRATIONS.glob(f"versions/{INITIAL}_*.py"))
    spec = importlib.util.spec_from_file_location(f"bhxh_migration_{INITIAL}", path)
    if spec is None or spec.loader is None:
        raise SchemaError(f"{path}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.schema()


def _diff(conn: Connection, metadata: MetaData) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "target_metadata": metadata})
    return compare_metadata(ctx, metadata)


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    names = []
    for item in rest:
        name = getattr(item, "name", None)
        if name is None and isinstance(item, str | int):
            name = str(item)
        if name:
            names.append(name)
    return f"{kind} {'.'.join(names)}".strip()


def _plan(conn: Connection, schema: MetaData) -> tuple[list[str], list[Any]]:
    """What differs between the database and `schema`: problems, and additions that can be made."""
    problems, additions = [], []
    for diff in _diff(conn, schema):
        kind = diff[0] if isinstance(diff, tuple) else "modify"
        if kind in ("add_table", "add_index"):
            additions.append(diff)
        elif kind == "add_column":
            _, _, table, column = diff
            if column.nullable or column.server_default is not None:
                additions.append(diff)
            else:
                problems.append(f"column {table}.{column.name} is required and cannot be added to existing rows")
        elif kind == "remove_table" and diff[1].name not in schema.tables:
            continue  # a table of someone else's in the same database: not ours to judge
        else:
            problems.append(_describe(diff))
    return problems, additions


def _adopt(conn: Connection) -> None:
    """A database made by `create_all` before migrations existed: find the newest revision whose
    schema it has, give it the tables, nullable columns and indexes an older `create_all` could
    not add, and stamp it with that revision; refuse anything else, before changing anything."""
    candidates = [(head(), SQLModel.metadata), (INITIAL, initial_schema())]
    tried = []
    for revision, schema in candidates:
        problems, additions = _plan(conn, schema)
        if not problems:
            break
        tried.append(f"revision {revision}: " + "; ".join(problems))
    else:  # checked before anything changes (SQLite does not roll DDL back here)
        raise SchemaError("the database has tables but no migration history, and they differ from what this "
                          "application created: " + " | ".join(tried))
    ops = Operations(MigrationContext.configure(conn))
    added = []
    for kind, *rest in additions:
        if kind == "add_column":
            _, table, column = rest
            ops.add_column(table, Column(column.name, column.type, nullable=column.nullable,
                                         server_default=column.server_default))
            added.append(f"column {table}.{column.name}")
        else:
            rest[0].create(conn)
            added.append(f"{kind.removeprefix('add_')} {rest[0].name}")
    command.stamp(alembic_config(conn), revision)
    log.warning("database created before migrations: adopted at revision %s%s", revision,
                f" (added {', '.join(added)})" if added else "")


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `revision`; returns (before, after)."""
    with _schema_lock(engine):
        with engine.begin() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            if before is None and set(inspect(conn).get_table_names()) & set(initial_schema().tables):
                _adopt(conn)
                before = MigrationContext.configure(conn).get_current_revision()
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
        after = current(engine)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "nothing", after)
    return before, after


def check(engine: Engine) -> list[str]:
    """Differences between the database and the models (empty when the migrations match them)."""
    with engine.connect() as conn:
        return [_describe(d) for d in _diff(conn, SQLModel.metadata)]


def ensure(engine: Engine, upgrade_on_start: bool = True) -> None:
    """At start-up: upgrade, or (with upgrades on start turned off) refuse an out-of-date schema."""
    if upgrade_on_start:
        upgrade(engine)
        return
    have, want = current(engine), head()
    if have != want:
        raise SchemaError(f"database schema is at revision {have or 'none'} but this release needs {want}: "
                          "run `bhxh-bot db upgrade` (DB_UPGRADE_ON_START is off)")


def revision(message: str) -> str:
    """Write a new migration with the differences between the newest revision and the models
    (autogenerate against a scratch SQLite database)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/scratch.db")
        upgrade(engine)
        number = len(list(MIGRATIONS.glob("versions/[0-9][0-9][0-9][0-9]_*.py"))) + 1
        with engine.begin() as conn:
            script = command.revision(alembic_config(conn), message=message, autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()
    if not isinstance(script, Script):
        raise SchemaError("alembic did not write one revision")
    return script.path
