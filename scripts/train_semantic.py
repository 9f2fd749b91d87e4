"""Train the small semantic model used by retrieval, from the knowledge base and its training corpus.

    .venv/bin/python scripts/train_semantic.py            # writes models/bhxh-static/
    .venv/bin/python scripts/train_semantic.py --holdout  # also reports accuracy on held-out KB questions

Data: every entry is a class made of its title and alternative questions; every
out-of-scope group, the handoff examples and each kind of small talk are classes of
their own. The training corpus (`app.corpus`: knowledge_base/training/, or --corpus)
adds its messages to the same classes; it is part of the model's fingerprint, so a
changed corpus makes the model stale as a changed entry does. All texts are
normalised with `kb.normalizer().key()`, exactly as retrieval does.

Model: a word-level tokenizer (`tokenizers`, whitespace pre-tokenizer, [UNK]) over
that corpus, whose texts are given as their words followed by their adjacent word
pairs ("bao_hiem": `app.semantic.with_word_pairs`, since most Vietnamese words are
two syllables), a `StaticEmbedding` (mean of learned vectors) and `Normalize`.
Training: MultipleNegativesRankingLoss on (anchor, positive) pairs = two texts of
the same class, in batches that never hold two pairs of the same class (so there
are no in-batch false negatives), with word dropout / [UNK] replacement so that
unknown and missing words are expected. `--parts` models are trained from
consecutive seeds and their vectors joined side by side into one StaticEmbedding
(a small ensemble: less dependence on one run's luck). Fixed seeds, CPU, one
thread: the same knowledge base gives the same weights.

With --holdout, every fifth question of each entry is kept out of training and
then matched (nearest text, as retrieval does) against the rest; the model is
then trained again on everything and saved. The evaluation set in /work/shared
is never read.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss  # noqa: E402
from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402

from app.corpus import default_corpus_dir, read_corpus  # noqa: E402
from app.knowledge import load_directory  # noqa: E402
from app.semantic import (  # noqa: E402
    FINGERPRINT_FILE,
    INPUT_FILE,
    INPUTS_FILE,
    corpus_fingerprint,
    inputs_fingerprint,
    training_corpus,
    with_word_pairs,
    word_pairs,
)

UNK = "[UNK]"


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_classes(kb_dir: Path, corpus_dir: Path | None = None) -> tuple[dict[str, list[str]], str]:
    """{label: [normalised text, ...]} from the knowledge base and the training corpus (by default
    the knowledge base's training/ folder, else the shipped one), duplicates removed, in a stable order;
    and the fingerprint of those inputs (`app.semantic.inputs_fingerprint`)."""
    kb, errors = load_directory(kb_dir)
    if errors:
        raise SystemExit("knowledge base has errors:\n" + "\n".join(errors))
    corpus = read_corpus(corpus_dir or default_corpus_dir(kb_dir))
    return training_corpus(kb, corpus), inputs_fingerprint(kb, corpus)


def frequent_pairs(classes: dict[str, list[str]], min_count: int) -> set[str] | None:
    """The word pairs that occur in at least `min_count` distinct training texts (None: all of
    them). A pair seen in one text only names that text rather than a topic, and the vocabulary
    (the model's size, and so every instance's memory) grows with every such pair; single words
    are always kept."""
    if min_count <= 1:
        return None
    counts: dict[str, int] = {}
    for text in {t for texts in classes.values() for t in texts}:
        for pair in set(word_pairs(text.split())):
            counts[pair] = counts.get(pair, 0) + 1
    return {pair for pair, n in counts.items() if n >= min_count}


def build_tokenizer(texts: list[str]) -> Tokenizer:
    splitter = pre_tokenizers.Whitespace()
    words = sorted({w for text in texts for w, _ in splitter.pre_tokenize_str(text)})
    vocab = {UNK: 0} | {w: i + 1 for i, w in enumerate(words)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer


def token_ids(tokenizer: Tokenizer, texts: list[str]) -> dict[str, list[int]]:
    """Each distinct text's word ids, encoded once: the texts do not change between epochs, only
    which of their words are dropped."""
    distinct = list(dict.fromkeys(texts))
    encoded = tokenizer.encode_batch(distinct, add_special_tokens=False)
    return {text: list(enc.ids) for text, enc in zip(distinct, encoded, strict=True)}


def features(ids_of: dict[str, list[int]], texts: list[str], rng: random.Random | None = None,
             drop: float = 0.0, unk: float = 0.0) -> dict[str, torch.Tensor]:
    """StaticEmbedding inputs; during training some words are dropped or replaced by [UNK]."""
    batch = []
    for text in texts:
        ids = ids_of[text]
        if rng is not None and len(ids) > 1:
            kept = []
            for i in ids:
                r = rng.random()
                if r < drop:
                    continue
                kept.append(0 if r < drop + unk else i)
            ids = kept or [ids[rng.randrange(len(ids))]]
        batch.append(ids)
    offsets = torch.tensor(np.cumsum([0] + [len(ids) for ids in batch[:-1]]), dtype=torch.long)
    input_ids = torch.tensor([i for ids in batch for i in ids], dtype=torch.long)
    return {"input_ids": input_ids, "offsets": offsets}


def epoch_batches(classes: dict[str, list[str]], rng: random.Random, batch_size: int
                  ) -> list[list[tuple[str, str]]]:
    """Every text is an anchor once, with another text of its class as positive;
    batches never contain two pairs of the same class."""
    pairs = []
    for label, texts in classes.items():
        for i, anchor in enumerate(texts):
            j = rng.randrange(len(texts) - 1)
            pairs.append((label, anchor, texts[j + (j >= i)]))
    rng.shuffle(pairs)
    batches: list[list[tuple[str, str]]] = []
    pending = pairs
    while pending:
        batch, labels, rest = [], set(), []
        for pair in pending:
            if len(batch) < batch_size and pair[0] not in labels:
                batch.append((pair[1], pair[2]))
                labels.add(pair[0])
            else:
                rest.append(pair)
        if len(batch) > 1:
            batches.append(batch)
        pending = rest if len(batch) > 1 else []
    return batches


def train_part(classes: dict[str, list[str]], tokenizer: Tokenizer, args: argparse.Namespace, seed: int,
               quiet: bool = False) -> tuple[torch.Tensor, int, float]:
    """One model's word vectors, trained from `seed`; with its pair count and final loss."""
    set_seed(seed)
    rng = random.Random(seed)
    static = StaticEmbedding(tokenizer, embedding_dim=args.dim)
    torch.nn.init.normal_(static.embedding.weight, std=0.1)
    model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    loss_fn = MultipleNegativesRankingLoss(model, scale=args.scale, directions=("query_to_doc", "doc_to_query"))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)
    model.train()
    ids_of = token_ids(tokenizer, [t for texts in classes.values() for t in texts])
    n_pairs, last = 0, float("nan")
    for epoch in range(args.epochs):
        batches = epoch_batches(classes, rng, args.batch_size)
        total = 0.0
        for batch in batches:
            anchors, positives = zip(*batch, strict=True)
            fa = features(ids_of, list(anchors), rng, args.word_drop, args.word_unk)
            fp = features(ids_of, list(positives), rng, args.word_drop, args.word_unk)
            loss = loss_fn([fa, fp], None)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            n_pairs += len(batch)
        last = total / sum(len(b) for b in batches)
        if not quiet and (epoch % 10 == 0 or epoch == args.epochs - 1):
            print(f"  seed {seed}, epoch {epoch + 1:3d}/{args.epochs}: {len(batches)} batches, mean loss {last:.4f}")
    return static.embedding.weight.detach().clone(), n_pairs, last


def train(classes: dict[str, list[str]], args: argparse.Namespace, quiet: bool = False
          ) -> tuple[SentenceTransformer, dict]:
    """`args.parts` models trained from seeds seed, seed+1, ... on the same texts (words and word
    pairs), joined side by side into one StaticEmbedding: the cosine of the joined vectors is close
    to the mean of the parts' cosines, so the answer depends less on one training run's luck."""
    known = frequent_pairs(classes, args.min_pair_count)
    classes = {label: [with_word_pairs(t, known) for t in texts] for label, texts in classes.items()}
    tokenizer = build_tokenizer([t for texts in classes.values() for t in texts])
    parts, n_pairs, losses = [], 0, []
    for k in range(args.parts):
        weights, pairs, last = train_part(classes, tokenizer, args, args.seed + k, quiet)
        parts.append(weights)
        n_pairs += pairs
        losses.append(last)
    static = StaticEmbedding(tokenizer, embedding_weights=torch.cat(parts, dim=1))
    model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    model.eval()
    return model, {"pairs": n_pairs, "final_loss": float(np.mean(losses)), "vocab": tokenizer.get_vocab_size()}


def save_model(model: SentenceTransformer, path: Path) -> None:
    """The model, and how its input is made (app.semantic.StaticEncoder reads it)."""
    model.save(str(path), create_model_card=False)
    (path / INPUT_FILE).write_text(json.dumps({"word_pairs": True}) + "\n", encoding="utf-8")


def holdout_report(classes: dict[str, list[str]], args: argparse.Namespace) -> None:
    train_cls, held = {}, []
    for label, texts in classes.items():
        if label.startswith("@"):
            train_cls[label] = texts
            continue
        questions = texts[1:]  # texts[0] is the title
        out = questions[4::5]
        train_cls[label] = [texts[0]] + [q for q in questions if q not in out]
        held += [(label, q) for q in out]
    model, stats = train(train_cls, args, quiet=True)
    docs = [(label, t) for label, texts in train_cls.items() for t in texts]
    known = set(model[0].tokenizer.get_vocab())
    doc_emb = model.encode([with_word_pairs(t, known) for _, t in docs], normalize_embeddings=True,
                           convert_to_numpy=True)
    q_emb = model.encode([with_word_pairs(q, known) for _, q in held], normalize_embeddings=True,
                         convert_to_numpy=True)
    sims = q_emb @ doc_emb.T
    labels = sorted(train_cls)
    pos = {lbl: i for i, lbl in enumerate(labels)}
    per_label = np.full((len(held), len(labels)), -1.0)
    for j, (label, _) in enumerate(docs):
        per_label[:, pos[label]] = np.maximum(per_label[:, pos[label]], sims[:, j])
    order = np.argsort(-per_label, axis=1)
    gold = np.array([pos[label] for label, _ in held])
    top1 = float(np.mean(order[:, 0] == gold))
    top3 = float(np.mean([g in row[:3] for g, row in zip(gold, order, strict=True)]))
    print(f"holdout: {len(held)} questions kept out, top-1 {top1:.1%}, top-3 {top3:.1%} "
          f"(trained on {stats['pairs']} pairs, final loss {stats['final_loss']:.4f})")


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_parser() -> argparse.ArgumentParser:
    """The training options and their defaults (scripts/kb_crossval.py trains with the same)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kb", type=Path, default=ROOT / "knowledge_base")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "bhxh-static")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="training corpus folder (default: KB/training if it exists, else knowledge_base/training)")
    ap.add_argument("--dim", type=int, default=64, help="dimension of each part")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=48)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--word-drop", type=float, default=0.1)
    ap.add_argument("--word-unk", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--min-pair-count", type=int, default=2,
                    help="keep only word pairs found in at least this many training texts")
    ap.add_argument("--parts", type=int, default=3, help="models trained from consecutive seeds and joined")
    ap.add_argument("--holdout", action="store_true", help="first report accuracy on held-out KB questions")
    return ap


def keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed large blocks instead of returning them to the kernel.

    Every training step allocates a few gradient buffers of the vocabulary's size (megabytes); by
    default glibc maps each one afresh and unmaps it when freed, and the page faults of touching new
    pages took about a third of a training's time. Raising the thresholds keeps them in the heap
    (same arithmetic, same weights). Other C libraries: nothing is changed."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's largest allowed value on 64-bit
    mallopt(m_trim_threshold, 512 * 1024 * 1024)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    if args.parts < 1 or args.dim < 1 or args.epochs < 1:
        parser.error("--parts, --dim and --epochs must be at least 1")
    keep_freed_memory()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    started = time.perf_counter()
    classes, inputs = load_classes(args.kb, args.corpus)
    n_texts = sum(len(t) for t in classes.values())
    n_entries = sum(not label.startswith("@") for label in classes)
    print(f"knowledge base {args.kb}: {len(classes)} classes ({n_entries} entries, "
          f"{len(classes) - n_entries} out-of-scope/handoff groups), {n_texts} normalised texts")
    if args.holdout:
        holdout_report(classes, args)
    print(f"training: {args.parts} parts of dim {args.dim} (seeds {args.seed}..{args.seed + args.parts - 1}), "
          f"{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, scale {args.scale}, "
          f"word drop {args.word_drop}, [UNK] {args.word_unk}")
    model, stats = train(classes, args)
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(model, args.out)
    (args.out / FINGERPRINT_FILE).write_text(corpus_fingerprint(classes) + "\n", encoding="utf-8")
    (args.out / INPUTS_FILE).write_text(inputs + "\n", encoding="utf-8")
    (args.out / "README.md").write_text(
        "# bhxh-static\n\n"
        "Static word-embedding sentence model for BHXH Assistant retrieval (sentence-transformers "
        "StaticEmbedding + Normalize).\nTrained only from `knowledge_base/` (entries, intents, training/ corpus) by "
        "`scripts/train_semantic.py`; "
        "inputs are `Normalizer.key()` text with its word pairs added (`app.semantic.with_word_pairs`, as "
        f"`{INPUT_FILE}` says).\nDo not edit: retrain with "
        "`.venv/bin/python scripts/train_semantic.py`.\n\n"
        f"- vocabulary: {stats['vocab']} words and word pairs, dimension {args.dim * args.parts} "
        f"({args.parts} parts of {args.dim}, trained from seeds {args.seed}..{args.seed + args.parts - 1})\n"
        f"- training: {stats['pairs']} pairs, {args.epochs} epochs, mean final loss {stats['final_loss']:.4f}\n",
        encoding="utf-8",
    )
    size = dir_size(args.out)
    print(f"trained on {stats['pairs']} (anchor, positive) pairs over {args.epochs} epochs; "
          f"final loss {stats['final_loss']:.4f}; vocabulary {stats['vocab']} words")
    print(f"saved {args.out} ({size / 1024:.0f} KiB on disk) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
