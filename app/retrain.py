"""A semantic model that keeps learning: background retraining when the knowledge base's training texts change.

- A process that follows the live knowledge base (`serve`, `worker`: app.service.KnowledgeWatcher) checks,
  whenever the knowledge base changes and at start, whether its training texts (`fingerprint_of`) are still
  those of the newest training; if not, it queues a training (`check`). `bhxh-bot model retrain` queues one
  by hand. A newer request supersedes an older one still queued.
- A `Trainer` (a thread of `serve` and `worker`, or `bhxh-bot model retrain --wait`) claims the newest queued
  training under the one-row lock, so one training runs at a time across every process sharing the database.
  It exports the live knowledge base (plus the repository's training corpus, knowledge_base/training/) to a
  temporary directory and runs scripts/train_semantic.py on it in a separate process, niced to the lowest
  priority, with a time limit; torch never loads in the serving process. While it runs the trainer renews
  a heartbeat; a training whose heartbeat is older than the lease (a trainer that died) is queued again once,
  then failed.
- The trained model's files (a zip, a few MB) are stored on the row with the knowledge base revision and
  fingerprint it was trained on. Every process polls the newest ready model's id and loads it into a fresh
  engine, swapped in atomically (app.service.Runtime.follow_model). A training that fails or times out changes
  nothing that serves: the failure is kept on its row for the console and `bhxh-bot model status`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import numpy as np
from sqlalchemy import update
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from app import storage
from app.models import SemanticModel, TrainingLock, saved_id, table_of, utcnow
from app.semantic import FINGERPRINT_FILE, MODEL_DIR, StaticEncoder, corpus_fingerprint, training_fingerprint
from app.settings import ROOT, Settings
from app.windows import aware

log = logging.getLogger(__name__)

QUEUED, TRAINING, READY, FAILED, SUPERSEDED = "queued", "training", "ready", "failed", "superseded"
LOCK = "trainer"
KEEP_FILES = 3  # ready models whose files are kept (the serving one and two before it); older rows keep their history
MAX_ATTEMPTS = 2  # an abandoned training (its trainer died) is queued again once
TRAIN_SCRIPT = ROOT / "scripts" / "train_semantic.py"
TRAINING_CORPUS = "training"  # knowledge_base/training/: the repository's training corpus, copied beside the export
LOG_TAIL = 4000


def fingerprint_of(kb) -> str:
    """The fingerprint of the texts the semantic model learns from this knowledge base (what
    scripts/train_semantic.py writes into the model's training_corpus.sha256)."""
    return training_fingerprint(kb)


def trainer_id(settings: Settings) -> str:
    """What trains the model besides the knowledge base: the training script, the training corpus's
    messages as the trainer reads them (app.corpus.read_corpus: so a README or a comment in
    knowledge_base/training/ changes nothing) and MODEL_TRAIN_ARGS. A release that changes one of them
    retrains the live knowledge base."""
    import hashlib

    from app.corpus import default_corpus_dir, read_corpus

    digest = hashlib.sha256(settings.model_train_args.encode())
    with contextlib.suppress(OSError):
        digest.update(TRAIN_SCRIPT.read_bytes())
    digest.update(corpus_fingerprint(read_corpus(default_corpus_dir(Path(settings.knowledge_base_dir)))).encode())
    return digest.hexdigest()


def shipped_fingerprint(model_dir: Path = MODEL_DIR) -> str | None:
    try:
        return (model_dir / FINGERPRINT_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def enabled(settings: Settings) -> bool:
    """Retraining applies to the project's own model (SEMANTIC_MODEL=auto) only."""
    return settings.semantic_model == "auto"


def whoami() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- the queue --------------------------------------------------------------------------------------


def _ensure_lock_row(db: DbEngine) -> None:
    with Session(db) as session:
        if session.get(TrainingLock, LOCK) is not None:
            return
        session.add(TrainingLock(name=LOCK))
        try:
            session.commit()
        except IntegrityError:  # another process made it first
            session.rollback()


@contextlib.contextmanager
def locked(db: DbEngine) -> Iterator[Session]:
    """A transaction that first updates the lock row: on PostgreSQL the row lock, on SQLite the database's
    write lock, is held until it commits, so queueing and claiming never interleave between processes.
    Short transactions only: a training runs outside it."""
    _ensure_lock_row(db)
    with Session(db, expire_on_commit=False) as session:
        session.exec(update(TrainingLock).where(col(TrainingLock.name) == LOCK).values(updated_at=utcnow()))
        yield session
        session.commit()


def _newest(session: Session, *statuses: str) -> SemanticModel | None:
    """The newest row (of these statuses; else not superseded), without its files (read when used)."""
    # SQLModel types the class attribute as its value; at run time it is the mapped attribute defer() takes
    files = cast("QueryableAttribute[bytes | None]", SemanticModel.files)
    query = select(SemanticModel).options(defer(files)).order_by(col(SemanticModel.id).desc()).limit(1)
    if statuses:
        query = query.where(col(SemanticModel.status).in_(statuses))
    else:
        query = query.where(col(SemanticModel.status) != SUPERSEDED)
    return session.exec(query).first()


def _queue(session: Session, reason: str, revision: str | None, fingerprint: str, trainer: str) -> SemanticModel:
    """A new queued request; the older queued ones are superseded by it."""
    session.exec(update(SemanticModel).where(col(SemanticModel.status) == QUEUED).values(status=SUPERSEDED))
    row = SemanticModel(status=QUEUED, reason=reason[:200], kb_revision=revision, fingerprint=fingerprint,
                        trainer=trainer)
    session.add(row)
    session.flush()
    return row


def request(db: DbEngine, settings: Settings, reason: str) -> int:
    """Queue a training of the live knowledge base even when its texts did not change (`model retrain`)."""
    with Session(db) as session:
        revision, kb = storage.kb_revision(session), storage.load_kb(session)
    fingerprint = fingerprint_of(kb)
    with locked(db) as session:
        return saved_id(_queue(session, reason, revision, fingerprint, trainer_id(settings)))


def check(db: DbEngine, settings: Settings, kb, revision: str | None,
          reason: str = "kho kiến thức thay đổi") -> int | None:
    """Queue a training when the live knowledge base's training texts differ from those of the newest
    training (or, before any, of the committed model), or that training was made by another trainer
    (`trainer_id`: a new release). Returns the queued row's id, or None."""
    fingerprint, trainer = fingerprint_of(kb), trainer_id(settings)

    def wanted(session: Session) -> str | None:
        newest = _newest(session)
        if newest is None:
            return reason if fingerprint != shipped_fingerprint() else None
        if newest.fingerprint != fingerprint:
            return reason
        return "phần mềm học mô hình thay đổi" if newest.trainer != trainer else None

    with Session(db) as session:  # a read first: most checks find nothing to do and take no lock
        if wanted(session) is None:
            return None
    with locked(db) as session:
        why = wanted(session)
        if why is None:  # another process queued it meanwhile
            return None
        row = _queue(session, why, revision, fingerprint, trainer)
        log.info("semantic model training %s queued (%s)", row.id, why)
        return row.id


def _expire_abandoned(session: Session, lease: float) -> None:
    cutoff = utcnow() - dt.timedelta(seconds=lease)
    for row in session.exec(select(SemanticModel).where(col(SemanticModel.status) == TRAINING)):
        if aware(row.heartbeat_at or row.started_at or row.requested_at) >= cutoff:
            continue
        newer = session.exec(select(SemanticModel.id).where(col(SemanticModel.status) == QUEUED,
                                                            col(SemanticModel.id) > row.id)).first()
        if newer is not None:
            row.status, row.error = SUPERSEDED, "tiến trình học bị gián đoạn; đã có yêu cầu mới hơn"
        elif row.attempts < MAX_ATTEMPTS:
            log.warning("semantic model training %s was abandoned by %s: queued again", row.id, row.claimed_by)
            row.status, row.claimed_by = QUEUED, None
        else:
            row.status, row.finished_at = FAILED, utcnow()
            row.error = f"tiến trình học bị gián đoạn {row.attempts} lần (máy chủ dừng hoặc khởi động lại)"
        session.add(row)
    session.flush()


def claim(db: DbEngine, settings: Settings, me: str) -> SemanticModel | None:
    """The newest queued training, now ours; None while another training runs or nothing is queued."""
    with Session(db) as session:  # a read first: an idle trainer's poll takes no lock
        if _newest(session, QUEUED, TRAINING) is None:
            return None
    with locked(db) as session:
        _expire_abandoned(session, settings.model_train_lease_seconds)
        if _newest(session, TRAINING) is not None:
            return None
        row = _newest(session, QUEUED)
        if row is None:
            return None
        now = utcnow()
        row.status, row.claimed_by, row.started_at, row.heartbeat_at = TRAINING, me, now, now
        row.trainer = trainer_id(settings)  # this process trains it, with its own script and options
        row.attempts += 1
        row.error = ""
        session.add(row)
        session.flush()
        session.refresh(row)
        return row


def heartbeat(db: DbEngine, row_id: int, me: str) -> bool:
    """Renew our claim; False when it is no longer ours (taken back after the lease ran out)."""
    with Session(db) as session:
        n = session.exec(update(SemanticModel)
                         .where(col(SemanticModel.id) == row_id, col(SemanticModel.claimed_by) == me,
                                col(SemanticModel.status) == TRAINING)
                         .values(heartbeat_at=utcnow())).rowcount
        session.commit()
        return n == 1


@dataclasses.dataclass
class Outcome:
    ok: bool
    error: str = ""
    log: str = ""
    files: bytes | None = None
    revision: str | None = None
    fingerprint: str = ""
    interrupted: bool = False  # this process is stopping: queue it again for another


def finish(db: DbEngine, row_id: int, me: str, outcome: Outcome, seconds: float) -> str | None:
    """Record the result; returns the row's new status (None when the claim was lost meanwhile)."""
    with locked(db) as session:
        row = session.get(SemanticModel, row_id)
        if row is None or row.status != TRAINING or row.claimed_by != me:
            return None
        row.log = outcome.log[-LOG_TAIL:]
        row.heartbeat_at = None
        if outcome.interrupted:  # for another process, unless a newer request waits
            newer = session.exec(select(SemanticModel.id).where(col(SemanticModel.status) == QUEUED,
                                                                col(SemanticModel.id) > row.id)).first()
            row.status, row.claimed_by = (SUPERSEDED if newer is not None else QUEUED), None
            session.add(row)
            return row.status
        row.finished_at, row.duration_seconds = utcnow(), round(seconds, 1)
        if outcome.ok:
            row.status, row.files, row.size = READY, outcome.files, len(outcome.files or b"")
            row.kb_revision, row.fingerprint = outcome.revision, outcome.fingerprint or row.fingerprint
        else:
            row.status, row.error = FAILED, outcome.error[:1000]
        session.add(row)
        session.flush()
        if outcome.ok:  # keep the files of the newest few ready models only
            old = session.exec(select(SemanticModel.id).where(col(SemanticModel.status) == READY,
                                                               col(SemanticModel.files).is_not(None))
                               .order_by(col(SemanticModel.id).desc()).offset(KEEP_FILES)).all()
            if old:
                session.exec(update(SemanticModel).where(col(SemanticModel.id).in_(old)).values(files=None))
        return row.status


# --- training (in a separate, low-priority process) --------------------------------------------------


def command(settings: Settings, kb_dir: Path, out_dir: Path) -> list[str]:
    base = shlex.split(settings.model_train_command) if settings.model_train_command.strip() \
        else [sys.executable, str(TRAIN_SCRIPT)]
    cmd = [*base, "--kb", str(kb_dir), "--out", str(out_dir), *shlex.split(settings.model_train_args)]
    limit = shutil.which("timeout")
    if limit:  # the training ends even if this process dies without killing it (SIGKILL, OOM)
        cmd = [limit, "-s", "KILL", f"{settings.model_train_timeout_seconds + 30:.0f}", *cmd]
    nice = shutil.which("nice")
    if settings.model_train_nice and nice:
        cmd = [nice, "-n", str(settings.model_train_nice), *cmd]
    return cmd


def export(db: DbEngine, settings: Settings, target: Path) -> tuple[str | None, str]:
    """The live knowledge base as files in `target` (with the repository's training corpus beside it);
    returns its revision and training fingerprint."""
    from app.knowledge import dump_yaml, write_directory

    with Session(db) as session:  # one transaction: the revision is the one of these rows
        revision, kb = storage.kb_revision(session), storage.load_kb(session)
    write_directory(kb, target)  # entries and parameters; the whole-file documents are written here
    for name, content in (("synonyms", kb.synonyms), ("intents", storage._jsonable(kb.intents)),
                          ("office", dataclasses.asdict(kb.office))):
        (target / f"{name}.yaml").write_text(dump_yaml(content), encoding="utf-8")
    corpus = Path(settings.knowledge_base_dir) / TRAINING_CORPUS
    if corpus.is_dir() and not (target / TRAINING_CORPUS).exists():
        shutil.copytree(corpus, target / TRAINING_CORPUS)
    return revision, fingerprint_of(kb)


def pack(model_dir: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(model_dir).as_posix())
    return buf.getvalue()


def load_files(files: bytes) -> StaticEncoder:
    """A StaticEncoder from a stored model's zip (read whole into memory; the files are not kept)."""
    with tempfile.TemporaryDirectory(prefix="bhxh-model-") as tmp:
        with zipfile.ZipFile(io.BytesIO(files)) as zf:
            zf.extractall(tmp)  # zipfile drops absolute paths and '..'
        path = Path(tmp)
        if not StaticEncoder.handles(path):
            raise ValueError("not a StaticEmbedding + Normalize model")
        encoder = StaticEncoder(path)
    vectors = encoder.encode(["bảo hiểm xã hội", "thẻ bhyt"])
    if vectors.shape[0] != 2 or not np.isfinite(vectors).all():
        raise ValueError("the model gives no usable vectors")
    return encoder


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]
    except OSError:
        return ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def train(db: DbEngine, settings: Settings, row_id: int, me: str, stop: threading.Event) -> Outcome:
    """Run one training; never raises for a training that fails."""
    with tempfile.TemporaryDirectory(prefix="bhxh-train-") as tmp:
        kb_dir, out_dir, out_log = Path(tmp) / "kb", Path(tmp) / "model", Path(tmp) / "train.log"
        try:
            revision, fingerprint = export(db, settings, kb_dir)
        except Exception as exc:
            log.exception("could not export the knowledge base for training")
            return Outcome(False, f"không xuất được kho kiến thức để học: {type(exc).__name__}: {exc}")
        cmd = command(settings, kb_dir, out_dir)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
                   HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        log.info("semantic model training %s: running %s", row_id, shlex.join(cmd))
        limit = settings.model_train_timeout_seconds
        beat = max(0.2, min(10.0, settings.model_train_lease_seconds / 3))
        started = time.monotonic()
        with open(out_log, "wb") as out:
            try:
                proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                return Outcome(False, f"không chạy được lệnh học: {exc}")
            reason = ""
            while True:
                try:
                    code = proc.wait(timeout=beat)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if stop.is_set():
                    reason = "interrupted"
                elif time.monotonic() - started > limit:
                    reason = f"quá thời gian cho phép ({limit:g} giây)"
                elif not heartbeat(db, row_id, me):
                    reason = "mất quyền học (quá hạn, một tiến trình khác đã nhận lại)"
                if reason:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
        text = _tail(out_log)
        if reason == "interrupted":
            return Outcome(False, "", text, interrupted=True)
        if reason:
            return Outcome(False, reason, text)
        if code != 0:
            last = _last_line(text)
            return Outcome(False, f"lệnh học kết thúc với mã {code}" + (f": {last}" if last else ""), text)
        try:
            files = pack(out_dir)
            load_files(files)  # the model must load and give vectors before any instance is asked to use it
        except Exception as exc:
            return Outcome(False, f"mô hình vừa học không dùng được: {exc}", text)
        trained_on = shipped_fingerprint(out_dir) or fingerprint
        return Outcome(True, "", text, files, revision, trained_on)


class Trainer:
    """Trains queued requests, one at a time across every process sharing the database (see module doc)."""

    def __init__(self, db: DbEngine, settings: Settings, interval: float | None = None):
        self.db = db
        self.settings = settings
        self.interval = interval if interval is not None else max(settings.kb_poll_seconds, 1.0)
        self.me = whoami()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, str | None] | None:
        """Claim and run the newest queued training, if any and none is running; (id, status)."""
        row = claim(self.db, self.settings, self.me)
        if row is None:
            return None
        started = time.monotonic()
        row_id = saved_id(row)
        outcome = train(self.db, self.settings, row_id, self.me, self._stop)
        status = finish(self.db, row_id, self.me, outcome, time.monotonic() - started)
        if status == READY:
            log.info("semantic model %s trained in %.1f s", row.id, time.monotonic() - started)
        elif status == FAILED:
            log.error("semantic model training %s failed: %s; the current model keeps serving", row.id, outcome.error)
        return row_id, status

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="model-trainer")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once() is not None:
                    continue  # at once: another may have been queued meanwhile
            except Exception:
                log.exception("semantic model trainer: trying again")
            self._stop.wait(self.interval)


def trainer_for(db: DbEngine, settings: Settings) -> Trainer | None:
    """A Trainer for this process (web or worker), not started; None when it trains nothing."""
    if not (settings.model_trainer and enabled(settings)):
        return None
    return Trainer(db, settings)


# --- what serves, and what staff see ---------------------------------------------------------------


def newest_ready_id(session: Session) -> int | None:
    return session.exec(select(SemanticModel.id).where(col(SemanticModel.status) == READY,
                                                       col(SemanticModel.files).is_not(None))
                        .order_by(col(SemanticModel.id).desc()).limit(1)).first()


def ready_model(db: DbEngine, model_id: int | None = None) -> SemanticModel | None:
    """The newest ready model with its files (or the one given)."""
    with Session(db) as session:
        model_id = model_id if model_id is not None else newest_ready_id(session)
        return session.get(SemanticModel, model_id) if model_id is not None else None


def summary(row: SemanticModel | None) -> dict:
    """What /readyz and `model status --json` say about a model (None: the committed one)."""
    if row is None:
        return {"source": "shipped", "id": None, "kb_revision": None, "fingerprint": shipped_fingerprint(),
                "trained_at": None}
    return {"source": "database", "id": row.id, "kb_revision": row.kb_revision, "fingerprint": row.fingerprint,
            "trained_at": aware(row.finished_at).isoformat() if row.finished_at else None}


_COLUMNS = [c for c in table_of(SemanticModel).columns.keys() if c != "files"]  # noqa: SIM118 - a Table's columns


def history(db: DbEngine, limit: int = 10) -> list[SemanticModel]:
    """The newest trainings, without their files."""
    with Session(db) as session:
        rows = session.exec(select(*(getattr(SemanticModel, c) for c in _COLUMNS))
                            .order_by(col(SemanticModel.id).desc()).limit(limit)).all()
        return [SemanticModel(**dict(zip(_COLUMNS, r, strict=True))) for r in rows]


@dataclasses.dataclass
class State:
    serving: dict  # summary() of the model this database's processes answer with
    lines: list[str]  # in Vietnamese, for staff
    rows: list[SemanticModel]
    failure: str = ""  # the line of lines that reports the newest training's failure, if it failed
    retrainable: bool = False  # the console offers "Học lại ngay" (nothing queued or training)


VN_TZ = dt.timezone(dt.timedelta(hours=7))


def _local(value: dt.datetime | None) -> str:
    return aware(value).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if value else "?"


def state(db: DbEngine, settings: Settings) -> State:
    rows = history(db)
    ready = next((r for r in rows if r.status == READY), None)
    if ready is None:  # an older one, beyond the history shown
        with Session(db, expire_on_commit=False) as session:
            ready = _newest(session, READY)
    lines = []
    if not enabled(settings):
        lines.append(f"Mô hình ngữ nghĩa: SEMANTIC_MODEL={settings.semantic_model}; không tự học lại.")
        return State(summary(None), lines, rows)
    if ready is not None:
        took = f", học trong {ready.duration_seconds:.0f} giây" if ready.duration_seconds is not None else ""
        lines.append(f"Mô hình ngữ nghĩa: đã học phiên bản {(ready.kb_revision or '?')[:8]} của kho kiến thức "
                     f"lúc {_local(ready.finished_at)} (Giờ Việt Nam){took}.")
    else:
        lines.append("Mô hình ngữ nghĩa: bản đi kèm phần mềm (models/bhxh-static), chưa học lại lần nào.")
    active = [r for r in rows if r.status in (TRAINING, QUEUED)]
    for row in sorted(active, key=lambda r: r.status != TRAINING):
        if row.status == TRAINING:
            lines.append(f"Đang học lại… (bắt đầu lúc {_local(row.started_at)}, lần {row.attempts}).")
        else:
            lines.append(f"Đang chờ học lại (yêu cầu lúc {_local(row.requested_at)}: {row.reason}).")
    newest = next((r for r in rows if r.status != SUPERSEDED), None)
    failure = ""
    if newest is not None and newest.status == FAILED:
        failure = (f"Lần học gần nhất bị lỗi lúc {_local(newest.finished_at)}: {newest.error}. "
                   "Mô hình cũ vẫn đang được dùng.")
        lines.append(failure)
    if not settings.model_retrain:
        lines.append("Tự động học lại khi sửa kho kiến thức đang tắt (MODEL_RETRAIN=false).")
    return State(summary(ready), lines, rows, failure, retrainable=not active)
