"""A noisier copy of a labelled message file, to measure how answers hold up against sloppy typing.

    python scripts/noisy_copy.py IN.jsonl OUT.jsonl [--typos 0.25] [--seed 7] [--fold] [--upper]
    bhxh-bot eval OUT.jsonl

Each line keeps its keys (`expect` included); only `text` changes:
- `--typos P`: each word of four letters or more gets, with probability P, one typo of the kinds
  people make on a phone: a letter dropped, two neighbouring letters swapped, or a letter doubled;
- `--fold`: diacritics removed (as many citizens type);
- `--upper`: ALL CAPS.
The same input, options and seed give the same output.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import read_message_file  # noqa: E402
from app.text import fold  # noqa: E402


def typo(word: str, rng: random.Random) -> str:
    """One phone-keyboard slip inside the word (its first and last letters stay)."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:i] + word[i + 1 :]
    if kind < 0.7:
        i = min(i, len(word) - 3)  # the swapped pair stays inside the word
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i] + word[i:]


def noisy(text: str, rng: random.Random, typos: float, folded: bool, upper: bool) -> str:
    words = [typo(w, rng) if len(w) >= 4 and w.isalpha() and rng.random() < typos else w for w in text.split()]
    text = " ".join(words)
    if folded:
        text = fold(text)
    return text.upper() if upper else text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path)
    ap.add_argument("target", type=Path)
    ap.add_argument("--typos", type=float, default=0.25, help="share of words (4+ letters) given a typo")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fold", action="store_true", help="remove diacritics")
    ap.add_argument("--upper", action="store_true", help="ALL CAPS")
    args = ap.parse_args()
    if not 0.0 <= args.typos <= 1.0:
        ap.error("--typos must be between 0 and 1")
    rng = random.Random(args.seed)
    try:
        rows = read_message_file(args.source)
    except ValueError as exc:
        ap.error(str(exc))
    out = [json.dumps(row | {"text": noisy(row["text"], rng, args.typos, args.fold, args.upper)}, ensure_ascii=False)
           for row in rows]
    args.target.write_text("".join(line + "\n" for line in out), encoding="utf-8")
    print(f"wrote {len(out)} messages to {args.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
