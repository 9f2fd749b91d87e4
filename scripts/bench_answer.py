"""Latency, cold start and memory of answering one message in process.

    python scripts/bench_answer.py [--messages 300] [--synthetic 10000] [--no-model]

Prints p50/p95 latency of normalise + retrieve + decide + render, for the shipped
knowledge base and for a synthetic one of N entries, on short messages made from the knowledge
base's questions and on the letters of the tuning half (eval/validation/tune.jsonl: a letter is
searched two or three times, whole and by its questions); cold start to the first
answer (a fresh process: imports, knowledge base, model, index); peak memory.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD = """
import time, sys
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from pathlib import Path
from app.knowledge import load_directory
from app.engine import Engine
from app.semantic import load_encoder
kb, _ = load_directory(Path({root!r}) / "knowledge_base")
engine = Engine(kb, encoder=load_encoder({model!r}))
engine.answer("bhxh tu nguyen dong bao nhieu 1 thang")
print(time.perf_counter() - t0)
"""


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def queries(kb, n: int, seed: int = 7) -> list[str]:
    """Messages built from the knowledge base's questions: words dropped, swapped, typos."""
    rng = random.Random(seed)
    pool = [q for e in kb.entries.values() for q in e.questions]
    out = []
    for _ in range(n):
        words = rng.choice(pool).split()
        if len(words) > 4 and rng.random() < 0.5:
            words.pop(rng.randrange(len(words)))
        if rng.random() < 0.3:
            i = rng.randrange(len(words))
            w = words[i]
            if len(w) > 3:
                j = rng.randrange(len(w) - 1)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        out.append(" ".join(words))
    return out


def synthetic(kb, size: int, seed: int = 11):
    rng = random.Random(seed)
    vocab = sorted({w for e in kb.entries.values() for q in e.questions for w in q.lower().split()})
    big = copy.copy(kb)
    entries = dict(kb.entries)
    base = list(kb.entries.values())
    i = 0
    while len(entries) < size:
        src = base[i % len(base)]
        i += 1
        e = copy.copy(src)
        e.id = f"{src.id}-syn{i}"
        extra = [" ".join(rng.sample(vocab, 3)) for _ in range(len(src.questions))]
        e.questions = [f"{q} {x}" for q, x in zip(src.questions, extra, strict=True)]
        e.related = []
        entries[e.id] = e
    big.entries = entries
    return big


def letters(path: Path = ROOT / "eval" / "validation" / "tune.jsonl") -> list[str]:
    """The letters (style "letter") of a labelled set; none when the file is absent (an image)."""
    import json

    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["text"] for r in rows if r.get("style") == "letter"]


def measure(engine, msgs: list[str], day: dt.date) -> tuple[float, float]:
    times = []
    for m in msgs:
        t = time.perf_counter()
        engine.answer(m, day=day)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--synthetic", type=int, default=10000)
    ap.add_argument("--no-model", action="store_true")
    args = ap.parse_args()
    model = "off" if args.no_model else "auto"

    out = subprocess.run([sys.executable, "-c", COLD.format(root=str(ROOT), model=model)],
                         capture_output=True, text=True, check=True)
    cold = float(out.stdout.strip().splitlines()[-1])

    from app.engine import Engine
    from app.knowledge import load_directory
    from app.semantic import load_encoder

    day = dt.date.today()
    kb, errors = load_directory(ROOT / "knowledge_base")
    encoder = load_encoder(model)
    engine = Engine(kb, encoder=encoder)
    msgs = queries(kb, args.messages)
    engine.answer(msgs[0], day=day)  # warm-up
    p50, p95 = measure(engine, msgs, day)
    long = letters()
    if long:
        lp50, lp95 = measure(engine, long, day)
    shipped_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model: {type(encoder).__name__ if encoder else 'none'} ({model})")
    print(f"shipped KB ({len(kb.entries)} entries, {len(engine.index.documents)} questions): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(msgs)} messages")
    if long:
        print(f"shipped KB, letters: p50 {lp50:.1f} ms, p95 {lp95:.1f} ms over {len(long)} letters "
              f"(mean {statistics.mean(map(len, long)):.0f} characters)")
    t = time.perf_counter()
    big_engine = Engine(synthetic(kb, args.synthetic), encoder=encoder)
    build = time.perf_counter() - t
    big_engine.answer(msgs[0], day=day)
    p50, p95 = measure(big_engine, msgs, day)
    print(f"synthetic KB ({len(big_engine.kb.entries)} entries, {len(big_engine.index.documents)} questions, "
          f"index built in {build:.1f} s): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    if long:
        p50, p95 = measure(big_engine, long, day)
        print(f"synthetic KB, letters: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"cold start to first answer: {cold:.2f} s")
    print(f"peak memory with the shipped KB: {shipped_peak:.0f} MB; after building and querying the "
          f"10,000-entry KB as well: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"resident now: {_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
