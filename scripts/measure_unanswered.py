"""Measure the console's grouping of unanswered questions and its suggestion floor on a labelled set
(eval/unanswered/labelled.tsv: question, group, entry or "-"), before and after the change, and sweep the
thresholds. `python scripts/measure_unanswered.py` prints a Markdown table (docs/console-work.md has it)."""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LABELLED = ROOT / "eval" / "unanswered" / "labelled.tsv"


def load(path: Path = LABELLED) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            question, group, entry = line.split("\t")
            rows.append((question, group, "" if entry == "-" else entry))
    return rows


def pair_scores(truth: list[str], predicted: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall: of the pairs put in one group, how many belong together; of the pairs that
    belong together, how many were put in one group."""
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        same, together = truth[i] == truth[j], predicted[i] == predicted[j]
        tp += same and together
        fp += together and not same
        fn += same and not together
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def old_cluster(engine, texts: list[str], threshold: float = 0.6) -> list[int]:
    """The grouping before: similarity to each group's first question only, at 0.6."""
    from app.console import unanswered

    return unanswered.cluster(engine, texts, threshold, linkage="first")


def over_orders(engine, rows, threshold: float, orders: int = 20, **kw) -> tuple[float, float, float]:
    """Mean precision, lowest precision and mean recall over `orders` random arrival orders (the newest question
    comes first on the page, and any can be the newest)."""
    from app.console import unanswered

    ps, rs = [], []
    for seed in range(orders):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        p, r = pair_scores([g for _, g, _ in shuffled], unanswered.cluster(engine, [q for q, _, _ in shuffled],
                                                                            threshold, **kw))
        ps.append(p)
        rs.append(r)
    return sum(ps) / orders, min(ps), sum(rs) / orders


def suggestion_scores(engine, rows, floor: float) -> tuple[float, float, int]:
    """Precision of the suggestions made (the right entry), the share of questions with an entry that got it,
    and how many questions without an entry were offered one (wrongly)."""
    from app.console import unanswered

    made = right = wrong_none = 0
    with_entry = sum(1 for _, _, e in rows if e)
    for question, _, entry in rows:
        got, _ = unanswered.suggestion(engine, question, floor)
        if got:
            made += 1
            right += got == entry
            wrong_none += not entry
    return (right / made if made else 1.0), (right / with_entry if with_entry else 1.0), wrong_none


def engine():
    from app import semantic
    from app.engine import Engine
    from app.knowledge import load_directory

    kb, errors = load_directory(ROOT / "knowledge_base")
    assert not errors, errors
    return Engine(kb, encoder=semantic.load_encoder("auto"))


VARIANTS = (  # (name, keyword arguments of unanswered.cluster)
    ("before: first question, char + semantic", {"linkage": "first"}),
    ("average, char + semantic", {"linkage": "average"}),
    ("average, char + semantic + token set", {"linkage": "average", "token_set": True}),
    ("complete, char + semantic + token set", {"linkage": "complete", "token_set": True}),
    ("after: complete, char + semantic", {"linkage": "complete"}),
)


def main() -> None:
    from app.console import unanswered

    eng, rows = engine(), load()
    truth = [r[1] for r in rows]
    print(f"{len(rows)} questions, {len(set(truth))} groups, "
          f"{sum(1 for i, j in itertools.combinations(truth, 2) if i == j)} pairs that belong together; "
          "20 random orders\n")
    print("| grouping | threshold | precision (mean) | precision (worst order) | recall (mean) |\n"
          "| --- | --- | --- | --- | --- |")
    for name, kw in VARIANTS:
        for th in (0.45, 0.5, 0.55, 0.6, 0.65):
            p, worst, r = over_orders(eng, rows, th, **kw)
            print(f"| {name} | {th} | {p:.2f} | {worst:.2f} | {r:.2f} |")
    print("\n| suggestion floor | precision | questions with an entry that get it | questions without one offered one |"
          "\n| --- | --- | --- | --- |")
    for floor in (0.0, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8):
        p, r, wrong = suggestion_scores(eng, rows, floor)
        print(f"| {floor} | {p:.2f} | {r:.2f} | {wrong} |")
    print(f"\nchosen: threshold {unanswered.THRESHOLD}, floor {unanswered.SUGGESTION_FLOOR}")


if __name__ == "__main__":
    main()
