"""What background retraining costs (docs/model-retraining.md): answer latency with and without a
training running, the training's duration, and the time to load a trained model and swap the engine.

    python scripts/bench_retrain.py [--messages 300] [--train-args "--epochs 40"]

Runs in a scratch SQLite database: imports knowledge_base/, measures answering (normalise, retrieve,
decide, render) on knowledge-base questions with the committed model, then queues a training and runs
it as the service does (app.retrain.Trainer: a separate process at nice 19, default options unless
--train-args), measuring answers in this process while it trains; then loads the trained model from
the database into a fresh engine, as every instance does when it notices it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms over {len(ms)} answers"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--train-args", default="", help="options for scripts/train_semantic.py (default: its own)")
    args = ap.parse_args()

    from sqlmodel import Session

    from app import database, retrain, storage
    from app.engine import Engine, Turn
    from app.semantic import load_encoder
    from app.service import import_directory
    from app.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", model_train_args=args.train_args)
        db = database.make_engine(settings.database_url)
        storage.init_db(db)
        kb = import_directory(db, settings)
        engine = Engine(kb, encoder=load_encoder("auto"))
        texts = [q for e in kb.entries.values() for q in e.questions][: args.messages]
        day = dt.date(2026, 11, 23)

        def answer_all() -> list[float]:
            out = []
            for text in texts:
                t0 = time.perf_counter()
                engine.answer(text, Turn(), day=day)
                out.append(time.perf_counter() - t0)
            return out

        answer_all()  # warm caches
        print(f"answering, no training:    {percentiles(answer_all())}")

        row_id = retrain.request(db, settings, "bench")
        done = threading.Event()
        result: dict = {}

        def run() -> None:
            t0 = time.perf_counter()
            result["outcome"] = retrain.Trainer(db, settings).run_once()
            result["seconds"] = time.perf_counter() - t0
            done.set()

        threading.Thread(target=run, daemon=True).start()
        during: list[float] = []
        while not done.is_set():
            during += answer_all()
        print(f"answering, while training: {percentiles(during)}")
        status = result["outcome"][1] if result.get("outcome") else None
        print(f"training {row_id}: {status} in {result['seconds']:.1f} s (wall clock, nice 19, "
              f"options: {args.train_args or 'the defaults'})")
        if status != retrain.READY:
            with Session(db) as session:
                print(session.get(retrain.SemanticModel, row_id).error)
            return 1
        t0 = time.perf_counter()
        row = retrain.ready_model(db)
        encoder = retrain.load_files(row.files)
        t1 = time.perf_counter()
        with Session(db) as session:
            Engine(storage.load_kb(session), encoder=encoder)
        t2 = time.perf_counter()
        print(f"model {row.id}: {row.size / 1024:.0f} KiB stored; read and loaded in {(t1 - t0) * 1000:.0f} ms, "
              f"engine rebuilt in {(t2 - t1) * 1000:.0f} ms")
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
