"""How far independent labellers agree on a labelled message set, and the engine's figures against each of them.

    .venv/bin/python scripts/label_agreement.py eval/real-letters --second eval/real-letters/second-labels

The first labels are the `expect` fields of the set's files (a folder's `*.jsonl`, or files). Second labels are
JSON-lines files of their own, one per labeller, each row `{"sha": <first 16 hex digits of the SHA-256 of the
message text>, "expect": <entry id or "@escalate">, "acceptable": [<other entries whose answer also fully answers
the main question>], "also": <a second question's entry or "">, "sure": true|false}`; a second labeller need not
label every message. It prints:

- agreement on the main label between every two labellers (the same label; the same side of in scope and out of
  scope; one's main label among the other's acceptable ones, or a finer entry of it, `knowledge_base/finer.tsv`);
- the engine's in-scope accuracy and wrong answers (`bhxh-bot eval`'s definitions) against each labeller, against
  the majority label (two of three or more agree), on the messages every labeller gives the same main label, and
  leniently: right when some labeller's main or acceptable label is the answered entry, wrong when none is.

It answers every message with the engine as `bhxh-bot eval` does (environment settings, bundled model).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import read_message_file  # noqa: E402
from app.engine import ANSWERED  # noqa: E402
from app.evaluation import Group, answer_row, answers_topic, read_finer  # noqa: E402

ESCALATE = "@escalate"
FIRST = "first"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_second(path: Path) -> dict[str, dict]:
    """A second labeller's rows by text key; ValueError names the bad line."""
    rows = read_message_file(path, keys=("sha", "expect"))
    for n, row in enumerate(rows, 1):
        if not isinstance(row.get("acceptable", []), list):
            raise ValueError(f"{path}: row {n}: 'acceptable' must be a list")
    return {row["sha"]: row for row in rows}


def _in_scope(label: str) -> bool:
    return not label.startswith("@")


class Letter:
    """One message with every labeller's main and acceptable labels."""

    def __init__(self, row: dict):
        self.row = row
        self.main = {FIRST: row["expect"]}
        self.accept: dict[str, set[str]] = {FIRST: set()}

    def add(self, who: str, label: dict) -> None:
        self.main[who] = label["expect"]
        self.accept[who] = {a for a in label.get("acceptable", []) if isinstance(a, str) and a != label["expect"]}

    def majority(self) -> str | None:
        label, votes = Counter(self.main.values()).most_common(1)[0]
        return label if votes * 2 > len(self.main) else None


def compatible(a_main: str, b_main: str, b_accept: set[str], finer) -> bool:
    return (a_main == b_main or a_main in b_accept or answers_topic(a_main, b_main, finer)
            or answers_topic(b_main, a_main, finer))


def _pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:5.1f}% ({num}/{den})" if den else "  n/a"


def measure(pairs, finer) -> Group:
    """`bhxh-bot eval`'s counts (`app.evaluation.Group`) over (reply, main, acceptable) triples: an answer with an
    acceptable entry counts as one with the main label (the main label says whether the message is in scope)."""
    group = Group()
    for reply, main, accept in pairs:
        answered_accepted = _in_scope(main) and reply.outcome == ANSWERED and reply.entry_id in accept
        group.add({"expect": reply.entry_id if answered_accepted else main}, reply, finer)
    return group


def report_line(name: str, g: Group) -> str:
    return (f"  {name:34} in scope {g.in_scope:4}  right {_pct(g.correct, g.in_scope):>17}  "
            f"wrong {_pct(g.wrong, g.in_scope):>15}  out of scope answered {_pct(g.oos_answered, g.oos)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("first", nargs="+", type=Path, help="labelled files, or folders of *.jsonl files")
    ap.add_argument("--second", type=Path, required=True,
                    help="a second labeller's file, or a folder of them (one *.jsonl per labeller)")
    args = ap.parse_args(argv)
    try:
        files = [f for p in args.first for f in (sorted(p.glob("*.jsonl")) if p.is_dir() else [p])]
        rows = [r for f in files for r in read_message_file(f) if isinstance(r.get("expect"), str)]
        second_files = sorted(args.second.glob("*.jsonl")) if args.second.is_dir() else [args.second]
        seconds = {f.stem: read_second(f) for f in second_files}
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not rows or not seconds:
        print("error: no labelled messages, or no second labels", file=sys.stderr)
        return 2

    letters = {}
    for row in rows:
        letters.setdefault(text_key(row["text"]), Letter(row))
    for who, labels in seconds.items():
        for key, label in labels.items():
            if key in letters:
                letters[key].add(who, label)
    labelled = [x for x in letters.values() if len(x.main) > 1]
    names = [FIRST, *seconds]
    print(f"messages: {len(letters)} with first labels, {len(labelled)} of them with a second label "
          f"({', '.join(f'{w}: {sum(w in x.main for x in letters.values())}' for w in seconds)})")

    finer = read_finer(ROOT / "knowledge_base")
    print("agreement on the main label:")
    for a, b in itertools.combinations(names, 2):
        both = [x for x in labelled if a in x.main and b in x.main]
        if not both:
            continue
        same = sum(x.main[a] == x.main[b] for x in both)
        side = sum(_in_scope(x.main[a]) == _in_scope(x.main[b]) for x in both)
        scoped = [x for x in both if _in_scope(x.main[a]) and _in_scope(x.main[b])]
        compat = sum(compatible(x.main[a], x.main[b], x.accept[b], finer)
                     or compatible(x.main[b], x.main[a], x.accept[a], finer) for x in scoped)
        print(f"  {a} / {b}: {len(both)} messages; same label {_pct(same, len(both))}; same side of the scope "
              f"{_pct(side, len(both))}; both in scope {len(scoped)}, of which compatible {_pct(compat, len(scoped))}")

    from app.service import Runtime
    from app.settings import Settings

    settings = Settings()
    engine = Runtime.start(settings).engine
    day = settings.today()
    replies = {id(x): answer_row(engine, x.row, day) for x in labelled}

    print("the engine against:")
    for who in names:
        pairs = [(replies[id(x)], x.main[who], x.accept[who]) for x in labelled if who in x.main]
        print(report_line(f"{who}'s labels", measure(pairs, finer)))
    majority = [x for x in labelled if x.majority() is not None]
    pairs = []
    for x in majority:
        label = x.majority()
        accept = set().union(*(x.accept[w] for w in x.main if x.main[w] == label))
        pairs.append((replies[id(x)], label, accept))
    print(report_line("the majority label", measure(pairs, finer))
          + f"  (no majority: {len(labelled) - len(majority)})")
    agreed = [x for x in labelled if len(set(x.main.values())) == 1]
    print(report_line("messages every labeller agrees on", measure(
        [(replies[id(x)], x.row["expect"], set()) for x in agreed], finer)))
    lenient = []
    for x in majority:
        if not _in_scope(x.majority()):
            lenient.append((replies[id(x)], ESCALATE, set()))
            continue
        accepted = {label for w in x.main for label in {x.main[w], *x.accept[w]} if _in_scope(label)}
        first = next(iter(sorted(accepted)))
        lenient.append((replies[id(x)], first, accepted))
    print(report_line("leniently (any labeller accepts)", measure(lenient, finer))
          + "  (on the majority's scope)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
