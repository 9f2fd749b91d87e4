"""The `bhxh-bot` command line."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app import database, models, storage
from app.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "date", None):
        overrides["answer_date"] = dt.date.fromisoformat(args.date)
    if getattr(args, "no_model", False):
        overrides["semantic_model"] = "off"
    return Settings(**overrides)


def _topics_file(settings: Settings, given: str | None) -> Path | None:
    if given:
        return Path(given)
    if settings.topics_file:
        return settings.topics_file
    bundled = settings.knowledge_base_dir / "topics.tsv"
    return bundled if bundled.exists() else None


def _configure_logging(settings: Settings) -> None:
    from app import logs

    logs.configure(settings)  # LOG_FORMAT text|json; personal numbers masked, secrets redacted


# --- commands ------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    _configure_logging(settings)
    # log_config=None: uvicorn's own loggers go through ours (masking, redaction, JSON)
    uvicorn.run("app.api:create_app", factory=True, host=args.host, port=args.port,
                log_level=settings.log_level.lower(), log_config=None,
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Answer stored webhook events and deliver the outbox, without serving HTTP."""
    import signal

    from app import retrain
    from app.delivery import Delivery
    from app.service import KnowledgeWatcher, Runtime
    from webhooks.registry import build_channels

    settings = _settings(args)
    _configure_logging(settings)
    if args.nice and hasattr(os, "nice"):
        os.nice(args.nice)
    runtime = Runtime.start(settings)
    delivery = Delivery(runtime, build_channels(runtime))
    delivery.idle_wait = args.poll
    # other workers may be running: only stale claims are taken back
    watcher = KnowledgeWatcher(runtime, settings.kb_poll_seconds)  # console edits reach this worker's answers
    trainer = retrain.trainer_for(runtime.db, settings)  # the semantic model's background retraining
    delivery.start(inbound=not args.outbox_only, outbox=not args.inbound_only, alone=False)
    watcher.start()
    if trainer is not None:
        trainer.start()

    def stop(*_) -> None:
        if trainer is not None:
            trainer.stop()
        watcher.stop()
        delivery.stop()

    signal.signal(signal.SIGTERM, stop)
    print(f"worker running (inbound: {not args.outbox_only}, outbox: {not args.inbound_only})", flush=True)
    try:
        delivery.wait()
    except KeyboardInterrupt:
        stop()
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from app.service import ConversationService, Runtime

    settings = _settings(args)
    runtime = Runtime.start(settings)
    conversation = args.conversation or f"cli-{uuid.uuid4().hex[:12]}"
    if args.province:
        runtime.provinces.known(args.province)  # an unknown code stops here, with the reason
    reply, _ = ConversationService(runtime).handle("cli", conversation, args.message, province=args.province or "default")
    print(reply.text)
    if args.verbose:
        print(json.dumps({"outcome": reply.outcome, "entry_id": reply.entry_id, "score": round(reply.score, 4),
                          "candidates": reply.candidates, "details": reply.details}, ensure_ascii=False),
              file=sys.stderr)
    return 0


def read_message_file(path: Path, keys: tuple[str, ...] = ("text",)) -> list[dict]:
    """The rows of a JSON-lines message file (`eval`, scripts/noisy_copy.py): each a JSON object
    with a string `text` (and optionally `expect`), or with the string `keys` given; blank lines skipped.
    ValueError names the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or not all(isinstance(row.get(key), str) for key in keys):
            raise ValueError(f"{path}:{n}: expected a JSON object with " + " and ".join(f"a '{k}' string" for k in keys))
        rows.append(row)
    return rows


def _rate(num: int, den: int) -> str:
    return f"{100.0 * num / den:5.1f}% ({num}/{den})" if den else "  n/a"


def cmd_eval(args: argparse.Namespace) -> int:
    from app.evaluation import evaluate, is_right, read_finer
    from app.service import Runtime

    try:  # a bad file is refused before the knowledge base and model are loaded
        items = read_message_file(Path(args.file))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = _settings(args)
    engine = Runtime.start(settings).engine
    if args.office_name:
        # answer as that province's deployment would, its office.yaml filled in: its own office (and the provinces
        # merged into it) is not another province's
        engine.kb.office = dataclasses.replace(engine.kb.office, name=args.office_name)
    # an answer with a finer entry that fully answers the labelled topic counts as right (knowledge_base/finer.tsv)
    finer = read_finer(settings.knowledge_base_dir)
    report = evaluate(engine, items, settings.today(), finer)
    rows = report.rows
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for item, reply in rows:
                out.write(json.dumps({"text": item["text"], "outcome": reply.outcome, "entry_id": reply.entry_id,
                                      "candidates": reply.candidates, "score": round(reply.score, 4)},
                                     ensure_ascii=False) + "\n")
    g = report.all
    if not g.n:
        print(f"{len(rows)} messages answered" + (f"; predictions in {args.out}" if args.out else ""))
        return 0
    print(f"messages:              {g.n} labelled ({g.in_scope} in scope)")
    print(f"in-scope accuracy:     {_rate(g.correct, g.in_scope)}")
    print(f"wrong answers:         {_rate(g.wrong, g.in_scope)}")
    if g.wrong:
        print(f"  right one offered:   {_rate(g.wrong_offered, g.wrong)} of the wrong answers, "
              f"first choice {g.wrong_offered_first}")
        print(f"  answer another question asked: {_rate(g.wrong_other_question, g.wrong)} of the wrong answers "
              f"(the message's `also`)")
    print(f"top-3 recall:          {_rate(g.top3, g.in_scope)}")
    print(f"out-of-scope answered: {_rate(g.oos_answered, g.oos)}")
    print(f"handoff recall:        {_rate(g.handoff_right, g.handoff)}")
    print(f"smalltalk recall:      {_rate(g.smalltalk_right, g.smalltalk)}")
    print("outcomes:              " + ", ".join(f"{k} {v}" for k, v in sorted(g.outcomes.items())))
    print(f"clarify, right choice: {_rate(g.clarify_right, g.in_scope)} (of {g.clarify} clarifying questions)")
    print(f"in scope escalated:    {_rate(g.escalated, g.in_scope)}")
    if g.escalated:
        print(f"  right one suggested: {_rate(g.escalated_suggested, g.escalated)} of the escalations")
    if g.two:
        print(f"two: second offered:   {_rate(g.two_offered, g.two)}")
    if report.letters.n:
        lt = report.letters
        print(f"letters accuracy:      {_rate(lt.correct, lt.in_scope)}")
        print(f"letters wrong:         {_rate(lt.wrong, lt.in_scope)}"
              + (f", {lt.wrong_other_question} of them answering another question asked" if lt.wrong else ""))
    if report.styles:
        print("by style:              n  right outcome   in-scope acc   wrong   clarify-right  top-3")
        for style, sg in report.styles.items():
            print(f"  {style:18} {sg.n:4}  {_pct(sg.right, sg.n):>12}  {_pct(sg.correct, sg.in_scope):>13}  "
                  f"{_pct(sg.answered_wrongly, sg.n):>6}  {_pct(sg.clarify_right, sg.in_scope):>13}  "
                  f"{_pct(sg.top3, sg.in_scope):>6}")
    if args.show_errors:
        for item, r in rows:
            e = item.get("expect")
            if e and not is_right(e, r, finer):
                print(f"  expect {e:28} got {r.outcome:9} {str(r.entry_id):24} {r.score:.3f} "
                      f"{r.candidates[:3]} | {item.get('style', '')} | {item['text']}")
    return 0


def _pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:.1f}%" if den else "n/a"


def cmd_kb(args: argparse.Namespace) -> int:
    from app.knowledge import load_directory, read_topic_ids, validate, write_directory

    settings = _settings(args)
    root = Path(args.dir) if getattr(args, "dir", None) else settings.knowledge_base_dir
    day = settings.today()
    from app.provinces import load as load_provinces

    provinces, province_errors = load_provinces(settings)
    local = [c for c in provinces.codes() if c != "default"] if provinces else None
    if args.kb_command == "validate":
        kb, errors = load_directory(root)
        topics = _topics_file(settings, args.topics)
        errors = province_errors + errors + validate(kb, day, read_topic_ids(topics) if topics else None,
                                                     local if provinces else sorted(kb.parameters.provinces()))
        if errors:
            for err in errors:
                print(f"error: {err}", file=sys.stderr)
            print(f"{len(errors)} problem(s) found in {root}", file=sys.stderr)
            return 1
        from app.knowledge import contact_warnings
        from app.provinces import contact_warnings as province_contact_warnings

        warnings = (province_contact_warnings(provinces, kb.office) if provinces
                    else contact_warnings(kb.office, "office.yaml"))
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        params = len(kb.parameters.parameters)
        print(f"ok: {len(kb.entries)} entries and {params} parameters in {root} are valid on {day.isoformat()}")
        from app.semantic import model_is_current

        if model_is_current(kb) is False:
            print("warning: models/bhxh-static was trained on a different knowledge base; retrain it with "
                  "`python scripts/train_semantic.py` so new words are understood", file=sys.stderr)
        return 0
    if args.kb_command == "import":
        kb, errors = load_directory(root)
        topics = _topics_file(settings, None)
        errors = province_errors + errors + validate(kb, day, read_topic_ids(topics) if topics else None,
                                                     local if provinces else sorted(kb.parameters.provinces()))
        if errors:
            for err in errors:
                print(f"error: {err}", file=sys.stderr)
            print("nothing imported: fix the errors above first", file=sys.stderr)
            return 1
        db = database.make_engine(settings.database_url)
        storage.init_db(db, upgrade=settings.db_upgrade_on_start)
        with Session(db) as session:
            from app.console.auth import audit

            audit(session, None, "kb.import", str(root.resolve()),
                  {"entries": len(kb.entries), "parameters": len(kb.parameters.parameters)})
            storage.save_kb(session, kb, source=str(root.resolve()))  # commits the audit record with the import
        print(f"imported {len(kb.entries)} entries and {len(kb.parameters.parameters)} parameters from {root}")
        return 0
    if args.kb_command == "export":
        db = database.make_engine(settings.database_url)
        storage.init_db(db, upgrade=settings.db_upgrade_on_start)
        with Session(db) as session:
            if storage.kb_is_empty(session):
                print("error: the database holds no knowledge base; run `bhxh-bot kb import` first", file=sys.stderr)
                return 1
            kb = storage.load_kb(session)
        out = Path(args.out) if args.out else root
        written = write_directory(kb, out)
        print(f"exported {len(kb.entries)} entries and parameters to {out} ({len(written)} files)")
        return 0
    if args.kb_command == "render":
        kb, errors = load_directory(root)
        entry = kb.entries.get(args.entry_id)
        if entry is None:
            print(f"error: no entry '{args.entry_id}' in {root}", file=sys.stderr)
            return 1
        print(kb.renderer(day).entry_message(entry))
        return 0
    return 2


def cmd_db(args: argparse.Namespace) -> int:
    from app import migrate

    if args.db_command == "revision":
        path = migrate.revision(args.message)
        print(f"wrote {path}: read it, adjust it, and commit it with the model change")
        return 0
    settings = _settings(args)
    db = database.make_engine(settings.database_url)
    try:
        if args.db_command == "upgrade":
            before, after = migrate.upgrade(db, args.revision)
            print(f"database schema at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))
            return 0
        if args.db_command == "prune":
            cutoff = models.utcnow() - dt.timedelta(days=settings.inbound_retention_days)
            gone = storage.prune_inbound(db, cutoff)
            print(f"pruned {gone} handled webhook events received before {cutoff.isoformat(timespec='seconds')} UTC "
                  f"(INBOUND_RETENTION_DAYS={settings.inbound_retention_days:g})")
            return 0
        if args.db_command == "current":
            have, want = migrate.current(db), migrate.head()
            print(f"database: {have or 'none'}; newest: {want}" + ("" if have == want else " (run `bhxh-bot db upgrade`)"))
            return 0 if have == want else 1
        if args.db_command == "check":
            have, want = migrate.current(db), migrate.head()
            if have != want:
                print(f"error: database at revision {have or 'none'}, newest is {want}: run `bhxh-bot db upgrade` first",
                      file=sys.stderr)
                return 1
            diffs = migrate.check(db)
            if diffs:
                for diff in diffs:
                    print(f"differs: {diff}", file=sys.stderr)
                print("the models differ from the migrations: add one with `bhxh-bot db revision -m \"...\"`",
                      file=sys.stderr)
                return 1
            print(f"ok: the database at revision {have} matches the models")
            return 0
    except migrate.SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 2
def cmd_model(args: argparse.Namespace) -> int:
    """The semantic model's retraining (app/retrain.py): its state, or a training queued by hand."""
    import time

    from app import retrain

    settings = _settings(args)
    db = database.make_engine(settings.database_url)
    storage.init_db(db, upgrade=settings.db_upgrade_on_start)
    if not retrain.enabled(settings):
        print(f"error: retraining applies to SEMANTIC_MODEL=auto only (it is {settings.semantic_model})",
              file=sys.stderr)
        return 1
    if args.model_command == "status":
        state = retrain.state(db, settings)
        if args.json:
            rows = [{"id": r.id, "status": r.status, "reason": r.reason, "kb_revision": r.kb_revision,
                     "fingerprint": r.fingerprint, "error": r.error, "attempts": r.attempts,
                     "duration_seconds": r.duration_seconds, "size": r.size,
                     "requested_at": r.requested_at.isoformat() if r.requested_at else None,
                     "finished_at": r.finished_at.isoformat() if r.finished_at else None} for r in state.rows]
            print(json.dumps({"serving": state.serving, "lines": state.lines, "trainings": rows}, ensure_ascii=False))
            return 0
        print("\n".join(state.lines))
        for r in state.rows:
            when = (r.finished_at or r.started_at or r.requested_at).isoformat(timespec="seconds")
            print(f"  #{r.id} {r.status:10} {when} revision {(r.kb_revision or '?')[:8]}"
                  + (f" {r.duration_seconds:.1f} s" if r.duration_seconds is not None else "")
                  + (f" {r.error}" if r.error else ""))
        return 0
    if args.model_command == "retrain":
        with Session(db) as session:
            if storage.kb_is_empty(session):
                print("error: the database holds no knowledge base; run `bhxh-bot kb import` first", file=sys.stderr)
                return 1
        user = os.environ.get("USER", "")
        row_id = retrain.request(db, settings, "lệnh bhxh-bot model retrain" + (f" ({user})" if user else ""))
        print(f"training {row_id} queued")
        if not args.wait:
            return 0
        trainer = retrain.Trainer(db, settings)
        deadline = time.monotonic() + args.timeout
        while True:  # train it here, unless a trainer elsewhere has it (then wait for that one)
            trainer.run_once()
            with Session(db) as session:
                row = session.get(models.SemanticModel, row_id)
                if row is None:
                    print(f"error: training {row_id} is not in the database", file=sys.stderr)
                    return 1
                status, error = row.status, row.error
            if status == retrain.SUPERSEDED:  # a newer request replaced it: that one is the one to wait for
                with Session(db) as session:
                    newer = session.exec(select(models.SemanticModel.id).where(col(models.SemanticModel.id) > row_id)
                                         .order_by(col(models.SemanticModel.id).desc())).first()
                if newer is not None:
                    print(f"training {row_id} superseded by {newer}")
                    row_id = newer
                    continue
            if status in (retrain.READY, retrain.FAILED, retrain.SUPERSEDED):
                break
            if time.monotonic() > deadline:
                print(f"error: training {row_id} is still {status} after {args.timeout:g} s", file=sys.stderr)
                return 1
            time.sleep(0.5)
        if status == retrain.READY:
            print(f"training {row_id} ready: every instance and worker loads it at its next poll "
                  f"(KB_POLL_SECONDS={settings.kb_poll_seconds:g})")
            return 0
        print(f"error: training {row_id} {status}" + (f": {error}" if error else ""), file=sys.stderr)
        return 1
    return 2


def _read_password(prompt_for: str) -> str:
    """From the terminal without echo, or the first line of stdin when it is not a terminal."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {prompt_for}: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_users(args: argparse.Namespace) -> int:
    from app.console import auth

    settings = _settings(args)
    db = database.make_engine(settings.database_url)
    storage.init_db(db)
    from app.provinces import load_or_fail

    actor_name = f"cli:{os.environ.get('USER', '')}"
    if args.users_command == "add":
        try:
            if args.province is not None:
                load_or_fail(settings).known(args.province)
            password = _read_password(args.email)
            user = auth.create_user(db, args.email, args.role, password, actor_name=actor_name, province=args.province)
        except (auth.UserError, ValueError) as exc:  # ProvinceError is a ValueError
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"created {user.role} {user.email}" + (f" of province {user.province}" if user.province else ""))
        return 0
    if args.users_command == "set-province":
        code = None if args.all else args.province
        try:
            provinces = load_or_fail(settings)
            if code is not None:
                provinces.known(code)  # the same check, and message, as `users add --province`
            user = auth.find_user(db, args.email)
            before = user.province
            user = auth.update_user(db, models.saved_id(user), None, province=code, provinces=provinces, actor_name=actor_name)
        except (auth.UserError, ValueError) as exc:  # ProvinceError is a ValueError
            print(f"error: {exc}", file=sys.stderr)
            return 1
        scope = f"province {user.province}" if user.province else "every province"
        if before == user.province:
            print(f"{user.email} already sees {scope}")
        else:
            print(f"{user.email} now sees {scope} (their open console sessions too, from their next request)")
        return 0
    if args.users_command == "unlock":
        try:
            n = auth.unlock(db, args.email, actor_name=actor_name)
        except auth.UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{auth.normalize_email(args.email)} unlocked: {n} failed login(s) forgotten, no wait from any browser")
        return 0
    if args.users_command == "list":
        for user in auth.list_users(db):
            # a fourth column only for users of one province
            print(f"{user.email}\t{user.role}\t{'active' if user.active else 'inactive'}"
                  + (f"\t{user.province}" if user.province else ""))
        return 0
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bhxh-bot", description="BHXH Assistant command line")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the web service")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="answer webhook events and send replies (use with RUN_WORKERS=false serve)")
    p.add_argument("--poll", type=float, default=0.05, help="seconds between database polls when idle")
    p.add_argument("--inbound-only", action="store_true")
    p.add_argument("--outbox-only", action="store_true")
    p.add_argument("--nice", type=int, default=0,
                   help="lower this process's CPU priority by N (PostgreSQL only: on SQLite a low-priority worker "
                        "holding the write lock delays webhook acknowledgements)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("ask", help="answer one message and print the reply as the citizen sees it")
    p.add_argument("message")
    p.add_argument("--conversation", help="continue this conversation (follow-up questions)")
    p.add_argument("--province", help="answer a citizen of this province (its office details and parameter values)")
    p.add_argument("--date", help="answer as on this day (YYYY-MM-DD)")
    p.add_argument("--no-model", action="store_true", help="retrieve without the semantic model")
    p.add_argument("-v", "--verbose", action="store_true", help="also print outcome and scores to stderr")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="measure answer quality on a JSON-lines file")
    p.add_argument("file")
    p.add_argument("--out", help="write one prediction per line to this file")
    p.add_argument("--date", help="answer as on this day (YYYY-MM-DD)")
    p.add_argument("--no-model", action="store_true", help="retrieve without the semantic model")
    p.add_argument("--show-errors", action="store_true", help="list the messages that were not handled as expected")
    p.add_argument("--office-name", help="answer as the office of this name (office.yaml's name), e.g. "
                                         "\"Bảo hiểm xã hội tỉnh Bắc Ninh\"")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("kb", help="knowledge base: validate, import, export, render")
    kb_sub = p.add_subparsers(dest="kb_command", required=True)
    v = kb_sub.add_parser("validate", help="check every entry and parameter")
    v.add_argument("--dir", help="knowledge base directory (default: knowledge_base/)")
    v.add_argument("--topics", help="topics TSV whose ids must all be present")
    v.add_argument("--date", help="check placeholders on this day (YYYY-MM-DD)")
    i = kb_sub.add_parser("import", help="load the files into the database (replaces the live knowledge base)")
    i.add_argument("--dir", help="knowledge base directory (default: knowledge_base/)")
    e = kb_sub.add_parser("export", help="write the live knowledge base back to files")
    e.add_argument("--out", help="directory to write (default: knowledge_base/)")
    r = kb_sub.add_parser("render", help="print one entry's answer as a citizen sees it today")
    r.add_argument("entry_id")
    r.add_argument("--dir", help="knowledge base directory (default: knowledge_base/)")
    r.add_argument("--date", help="render as on this day (YYYY-MM-DD)")
    p.set_defaults(func=cmd_kb)

    p = sub.add_parser("db", help="database schema: upgrade, current, check, revision")
    db_sub = p.add_subparsers(dest="db_command", required=True)
    u = db_sub.add_parser("upgrade", help="apply the migrations (adopts a database made before migrations)")
    u.add_argument("revision", nargs="?", default="head")
    db_sub.add_parser("current", help="print the database's revision and the newest one (exit 1 if behind)")
    db_sub.add_parser("prune", help="delete handled webhook events older than INBOUND_RETENTION_DAYS (the workers "
                                    "do it hourly)")
    db_sub.add_parser("check", help="exit 1 if the migrated schema differs from the models")
    rv = db_sub.add_parser("revision", help="write a new migration for model changes (developers)")
    rv.add_argument("-m", "--message", required=True)
    p.set_defaults(func=cmd_db)
    p = sub.add_parser("model", help="the semantic model's background retraining: status, retrain")
    model_sub = p.add_subparsers(dest="model_command", required=True)
    st = model_sub.add_parser("status", help="which model answers, and the latest trainings")
    st.add_argument("--json", action="store_true", help="as one JSON object")
    rt = model_sub.add_parser("retrain", help="queue a training of the live knowledge base")
    rt.add_argument("--wait", action="store_true", help="train it in this process (or wait for the trainer that has "
                                                        "it) and exit 1 if it fails")
    rt.add_argument("--timeout", type=float, default=1800, help="seconds to wait with --wait")
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("users", help="staff console users")
    users_sub = p.add_subparsers(dest="users_command", required=True)
    a = users_sub.add_parser("add", help="create a user (asks for the password, or reads it from stdin)")
    a.add_argument("email")
    a.add_argument("--role", choices=["staff", "admin"], default="staff")
    a.add_argument("--province", help="the province code whose conversations the user sees (default: every province)")
    users_sub.add_parser("list", help="list users")
    un = users_sub.add_parser("unlock", help="forget a user's failed logins, so they log in without waiting")
    un.add_argument("email")
    sp = users_sub.add_parser("set-province", help="change the province whose conversations a user sees")
    sp.add_argument("email")
    which = sp.add_mutually_exclusive_group(required=True)
    which.add_argument("province", nargs="?", help="a province code from the provinces file")
    which.add_argument("--all", action="store_true", help="every province (ministry level)")
    p.set_defaults(func=cmd_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

