"""Measure the console's grouping of unanswered questions and its suggestion floor on a labelled set
(eval/unanswered/labelled.tsv: question, group, entry or "-"), before and after the change, and sweep the
thresholds. `python scripts/measure_unanswered.py` prints a Markdown table (docs/console-work.md has it)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

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
    """The grouping before: cosine to each group's first question, 0.5 char n-grams + 0.5 semantic, >= 0.6."""
    from app.console import unanswered

    char, semantic = unanswered._vectors(engine, unanswered.keys(engine, texts))
    leaders: list[int] = []
    out = []
    for i in range(len(texts)):
        best = None
        if leaders:
            sims = np.asarray((char[leaders] @ char[i].T).todense()).ravel()
            if semantic is not None:
                sims = 0.5 * sims + 0.5 * (semantic[leaders] @ semantic[i])
            j = int(np.argmax(sims))
            best = j if sims[j] >= threshold else None
        if best is None:
            leaders.append(i)
            best = len(leaders) - 1
        out.append(best)
    return out


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
    from app import retrieval
    from app.engine import Engine
    from app.knowledge import load_directory

    kb, errors = load_directory(ROOT / "knowledge_base")
    assert not errors, errors
    return Engine(kb, encoder=retrieval.load_encoder("auto"))


def main() -> None:
    from app.console import unanswered

    eng, rows = engine(), load()
    texts, truth = [r[0] for r in rows], [r[1] for r in rows]
    print(f"{len(rows)} questions, {len(set(truth))} groups, "
          f"{sum(1 for i, j in itertools.combinations(truth, 2) if i == j)} pairs that belong together\n")
    print("| grouping | threshold | precision | recall | groups |\n| --- | --- | --- | --- | --- |")
    for th in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65):
        ids = old_cluster(eng, texts, th)
        p, r = pair_scores(truth, ids)
        print(f"| before (first question, char + semantic) | {th} | {p:.2f} | {r:.2f} | {len(set(ids))} |")
    for th in (0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        ids = unanswered.cluster(eng, texts, th)
        p, r = pair_scores(truth, ids)
        print(f"| after (average, char + semantic + token set) | {th} | {p:.2f} | {r:.2f} | {len(set(ids))} |")
    print("\n| suggestion floor | precision | questions with an entry that get it | questions without one offered one |"
          "\n| --- | --- | --- | --- |")
    for floor in (0.0, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8):
        p, r, wrong = suggestion_scores(eng, rows, floor)
        print(f"| {floor} | {p:.2f} | {r:.2f} | {wrong} |")


if __name__ == "__main__":
    main()
