"""Split the labelled validation messages into a tuning half and a final half, once, before any tuning.

Each (expected label, style) stratum is ordered by the SHA-256 of its texts and dealt alternately to the two
halves, so the split is reproducible, balanced per entry and per style, and independent of anyone's choice.

    python scripts/split_validation.py RAW.jsonl [RAW.jsonl ...] --tune eval/validation/tune.jsonl \
        --final eval/validation/final.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli import read_message_file  # noqa: E402


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        strata[(str(row.get("expect", "")), str(row.get("style", "")))].append(row)
    tune, final = [], []
    for key in sorted(strata):
        ordered = sorted(strata[key], key=lambda r: hashlib.sha256(r["text"].encode("utf-8")).hexdigest())
        for i, row in enumerate(ordered):
            (tune if i % 2 == 0 else final).append(row)
    return tune, final


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw", nargs="+", type=Path)
    ap.add_argument("--tune", type=Path, required=True)
    ap.add_argument("--final", type=Path, required=True)
    args = ap.parse_args(argv)
    rows = []
    try:
        for path in args.raw:
            rows += read_message_file(path)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seen = set()
    unique = []
    for row in rows:
        if row["text"] not in seen:
            seen.add(row["text"])
            unique.append(row)
    tune, final = split(unique)
    write(args.tune, tune)
    write(args.final, final)
    print(f"{len(unique)} messages ({len(rows) - len(unique)} exact repeats dropped): "
          f"{len(tune)} to {args.tune}, {len(final)} to {args.final}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
