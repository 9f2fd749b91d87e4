"""The answering threshold's trade-off: accuracy, clarify, escalation and wrong answers against it.

    python scripts/plot_thresholds.py [--tune eval/validation/tune.jsonl] [--final PATH] [--out docs/thresholds.png]
    python scripts/plot_thresholds.py --grid        # also search (answer, margin) for short and long messages
    python scripts/plot_thresholds.py --tune A.jsonl --final B.jsonl --names "part A (tuned on)" "part B (check)"

The shipped knowledge base and model answer every labelled message of each set once per threshold
value (the search itself is cached, so only the decision is repeated). The x axis is the score a
short message needs to be answered (`Thresholds.answer`); a long message (`long_words` words or
more) needs `long_answer` and the letters' line `long_line`, both moved by the same amount. The
other thresholds stay as shipped. Each panel shows, as a share of the set's in-scope messages:
answered right, answered wrong, clarifying question (with or without the right choice), escalated;
and the out-of-scope messages answered. The shipped threshold is the dashed line. `--grid` prints,
with wrong answers at or under --max-wrong and the most answered right, the (answer, margin) pairs
for short messages and the (line, lead weight) pairs for long ones.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.cli import read_message_file  # noqa: E402
from app.engine import Engine  # noqa: E402
from app.evaluation import evaluate, read_finer  # noqa: E402
from app.knowledge import load_directory  # noqa: E402
from app.semantic import load_encoder  # noqa: E402

FINER = read_finer(ROOT / "knowledge_base")


class CachedSearch:
    """Index.search with its results remembered (copies handed out: the engine adjusts scores)."""

    def __init__(self, search):
        self.search = search
        self.memo = {}

    def __call__(self, key: str, top: int = 8):
        if (key, top) not in self.memo:
            self.memo[(key, top)] = self.search(key, top=top)
        return [copy.copy(c) for c in self.memo[(key, top)]]


def sweep(engine: Engine, items: list[dict], day: dt.date, values: np.ndarray) -> dict[str, list[float]]:
    base = engine.thresholds
    delta = base.long_answer - base.answer
    curves: dict[str, list[float]] = {k: [] for k in ("right", "wrong", "clarify", "clarify_right", "escalated",
                                                      "oos_answered")}
    for v in values:
        engine.thresholds = dataclasses.replace(base, answer=float(v), long_answer=float(v + delta),
                                                long_line=float(base.long_line + v - base.answer))
        g = evaluate(engine, items, day, FINER).all
        n = max(g.in_scope, 1)
        curves["right"].append(g.correct / n)
        curves["wrong"].append(g.wrong / n)
        curves["clarify"].append(g.clarify / n)
        curves["clarify_right"].append(g.clarify_right / n)
        curves["escalated"].append(g.escalated / n)
        curves["oos_answered"].append(g.oos_answered / max(g.oos, 1))
    engine.thresholds = base
    return curves


def grid(engine: Engine, items: list[dict], day: dt.date, max_wrong: float) -> None:
    base = engine.thresholds
    for name, pick in (("short", lambda r: len(r["text"].split()) < base.long_words),
                       ("long", lambda r: len(r["text"].split()) >= base.long_words)):
        subset = [r for r in items if pick(r) and r.get("expect") and not r["expect"].startswith("@")]
        if not subset:
            continue
        results = []
        if name == "short":
            pairs = [(float(a), m) for a in np.arange(0.40, 0.72, 0.02) for m in (0.0, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08)]
            labels = ("answer", "margin")
        else:  # a letter: score + weight x lead >= line
            pairs = [(float(k), w) for k in np.arange(0.76, 1.06, 0.02) for w in (1.0, 1.5, 2.0, 3.0)]
            labels = ("line", "lead weight")
        for a, m in pairs:
            engine.thresholds = dataclasses.replace(base, answer=a, margin=m) if name == "short" else \
                dataclasses.replace(base, long_line=a, long_lead_weight=m)
            g = evaluate(engine, subset, day, FINER).all
            results.append((g.correct / g.in_scope, g.wrong / g.in_scope, a, m))
        engine.thresholds = base
        ok = sorted([r for r in results if r[1] <= max_wrong], key=lambda r: (-r[0], r[1]))
        print(f"{name} messages ({len(subset)} in scope): best {labels} with wrong <= {max_wrong:.1%}:")
        for acc, wrong, a, m in ok[:5]:
            print(f"  {labels[0]} {a:.2f} {labels[1]} {m:.2f}: right {acc:.1%}, wrong {wrong:.1%}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tune", type=Path, default=ROOT / "eval" / "validation" / "tune.jsonl")
    ap.add_argument("--final", type=Path, default=None, help="the final half: a second row of panels")
    ap.add_argument("--names", nargs=2, default=("tuning half", "final half"), metavar=("TUNE", "FINAL"),
                    help="the panels' titles (e.g. two parts of the tuning half: the part tuned on, the part that checks)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "thresholds.png")
    ap.add_argument("--kb", type=Path, default=ROOT / "knowledge_base")
    ap.add_argument("--model", default="auto")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--max-wrong", type=float, default=0.02)
    args = ap.parse_args()

    sets = [(args.names[0], args.tune)] + ([(args.names[1], args.final)] if args.final else [])
    loaded = []
    for name, path in sets:
        try:
            loaded.append((name, path, read_message_file(path)))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    kb, errors = load_directory(args.kb)
    if errors:
        print("knowledge base has errors:\n" + "\n".join(errors), file=sys.stderr)
        return 2
    engine = Engine(kb, encoder=load_encoder(args.model))
    engine.index.search = CachedSearch(engine.index.search)
    day = dt.date.today()
    values = np.round(np.arange(0.40, 0.801, 0.02), 2)
    shipped = engine.thresholds.answer

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(loaded), figsize=(6.5 * len(loaded), 4.6), squeeze=False)
    for ax, (name, path, items) in zip(axes[0], loaded, strict=True):
        curves = sweep(engine, items, day, values)
        print(f"{name} ({path}):")
        print("  answer  right  wrong  clarify (right choice)  escalated  out-of-scope answered")
        for i, v in enumerate(values):
            print(f"  {v:.2f}   {curves['right'][i]:5.1%}  {curves['wrong'][i]:5.1%}  {curves['clarify'][i]:6.1%} "
                  f"({curves['clarify_right'][i]:5.1%})        {curves['escalated'][i]:5.1%}      "
                  f"{curves['oos_answered'][i]:5.1%}")
        ax.plot(values, np.array(curves["right"]) * 100, label="answered right", color="tab:green")
        ax.plot(values, np.array(curves["wrong"]) * 100, label="answered wrong", color="tab:red")
        ax.plot(values, np.array(curves["clarify"]) * 100, label="clarifying question", color="tab:blue")
        ax.plot(values, np.array(curves["clarify_right"]) * 100, label="… with the right choice", color="tab:blue",
                linestyle=":")
        ax.plot(values, np.array(curves["escalated"]) * 100, label="escalated", color="tab:gray")
        ax.plot(values, np.array(curves["oos_answered"]) * 100, label="out-of-scope answered", color="tab:orange",
                linestyle="--")
        ax.axhline(2, color="tab:red", linewidth=0.6, linestyle=":")
        ax.axvline(shipped, color="black", linewidth=0.8, linestyle="--")
        n = sum(1 for r in items if r.get("expect") and not r["expect"].startswith("@"))
        ax.set_title(f"{name}: {n} in-scope messages")
        ax.set_xlabel("score needed to answer a short message (long: moved alike)")
        ax.set_ylabel("% of in-scope messages (out-of-scope: % of those)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center right")
        if args.grid and name == args.names[0]:
            grid(engine, items, day, args.max_wrong)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
