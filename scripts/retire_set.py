"""Move a spent validation set into the training corpus, and keep the corpus away from the sets in use.

    python scripts/retire_set.py retire eval/validation/final7.jsonl [--labels labels.tsv --labeller label-r2]
                                        [--away eval/validation eval/real-letters ../shared/eval/dev.jsonl ...]
    python scripts/retire_set.py prune --near /path/to/sealed.jsonl

`retire` moves the set to eval/retired/ and appends to knowledge_base/training/:
- its in-scope messages of style chat, polite, letter, caps and emoji to `entries/<entry>.txt` (not `two`
  or `followup`: their label names one of two questions, or needs an earlier message);
- with `--labels` (a TSV `file<TAB>line<TAB>label` written by hand by someone who read only intents.yaml and the
  set: eval/retired/label-brief.md), its out-of-scope, small-talk and handoff messages to
  `out_of_scope/<group>.txt`, `smalltalk/<kind>.txt` and `handoff.txt`. A message labelled `none`, and an
  out-of-scope message that names another province (the engine's office check escalates those with their own
  reason), are left out.
Each block goes under `# author: <author> (retired validation set eval/retired/<file>, ...)`. A message near
a message of a set still in use (`--away`: rapidfuzz ratio >= --threshold after folding, as
scripts/check_overlap.py, messages of at least --min-words words) is left out.

`prune` removes from the corpus every message near one of `--near`'s (a sealed set about to be run): only
the corpus's side is printed, never the sealed set's.

Both print counts; `--dry-run` changes nothing. The method and why: eval/retired/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402
from check_overlap import clean  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from app.corpus import SMALLTALK_KINDS, TRAINING_DIR  # noqa: E402
from app.places import other_province  # noqa: E402

IN_SCOPE_STYLES = ("chat", "polite", "letter", "caps", "emoji")
RETIRED_DIR = ROOT / "eval" / "retired"
DEFAULT_AWAY = (ROOT / "eval" / "validation", ROOT / "eval" / "real-letters", ROOT.parent / "shared" / "eval" / "dev.jsonl")


def read_rows(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            row["_line"] = number
            rows.append(row)
    return rows


def away_texts(paths: list[Path], skip: Path | None = None) -> list[str]:
    """Every message (and earlier message) of the sets in use, cleaned, of the given files and folders."""
    out = []
    for given in paths:
        if not given.exists():
            print(f"  (no {given}: skipped)")
            continue
        for path in [given] if given.is_file() else sorted(given.glob("*.jsonl")):
            if skip is not None and path.resolve() == skip.resolve():
                continue
            for row in read_rows(path):
                out += [row["text"]] + ([row["context"]] if isinstance(row.get("context"), str) else [])
    return [clean(t) for t in out]


def near(texts: list[str], others: list[str], threshold: float, min_words: int) -> list[bool]:
    """For each text: has it a partner in `others` at or above the threshold? Short texts never do."""
    long_others = [o for o in others if len(o.split()) >= min_words]
    cleaned = [clean(t) for t in texts]
    flags = [False] * len(texts)
    rows = [i for i, c in enumerate(cleaned) if len(c.split()) >= min_words]
    if rows and long_others:
        scores = process.cdist([cleaned[i] for i in rows], long_others, scorer=fuzz.ratio, dtype=np.uint8, workers=1)
        for i, best in zip(rows, scores.max(axis=1), strict=True):
            flags[i] = bool(best >= threshold)
    return flags


def corpus_file(corpus: Path, label: str) -> Path | None:
    if label == "handoff":
        return corpus / "handoff.txt"
    if label in SMALLTALK_KINDS:
        return corpus / "smalltalk" / f"{label}.txt"
    if label.startswith("oos-"):
        return corpus / "out_of_scope" / f"{label}.txt"
    if (corpus / "entries" / f"{label}.txt").is_file():
        return corpus / "entries" / f"{label}.txt"
    return None


def label_kind(path: Path) -> str:
    return {"out_of_scope": "out of scope", "smalltalk": "small talk"}.get(path.parent.name, "handoff")


def append(path: Path, header: str, texts: list[str]) -> None:
    body = path.read_text(encoding="utf-8") if path.is_file() else ""
    if body and not body.endswith("\n"):
        body += "\n"
    path.write_text(body + "\n" + header + "\n" + "".join(t.replace("\n", " ").strip() + "\n" for t in texts),
                    encoding="utf-8")


def read_labels(path: Path, file_name: str) -> dict[int, str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {int(r["line"]): r["label"].strip() for r in csv.DictReader(handle, delimiter="\t")
                if r["file"].strip() == file_name}


def retire(args: argparse.Namespace) -> int:
    source: Path = args.set
    rows = read_rows(source)
    labels = read_labels(args.labels, source.name) if args.labels else {}
    if args.labels and not args.labeller:
        raise SystemExit("--labels needs --labeller (who labelled them, for the corpus's author lines)")
    day = args.date or dt.date.today().strftime("%d/%m/%Y")
    plan: dict[tuple[Path, str], list[str]] = defaultdict(list)
    counts: Counter = Counter()
    candidates = []
    for row in rows:
        expect, style = row["expect"], row.get("style", "")
        if style == "followup":
            counts["left out: follow-up"] += 1
            continue
        if not expect.startswith("@"):
            if style not in IN_SCOPE_STYLES:
                counts[f"left out: style {style}"] += 1
                continue
            label, note = expect, ""
        else:
            label = labels.get(row["_line"], "")
            if not label:
                counts[f"left out: {expect} without a label"] += 1
                continue
            if label == "none":
                counts["left out: labelled none"] += 1
                continue
            if label.startswith("oos-") and other_province(row["text"], ""):
                counts["left out: another province's office"] += 1
                continue
            note = f", labelled by {args.labeller}"
        path = corpus_file(args.corpus, label)
        if path is None:
            raise SystemExit(f"{source.name}:{row['_line']}: no corpus file for label {label!r}")
        candidates.append((row, path, note))
    away = away_texts(args.away, skip=source)
    flags = near([row["text"] for row, _, _ in candidates], away, args.threshold, args.min_words)
    where = f"eval/retired/{source.name}"
    for (row, path, note), is_near in zip(candidates, flags, strict=True):
        if is_near:
            counts["left out: near a set in use"] += 1
            continue
        header = f"# author: {row.get('author', source.stem)} (retired validation set {where}{note}, in training since {day})"
        plan[(path, header)].append(row["text"])
        counts["enters: " + ("entries" if path.parent.name == "entries" else label_kind(path))] += 1
    for key in sorted(counts):
        print(f"{key:44} {counts[key]:5}")
    print(f"{'corpus files written':44} {len({p for p, _ in plan}):5}")
    if args.dry_run:
        print("(dry run: nothing written)")
        return 0
    for (path, header), texts in plan.items():
        append(path, header, texts)
    if source.resolve().parent != args.retired.resolve():
        args.retired.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), args.retired / source.name)
        print(f"moved {source} -> {args.retired / source.name}")
    return 0


def prune(args: argparse.Namespace) -> int:
    away = away_texts(args.near)
    removed = 0
    for path in sorted(args.corpus.rglob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        idx = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
        flags = near([lines[i] for i in idx], away, args.threshold, args.min_words)
        drop = {i for i, f in zip(idx, flags, strict=True) if f}
        if not drop:
            continue
        removed += len(drop)
        print(f"{path.relative_to(args.corpus)}: {len(drop)} removed")
        for i in sorted(drop):
            print(f"    {lines[i].strip()}")
        if not args.dry_run:
            path.write_text("".join(line + "\n" for i, line in enumerate(lines) if i not in drop), encoding="utf-8")
    print(f"corpus messages near {', '.join(str(p) for p in args.near)}: {removed}"
          + (" (dry run: nothing removed)" if args.dry_run else " removed"))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("retire", help="move a spent set into eval/retired/ and its messages into the corpus")
    r.add_argument("set", type=Path)
    r.add_argument("--labels", type=Path, help="TSV file, line, label for its out-of-scope/small-talk/handoff rows")
    r.add_argument("--labeller", help="who wrote the labels (named in the corpus)")
    r.add_argument("--away", type=Path, nargs="+", default=list(DEFAULT_AWAY),
                   help="sets still in use (files or folders of .jsonl); the set itself is skipped")
    r.add_argument("--retired", type=Path, default=RETIRED_DIR, help="where the set moves")
    r.add_argument("--date", help="in training since (dd/mm/yyyy; today by default)")
    p = sub.add_parser("prune", help="remove corpus messages near a set about to be run")
    p.add_argument("--near", type=Path, nargs="+", required=True)
    for s in (r, p):
        s.add_argument("--corpus", type=Path, default=TRAINING_DIR)
        s.add_argument("--threshold", type=float, default=85.0)
        s.add_argument("--min-words", type=int, default=3)
        s.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    return retire(args) if args.command == "retire" else prune(args)


if __name__ == "__main__":
    raise SystemExit(main())
