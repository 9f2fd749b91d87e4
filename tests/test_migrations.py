"""Alembic migrations (app/migrations/) through `bhxh-bot db ...`, on SQLite and PostgreSQL:
the migrated schema is exactly the models' schema, and databases made by the old create_all
are adopted."""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from app import database, migrate, models
from tests.conftest import BIN, ROOT, base_env


def tables(url: str) -> set[str]:
    engine = database.make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def scalar(url: str, sql: str):
    engine = database.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_models_schema(cli):
    out = cli("db", "upgrade").stdout
    assert f"revision {migrate.head()}" in out and "was empty" in out
    assert tables(cli.database_url) == set(SQLModel.metadata.tables) | {"alembic_version"}
    # alembic's compare_metadata, as `alembic check` does: nothing differs, types included
    engine = database.make_engine(cli.database_url)
    assert migrate.check(engine) == []
    engine.dispose()
    assert "matches the models" in cli("db", "check").stdout
    assert cli("db", "current").stdout.startswith(f"database: {migrate.head()}")
    # upgrading again changes nothing
    assert "was" not in cli("db", "upgrade").stdout


def test_db_check_fails_when_the_schema_differs_from_the_models(cli):
    cli("db", "upgrade")
    engine = database.make_engine(cli.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE feedback ADD COLUMN stray INTEGER"))
    engine.dispose()
    result = cli("db", "check", check=False)
    assert result.returncode == 1
    assert "feedback.stray" in result.stderr and "bhxh-bot db revision" in result.stderr


def test_a_database_made_by_create_all_is_adopted_with_its_rows(cli):
    engine = database.make_engine(cli.database_url)
    SQLModel.metadata.create_all(engine)  # what start-up did before migrations
    with engine.begin() as conn:
        conn.execute(sa.insert(models.Conversation.__table__).values(
            channel="zalo", external_id="citizen-1", created_at=models.utcnow(), updated_at=models.utcnow()))
    engine.dispose()
    result = cli("db", "upgrade")
    assert f"adopted at revision {migrate.head()}" in result.stderr  # it has the newest schema already
    assert scalar(cli.database_url, "SELECT version_num FROM alembic_version") == migrate.head()
    assert scalar(cli.database_url, "SELECT external_id FROM conversation") == "citizen-1"
    assert cli("db", "check").returncode == 0


def test_an_older_release_database_gets_the_tables_and_columns_it_lacks(cli):
    # a release before the channels: no outbox/inbound_event/channel_token/feedback tables and
    # conversation without the channel columns; create_all never added columns
    old = sa.MetaData()
    first = migrate.initial_schema()  # the tables as the first migration knew them
    keep = {"knowledge_entry", "parameter_value", "knowledge_document", "message", "escalation"}
    for name in keep:
        first.tables[name].to_metadata(old)
    conv = first.tables["conversation"]
    sa.Table("conversation", old, *[sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                                    for c in conv.columns
                                    if c.name not in ("last_inbound_at", "bot_paused_until", "last_platform_message_id")],
             sa.UniqueConstraint("channel", "external_id"))
    engine = database.make_engine(cli.database_url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO conversation (channel, external_id, created_at, updated_at) "
                             "VALUES ('api', 'old-1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    engine.dispose()
    assert "outbox" not in tables(cli.database_url)

    result = cli("db", "upgrade")
    assert "adopted at revision" in result.stderr and "column conversation.bot_paused_until" in result.stderr
    assert tables(cli.database_url) == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert scalar(cli.database_url, "SELECT external_id FROM conversation") == "old-1"
    assert "matches the models" in cli("db", "check").stdout


def test_the_previous_release_database_is_adopted_at_0001_then_upgraded(cli):
    engine = database.make_engine(cli.database_url)
    migrate.initial_schema().create_all(engine)  # what create_all made before the delivery rewrite
    now = models.utcnow()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO conversation (channel, external_id, created_at, updated_at, "
                             "last_answer_message_id) VALUES ('zalo', 'z-1', :now, :now, 7)"), {"now": now})
        conn.execute(sa.text("INSERT INTO outbox (conversation_id, channel, recipient, author, payload, paid, status, "
                             "attempts, next_attempt_at, last_error, created_at) VALUES (1, 'zalo', 'z-1', 'bot', "
                             "'{}', false, 'pending', 0, :now, '', :now)"), {"now": now})
    engine.dispose()
    result = cli("db", "upgrade")
    assert "adopted at revision 0001" in result.stderr and "was 0001" in result.stdout
    assert scalar(cli.database_url, "SELECT version_num FROM alembic_version") == migrate.head() != "0001"
    assert scalar(cli.database_url, "SELECT count(*) FROM outbox WHERE in_doubt = false") == 1  # the old row
    assert "last_answer_message_id" not in {c["name"] for c in sa.inspect(database.make_engine(cli.database_url))
                                            .get_columns("conversation")}
    assert "matches the models" in cli("db", "check").stdout


def test_a_foreign_schema_is_refused_and_left_alone(cli):
    engine = database.make_engine(cli.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE conversation (id INTEGER PRIMARY KEY, channel INTEGER NOT NULL, "
                             "external_id VARCHAR(120) NOT NULL, created_at TIMESTAMP NOT NULL, "
                             "updated_at TIMESTAMP NOT NULL, owner TEXT NOT NULL)"))
    engine.dispose()
    result = cli("db", "upgrade", check=False)
    assert result.returncode == 1
    assert "no migration history" in result.stderr and "conversation" in result.stderr
    assert tables(cli.database_url) == {"conversation"}  # nothing created, nothing stamped


def test_upgrade_on_start_can_be_turned_off(cli):
    off = {"DB_UPGRADE_ON_START": "false"}
    result = cli("kb", "import", env=off, check=False)
    assert result.returncode != 0
    assert "bhxh-bot db upgrade" in result.stderr
    assert "knowledge_entry" not in tables(cli.database_url)
    cli("db", "upgrade", env=off)
    assert "imported" in cli("kb", "import", env=off).stdout


@pytest.mark.e2e  # three real `bhxh-bot db upgrade` processes race for the lock
def test_concurrent_upgrades_take_turns(cli):
    procs = [subprocess.Popen([str(BIN), "db", "upgrade"], cwd=ROOT, env=base_env(cli.database_url),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    assert scalar(cli.database_url, "SELECT count(*) FROM alembic_version") == 1
    assert cli("db", "check").returncode == 0


def test_the_service_upgrades_on_start(server):
    assert scalar(server["database_url"], "SELECT version_num FROM alembic_version") == migrate.head()
