"""The test harness itself (docs/testing-tiers.md): `bhxh-bot` run in the test process gives what the
installed script gives in a process of its own, and the session's answering engine is the one it uses."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.engine import Turn
from tests import conftest

QUESTION = "bhxh tự nguyện đóng tối thiểu bao nhiêu 1 tháng"


@pytest.mark.one_database
def test_the_session_engine_is_the_one_bhxh_bot_ask_answers_with(shipped_engine, cli):
    reply = shipped_engine.answer(QUESTION, Turn(), day=dt.date(2026, 11, 23))
    assert reply.outcome == "answered" and reply.entry_id == "vtn-muc-dong"
    assert shipped_engine in conftest._shared_engines.values()
    before = dict(conftest._shared_engines)
    result = cli("ask", QUESTION, "-v")
    assert json.loads(result.stderr.strip().splitlines()[-1])["entry_id"] == "vtn-muc-dong"
    # the database copy of the shipped files has their fingerprint: no second engine was built for it
    assert conftest._shared_engines == before


@pytest.mark.e2e
@pytest.mark.one_database
def test_in_process_cli_gives_what_the_script_gives(cli, tmp_path):
    for args in (("ask", QUESTION, "-v"), ("kb", "render", "vtn-muc-dong"),
                 ("eval", str(tmp_path / "missing.jsonl")), ("kb", "no-such-command")):
        here, there = cli(*args, check=False), cli.process(*args, check=False)
        assert here.returncode == there.returncode, args
        assert here.stdout == there.stdout, args
        if args[0] == "ask":  # the last line is the JSON of the reply; warnings may come before it
            assert here.stderr.splitlines()[-1] == there.stderr.splitlines()[-1]
        else:
            assert here.stderr == there.stderr, args
    # users add reads the password from stdin in both
    assert cli("users", "add", "a@bhxh.example.vn", input="mat-khau-dai-du-12\n").returncode == 0
    assert cli.process("users", "add", "b@bhxh.example.vn", input="mat-khau-dai-du-12\n").returncode == 0
    assert cli("users", "list").stdout == cli.process("users", "list").stdout
