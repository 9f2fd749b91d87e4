"""The committed semantic model (models/bhxh-static, trained by scripts/train_semantic.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.knowledge import load_directory
from app.semantic import load_encoder

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "bhxh-static"
SCRIPT = ROOT / "scripts" / "train_semantic.py"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}



@pytest.fixture(scope="module")
def encoder():
    return load_encoder("auto")


@pytest.fixture(scope="module")
def kb():
    kb, errors = load_directory(ROOT / "knowledge_base")
    assert not errors
    return kb


def test_model_is_committed_and_small():
    for name in ("modules.json", "model.safetensors", "tokenizer.json"):
        assert (MODEL / name).is_file(), name
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    # the training corpus (knowledge_base/training) brings its words and word pairs: 16.8 MiB with the letters of
    # 30/11/2026, 25.1 MiB (33,197 words and word pairs of 192 dimensions, single precision on disk) with the
    # retired validation sets final2-final11; since 01/12/2026 a pair must occur in two training texts
    # (train_semantic.py --min-pair-count): 13.7 MiB (18,075) with final12 retired too, 14.3 MiB (18,919) with final13,
    # 14.9 MiB (19,742) with final14, 15.4 MiB (20,410) with final15;
    # each retired set now brings about 0.6 MiB, and the bound leaves room for about seven more
    assert size < 20 * 1024 * 1024


@pytest.mark.slow
def test_auto_loads_the_static_model_and_matches_sentence_transformers(encoder):
    from sentence_transformers import SentenceTransformer

    from app.semantic import StaticEncoder

    assert isinstance(encoder, StaticEncoder)  # not MiniLM, and no torch needed to answer
    reference = SentenceTransformer(str(MODEL), device="cpu")
    assert [type(m).__name__ for m in reference.children()] == ["StaticEmbedding", "Normalize"]
    texts = ["bao hiem xa hoi tu nguyen la gi", "muc dong bao hiem y te ho gia dinh", "tu khong co trong tu dien", ""]
    # in single precision the vectors are sentence-transformers' own
    ours = StaticEncoder(MODEL, dtype=np.float32).encode(texts)
    # the model reads the words and their known pairs (bhxh_input.json); sentence-transformers is given them
    assert encoder.model_input(texts[1]).startswith(texts[1] + " ")
    theirs = reference.encode([encoder.model_input(t) for t in texts], normalize_embeddings=True,
                              convert_to_numpy=True, show_progress_bar=False)
    assert np.allclose(ours, theirs, atol=1e-6)
    # the answering encoder holds the word vectors in half precision (memory): within 2e-4 of them, and the
    # rankings are the same (test_half_precision_ranks_as_single_precision)
    assert encoder.weights.dtype == np.float16
    assert np.allclose(encoder.encode(texts), theirs, atol=2e-4)


@pytest.mark.slow
def test_half_precision_ranks_as_single_precision(encoder, kb):
    """Every question of the knowledge base, asked as a message: the same three best labels in the same
    order (but for ties within rounding), and the same outcome and entry, with the word vectors in half or in
    single precision."""
    import datetime as dt

    from app.engine import Engine, Turn
    from app.semantic import StaticEncoder

    half, single = Engine(kb, encoder=encoder), Engine(kb, encoder=StaticEncoder(MODEL, dtype=np.float32))
    day = dt.date(2026, 11, 30)
    texts = [q for _, e in sorted(kb.entries.items()) for q in [e.title, *e.questions]]
    assert len(texts) > 1000
    for text in texts:
        key = half.normalizer.key(text)
        found_half, found_single = half.index.search(key, top=5), single.index.search(key, top=5)
        score = {c.label: c.score for c in found_single}
        for h, s in zip(found_half[:3], found_single[:3], strict=True):
            # the same label at each rank, unless two scored within half precision's rounding of each other (a
            # tie, which either precision may order either way)
            assert h.label == s.label or abs(score.get(h.label, 0.0) - s.score) < 0.005, (text, h, s)
        a, b = half.answer(text, Turn(), day=day), single.answer(text, Turn(), day=day)
        assert (a.outcome, a.entry_id) == (b.outcome, b.entry_id), text


def test_word_pairs_are_added_where_the_model_learned_them(encoder):
    from app.semantic import with_word_pairs

    assert with_word_pairs("ho gia dinh") == "ho gia dinh ho_gia gia_dinh"
    assert with_word_pairs("ho gia dinh", known={"gia_dinh"}) == "ho gia dinh gia_dinh"
    assert with_word_pairs("") == ""
    assert encoder.word_pairs
    assert {"gia_dinh", "bao_hiem", "tu_nguyen"} <= encoder.known
    # pairs the model never learned ("zzz_qqq", "dinh_zzz") are left out
    assert encoder.model_input("ve gia dinh zzz qqq") == "ve gia dinh zzz qqq ve_gia gia_dinh"
    # "về già" (old age) and "gia đình" (family) share their syllables, not their meaning
    a, b, c = encoder.encode(["luong huu ve gia", "luong huu gia ve", "ho gia dinh"])
    assert float(a @ b) < 1.0 - 1e-6 and float(a @ b) > float(a @ c)


def test_model_keeps_only_word_pairs_seen_in_two_training_texts(encoder, kb):
    """train_semantic.py's frequency floor (--min-pair-count 2): a pair found in one training text only is not
    in the vocabulary, so each retired set grows the model by the pairs citizens repeat, not by every pair."""
    from app.semantic import training_corpus

    counts: dict[str, int] = {}
    for text in {t for texts in training_corpus(kb).values() for t in texts}:
        words = text.split()
        for pair in {f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)}:
            counts[pair] = counts.get(pair, 0) + 1
    frequent = {pair for pair, n in counts.items() if n >= 2}
    assert sum(n == 1 for n in counts.values()) > 1000  # the floor leaves out something real
    # the vocabulary is the tokens of the training texts with their frequent pairs only (the tokenizer splits a
    # pair such as "1/7/2025_muc" at its punctuation, so compare tokens, not pairs)
    from tokenizers import pre_tokenizers

    from app.semantic import with_word_pairs

    split = pre_tokenizers.Whitespace().pre_tokenize_str
    texts = {t for texts in training_corpus(kb).values() for t in texts}
    expected = {token for t in texts for token, _ in split(with_word_pairs(t, frequent)) if "_" in token}
    assert {token for token in encoder.known if "_" in token} == expected
    everything = {token for t in texts for token, _ in split(with_word_pairs(t)) if "_" in token}
    assert len(everything - expected) > 1000


def test_same_entry_is_closer_than_another_topic(encoder, kb):
    norm = kb.normalizer()
    entries = [e for _, e in sorted(kb.entries.items()) if len(e.questions) >= 2]
    first_of_topic: dict[str, str] = {}
    for e in entries:
        first_of_topic.setdefault(e.topic, e.questions[0])
    assert len(first_of_topic) >= 2

    def emb(texts: list[str]) -> np.ndarray:
        return encoder.encode([norm.key(t) for t in texts], normalize_embeddings=True, convert_to_numpy=True,
                              show_progress_bar=False)

    wins = 0
    for e in entries:
        other = next(q for topic, q in first_of_topic.items() if topic != e.topic)
        a, b, c = emb([e.questions[0], e.questions[1], other])
        wins += float(a @ b) > float(a @ c)
    assert wins >= 0.9 * len(entries), f"{wins}/{len(entries)} entries"


@pytest.mark.slow
def test_loads_offline_in_a_fresh_process():
    code = ("from sentence_transformers import SentenceTransformer; "
            f"m = SentenceTransformer({str(MODEL)!r}, device='cpu'); "
            "print(m.encode(['bao hiem xa hoi tu nguyen']).shape[1])")
    out = subprocess.run([sys.executable, "-c", code], env=os.environ | OFFLINE, capture_output=True, text=True,
                         timeout=120, check=True)
    assert 128 <= int(out.stdout.split()[-1]) <= 256


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_training_is_deterministic(tmp_path):
    digests = []
    for run in ("a", "b"):
        subprocess.run([sys.executable, str(SCRIPT), "--epochs", "2", "--out", str(tmp_path / run)],
                       env=os.environ | OFFLINE, capture_output=True, text=True, timeout=300, check=True)
        digests.append(_digest(tmp_path / run))
    assert digests[0] == digests[1]
    assert "model.safetensors" in digests[0] and "bhxh_input.json" in digests[0]
    bad = subprocess.run([sys.executable, str(SCRIPT), "--parts", "0", "--out", str(tmp_path / "c")],
                         env=os.environ | OFFLINE, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "must be at least 1" in bad.stderr
    assert not (tmp_path / "c").exists()


def test_committed_model_was_trained_on_the_committed_knowledge_base(kb):
    from app.semantic import model_is_current

    assert model_is_current(kb), "knowledge base changed: run `python scripts/train_semantic.py` and commit the model"


def test_a_start_takes_the_fingerprint_from_the_model_only_when_its_inputs_are_the_same(kb, tmp_path):
    """The committed model records its inputs, so a start does not normalise the whole training corpus again
    (seconds of every start); an edited knowledge base, or a model without that record, is fingerprinted in full."""
    import copy

    from app.semantic import (
        FINGERPRINT_FILE,
        INPUTS_FILE,
        corpus_fingerprint,
        inputs_fingerprint,
        model_is_current,
        training_corpus,
        training_fingerprint,
    )

    full = corpus_fingerprint(training_corpus(kb))
    assert (MODEL / INPUTS_FILE).read_text().strip() == inputs_fingerprint(kb), \
        "the model's record of its inputs is stale: run `python scripts/train_semantic.py` and commit the model"
    assert training_fingerprint(kb) == full
    edited = copy.deepcopy(kb)
    first = sorted(edited.entries)[0]
    edited.entries[first].questions.append("một câu hỏi mới mà mô hình chưa học")
    assert inputs_fingerprint(edited) != inputs_fingerprint(kb)
    assert training_fingerprint(edited) == corpus_fingerprint(training_corpus(edited)) != full
    assert model_is_current(edited) is False
    # a record that does not match (another release's inputs) is not trusted: the fingerprint is computed
    other = tmp_path / "model"
    other.mkdir()
    (other / FINGERPRINT_FILE).write_text(full + "\n")
    (other / INPUTS_FILE).write_text("0" * 64 + "\n")
    assert model_is_current(kb, other) is True and model_is_current(edited, other) is False
    (other / FINGERPRINT_FILE).write_text("1" * 64 + "\n")
    (other / INPUTS_FILE).write_text(inputs_fingerprint(edited) + "\n")
    assert model_is_current(kb, other) is False
    (other / INPUTS_FILE).unlink()  # a model trained before the record: fingerprinted in full
    (other / FINGERPRINT_FILE).write_text(full + "\n")
    assert model_is_current(kb, other) is True and model_is_current(edited, other) is False


@pytest.mark.slow
def test_kb_crossval_reports_accuracy_on_kept_out_questions():
    script = ROOT / "scripts" / "kb_crossval.py"
    # the knowledge base alone, as before the training corpus: with it each fold trains about four times as long
    out = subprocess.run([sys.executable, str(script), "--folds", "2", "--no-corpus", "--show-wrong", "2"],
                         env=os.environ | OFFLINE,
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = {line.split(":")[0].strip(): line.split(":", 1)[1] for line in out.stdout.splitlines() if ":" in line}
    total = int(lines["questions"].split()[0])
    assert total == sum(len(e.questions) for e in load_directory(ROOT / "knowledge_base")[0].entries.values())
    accuracy = float(lines["in-scope accuracy"].strip().rstrip("%"))
    top3 = float(lines["top-1 / top-3"].split("/")[1].strip().rstrip("%"))
    # a model trained on half the questions still answers most of the other half, and ranks them high
    assert accuracy > 50 and top3 > 85
    bad = subprocess.run([sys.executable, str(script), "--folds", "1"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--folds must be at least 2" in bad.stderr
