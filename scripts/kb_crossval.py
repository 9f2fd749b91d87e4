"""K-fold cross-validation of the whole answering engine on the knowledge base's own questions.

    .venv/bin/python scripts/kb_crossval.py [--folds 5] [--seed 13] [--show-wrong N] [--no-corpus] [--epochs N]

For each fold, every k-th alternative question of each entry is kept out: the semantic model is
trained (as scripts/train_semantic.py does) and the index is built without them, and each kept-out
question is then asked as a new conversation. It prints in-scope accuracy (answered with the
entry the question came from), wrong answers, and top-1 / top-3 of the ranked candidates.

A second check beside `bhxh-bot eval ../shared/eval/dev.jsonl` that never reads the dev set:
use it to see whether a change to retrieval or the decision generalises. The figures are lower
than on dev, because many questions are short and sit between two entries (a kept-out question
may be answered well by a neighbouring entry, and still counts as wrong here).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import torch  # noqa: E402
import train_semantic  # noqa: E402  (sets the offline flags and the import path)

from app.engine import ANSWERED, Engine, Turn  # noqa: E402
from app.knowledge import load_directory  # noqa: E402
from app.semantic import StaticEncoder, training_corpus  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kb", type=Path, default=ROOT / "knowledge_base")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--show-wrong", type=int, default=0, metavar="N", help="print N wrong answers")
    ap.add_argument("--no-corpus", action="store_true",
                    help="train on the knowledge base alone (the corpus authors read the entries' questions, so "
                         "with the corpus a kept-out question may have a close paraphrase in training)")
    ap.add_argument("--epochs", type=int, default=None, help="training epochs per fold (default: train_semantic's)")
    args = ap.parse_args()
    if args.folds < 2:
        ap.error("--folds must be at least 2")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train_args = train_semantic.build_parser().parse_args(
        ["--seed", str(args.seed)] + (["--epochs", str(args.epochs)] if args.epochs else []))
    day = dt.date.today()
    n = correct = wrong = top1 = top3 = 0
    wrongs = []
    with tempfile.TemporaryDirectory() as tmp:
        for fold in range(args.folds):
            kb, errors = load_directory(args.kb)
            if errors:
                raise SystemExit("knowledge base has errors:\n" + "\n".join(errors))
            held = []
            for entry in kb.entries.values():
                held += [(q, entry.id) for i, q in enumerate(entry.questions) if i % args.folds == fold]
                entry.questions = [q for i, q in enumerate(entry.questions) if i % args.folds != fold]
            with contextlib.redirect_stdout(io.StringIO()):
                model, _ = train_semantic.train(training_corpus(kb, {} if args.no_corpus else None), train_args,
                                                quiet=True)
            path = Path(tmp) / f"fold{fold}"
            train_semantic.save_model(model, path)
            engine = Engine(kb, encoder=StaticEncoder(path))
            for question, expect in held:
                reply = engine.answer(question, Turn(), day=day)
                n += 1
                if reply.outcome == ANSWERED:
                    correct += reply.entry_id == expect
                    if reply.entry_id != expect:
                        wrong += 1
                        wrongs.append((expect, reply.entry_id, question))
                top1 += reply.candidates[:1] == [expect]
                top3 += expect in reply.candidates[:3]
            print(f"fold {fold + 1}/{args.folds}: {len(held)} questions kept out", flush=True)
    print(f"questions:          {n} ({args.folds} folds, seed {args.seed}, "
          f"{'knowledge base only' if args.no_corpus else 'with the training corpus'})")
    print(f"in-scope accuracy:  {correct / n:6.1%}")
    print(f"wrong answers:      {wrong / n:6.1%}")
    print(f"top-1 / top-3:      {top1 / n:6.1%} / {top3 / n:.1%}")
    for expect, got, question in wrongs[: args.show_wrong]:
        print(f"  expect {expect:24} got {got:24} | {question}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
