"""Near-duplicates across the evaluation sets and the training corpus.

    python scripts/check_overlap.py [--dev ../shared/eval/dev.jsonl] [--validation eval/validation eval/real-letters]
                                    [--corpus knowledge_base/training] [--threshold 85] [--show 20]

Every message is folded (no diacritics, lower case) and its punctuation, emoji and spacing removed;
each pair of messages from two different sources (dev, each validation file, the training corpus,
the knowledge base's own questions) is compared with rapidfuzz `fuzz.ratio` (0-100, edit-distance
based: order-sensitive, so two messages that only share their vocabulary do not match). It prints,
per pair of sources (messages of at least --min-words words, 3 by default), how many messages have a partner
at or above 70, 80, 90 and the threshold, and
lists the closest pairs at or above the threshold. Exit status 1 when a validation or dev message
has a near-duplicate in the training corpus or the knowledge base (a figure measured on it would
partly measure memory), 0 otherwise. Why 85: docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from app.corpus import read_corpus  # noqa: E402
from app.text import fold  # noqa: E402


def clean(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", fold(text)).split())


def read_jsonl(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(row["text"])
            if isinstance(row.get("context"), str):
                out.append(row["context"])
    return out


def kb_questions(kb_dir: Path) -> list[str]:
    from app.knowledge import load_directory

    kb, _ = load_directory(kb_dir)
    return [q for e in kb.entries.values() for q in (e.title, *e.questions)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    ap.add_argument("--validation", type=Path, nargs="+",
                    default=[ROOT / "eval" / "validation", ROOT / "eval" / "real-letters"],
                    help="folders of .jsonl files (or files): the validation sets and the real letters")
    ap.add_argument("--corpus", type=Path, default=ROOT / "knowledge_base" / "training")
    ap.add_argument("--kb", type=Path, default=ROOT / "knowledge_base")
    ap.add_argument("--threshold", type=float, default=85.0)
    ap.add_argument("--show", type=int, default=20, help="list this many of the closest pairs")
    ap.add_argument("--min-words", type=int, default=3, help="leave out shorter messages (after cleaning)")
    args = ap.parse_args()

    sources: dict[str, list[str]] = {}
    if args.dev.is_file():
        sources["dev"] = read_jsonl(args.dev)
    for given in args.validation:
        for path in [given] if given.is_file() else sorted(given.glob("*.jsonl")):
            sources[f"{path.parent.name}/{path.stem}"] = read_jsonl(path)
    corpus = read_corpus(args.corpus)
    sources["corpus"] = [t for texts in corpus.values() for t in texts]
    sources["kb"] = kb_questions(args.kb)
    for name, texts in sources.items():
        print(f"{name:24} {len(texts):6} messages")
    # messages of fewer than --min-words words after cleaning ("ok", "👍", "cảm ơn ad") are left out:
    # everyone writes them the same way, and an emoji-only message cleans to nothing
    sources = {name: [t for t in texts if len(clean(t).split()) >= args.min_words] for name, texts in sources.items()}
    cleaned = {name: [clean(t) for t in texts] for name, texts in sources.items()}
    names = list(sources)
    bad = 0
    pairs = []
    print(f"\n{'pair of sources':40} {'>=70':>6} {'>=80':>6} {'>=90':>6} {'>=' + str(int(args.threshold)):>6}"
          "   (messages of the first with a partner in the second)")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if not cleaned[a] or not cleaned[b]:
                continue
            scores = process.cdist(cleaned[a], cleaned[b], scorer=fuzz.ratio, dtype=np.uint8, workers=1)
            best = scores.max(axis=1)
            counts = [int((best >= t).sum()) for t in (70, 80, 90, args.threshold)]
            print(f"{a + ' / ' + b:40} " + " ".join(f"{c:6}" for c in counts))
            if b in ("corpus", "kb") and a != "corpus" and a != "kb":
                bad += counts[-1]
            for row in np.flatnonzero(best >= args.threshold):
                col = int(scores[row].argmax())
                pairs.append((int(best[row]), a, sources[a][row], b, sources[b][col]))
    pairs.sort(key=lambda p: -p[0])
    if pairs and args.show:
        print(f"\nclosest pairs at or above {args.threshold:g}:")
        for score, a, ta, b, tb in pairs[: args.show]:
            print(f"  {score:3} {a}: {ta}\n      {b}: {tb}")
    print(f"\nevaluation messages with a near-duplicate (>= {args.threshold:g}) in the corpus or the knowledge base: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
