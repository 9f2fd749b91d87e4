"""Hybrid retrieval over the knowledge base's alternative questions.

Four signals, each scored per entry as the best match among its questions:
- lexical: word uni/bigram TF-IDF cosine on the normalised text;
- character: char 3-5-gram TF-IDF cosine (robust to typos and split words);
- fuzzy: rapidfuzz token-set similarity, computed on the best candidates only;
- semantic: cosine of sentence-transformers embeddings (optional).
They are fused with fixed weights (see `Weights`) measured with `bhxh-bot eval`. With the semantic
model, the entry's score then blends that best single match with the cosine to the entry's
centroid (the mean of all its questions' embeddings): one lucky near-duplicate question counts
less than agreement with everything the entry is about.
Out-of-scope groups and requests for a person are indexed the same way, under
labels starting with '@', so that "nearest to something we never answer" is a
positive signal rather than only a low score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.utils import murmurhash3_32

from app.text import MONEY_MARK, Normalizer

# Above SHORTLIST_ALL labels, only the SHORTLIST best by word postings and by semantic
# centroid (their union) are scored with every signal.
SHORTLIST_ALL = 200
SHORTLIST = 60


def _release_free_memory() -> None:
    """Hand the index build's freed temporaries back to the OS (glibc keeps them otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True)
class Weights:
    lexical: float = 0.25
    char: float = 0.15
    fuzzy: float = 0.10
    semantic: float = 0.50
    centroid: float = 0.40  # share of the entry-centroid cosine in an entry's score (semantic model only)


@dataclass
class Candidate:
    label: str
    score: float
    lexical: float = 0.0
    char: float = 0.0
    fuzzy: float = 0.0
    semantic: float = 0.0
    best_question: str = ""

    def as_dict(self) -> dict[str, float | str]:
        return {
            "label": self.label, "score": round(self.score, 4), "lexical": round(self.lexical, 4),
            "char": round(self.char, 4), "fuzzy": round(self.fuzzy, 4), "semantic": round(self.semantic, 4),
        }


@dataclass
class Document:
    label: str
    text: str  # as written, for display
    key: str  # normalised


def column_dot(matrix: sparse.csc_matrix, idx: np.ndarray, data: np.ndarray, chunk: int = 1 << 19) -> np.ndarray:
    """`matrix[:, idx] @ data` for a CSC matrix, reading only those columns' postings.

    Columns are taken in groups of about `chunk` postings, each group sliced and multiplied by scipy's compiled
    product into one float32 vector, so the only temporaries are one group's postings (about 6 MB): slicing every
    column at once cost 20-50 MB per letter at 10,000 entries, and a Python loop over single columns three times
    the time (docs/performance.md)."""
    out = np.zeros(matrix.shape[0], dtype=np.float32)
    if len(idx) == 0:
        return out
    ends = np.cumsum(matrix.indptr[idx + 1] - matrix.indptr[idx])
    data = data.astype(np.float32, copy=False)
    start = 0
    while start < len(idx):
        done = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, done + chunk, side="right")), start + 1)
        out += matrix[:, idx[start:stop]] @ data[start:stop]
        start = stop
    return out


class QueryVectors:
    """One short query's TF-IDF vectors, computed exactly as the fitted sklearn vectorizers do, without
    their per-call input validation (which costs more than the scoring itself on a short message).
    tests/test_retrieval.py checks both against sklearn."""

    def __init__(self, word: TfidfVectorizer, char: HashingVectorizer, char_idf: np.ndarray):
        self.vocabulary = word.vocabulary_
        self.word_idf = word.idf_.astype(np.float64)
        self.word_ngrams = word.ngram_range
        self.char_analyzer = char.build_analyzer()
        self.n_features = char.n_features
        self.char_idf = char_idf

    @staticmethod
    def _weighted(counts: dict[int, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        data = (1.0 + np.log(tf)) * idf[idx]  # sublinear tf, then l2 norm
        data /= max(float(np.linalg.norm(data)), 1e-12)
        order = np.argsort(idx)
        return idx[order], data[order].astype(np.float32)

    def word(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        tokens = key.lower().split()
        lo, hi = self.word_ngrams
        counts: dict[int, int] = {}
        for n in range(lo, hi + 1):
            for i in range(len(tokens) - n + 1):
                j = self.vocabulary.get(" ".join(tokens[i : i + n]))
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
        return self._weighted(counts, self.word_idf)

    def char(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        n = self.n_features
        for gram in self.char_analyzer(key):
            h = murmurhash3_32(gram, seed=0)
            j = (2147483647 - (n - 1)) % n if h == -2147483648 else abs(h) % n
            counts[j] = counts.get(j, 0) + 1
        return self._weighted(counts, self.char_idf)


class Encoder(Protocol):
    """A sentence model: app.semantic.StaticEncoder, or a sentence-transformers model (app.semantic.load_encoder)."""

    def encode(self, texts: list[str], batch_size: int = ..., **options: Any) -> Any: ...


@dataclass
class Index:
    normalizer: Normalizer
    documents: list[Document]
    encoder: Encoder | None = None
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self) -> None:
        self.documents.sort(key=lambda d: d.label)
        self.keys = [d.key for d in self.documents]
        labels = [d.label for d in self.documents]
        self.labels = sorted(set(labels))
        self._label_pos = {label: i for i, label in enumerate(self.labels)}
        self.doc_label = np.array([self._label_pos[lbl] for lbl in labels], dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, self.doc_label[1:] != self.doc_label[:-1]])
        self._starts = starts
        self.word_vec = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2),
                                        sublinear_tf=True, min_df=1, dtype=np.float32)
        # column (posting-list) form: a query reads only its own terms' postings
        self.word_csc = self.word_vec.fit_transform(self.keys).tocsc()
        # hashed character n-grams: no vocabulary to hold in memory. Two passes over chunks of
        # questions (document frequencies, then the weighted rows written straight into the final
        # arrays), so that a large knowledge base never holds more than one chunk besides the result
        hashing = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=2**20, alternate_sign=False,
                                    norm=None, dtype=np.float32)
        step = 5000
        df = np.zeros(hashing.n_features, dtype=np.int64)
        nnz = 0
        for i in range(0, len(self.keys), step):
            chunk = hashing.transform(self.keys[i : i + step])
            df += np.bincount(chunk.indices, minlength=hashing.n_features)
            nnz += chunk.nnz
        idf = TfidfTransformer(sublinear_tf=True)
        idf.idf_ = np.log((1 + len(self.keys)) / (1 + df)) + 1  # sklearn's smoothed idf, computed chunk by chunk
        del df
        self.query = QueryVectors(self.word_vec, hashing, idf.idf_)
        data = np.empty(nnz, dtype=np.float32)
        indices = np.empty(nnz, dtype=np.int32)
        indptr = np.zeros(len(self.keys) + 1, dtype=np.int64)
        at = 0
        for i in range(0, len(self.keys), step):
            chunk = idf.transform(hashing.transform(self.keys[i : i + step])).tocsr()
            data[at : at + chunk.nnz] = chunk.data
            indices[at : at + chunk.nnz] = chunk.indices
            indptr[i + 1 : i + 1 + chunk.shape[0]] = chunk.indptr[1:] + at
            at += chunk.nnz
            del chunk
        weighted = sparse.csr_matrix((data, indices, indptr), shape=(len(self.keys), hashing.n_features))
        del data, indices, indptr
        # a small knowledge base is scored whole, through the query's n-gram columns; a large one
        # row by row over its shortlist
        self._score_all = len(self.labels) <= SHORTLIST_ALL
        self.char_matrix = weighted.tocsc() if self._score_all else weighted
        del weighted
        self.vocabulary = sorted({tok for key in self.keys for tok in key.split()})
        self._vocab_set = set(self.vocabulary)
        self._ends = np.r_[starts[1:], len(self.documents)]
        self.embeddings: np.ndarray | None = None
        if self.encoder is not None:
            # encoded in chunks straight into the stored array: half precision at rest for a large
            # knowledge base (the few shortlisted rows are widened per query)
            step = 20000
            sums = embeddings = None
            for i in range(0, len(self.keys), step):
                vectors = self._encode(self.keys[i : i + step])
                if sums is None or embeddings is None:
                    sums = np.zeros((len(self.labels), vectors.shape[1]), dtype=np.float32)
                    embeddings = self.embeddings = np.empty((len(self.keys), vectors.shape[1]),
                                                            dtype=np.float32 if self._score_all else np.float16)
                embeddings[i : i + len(vectors)] = vectors
                np.add.at(sums, self.doc_label[i : i + len(vectors)], vectors)
                del vectors
            if sums is not None:
                self.centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        _release_free_memory()
        self._correct = lru_cache(maxsize=20000)(self._correct_token)

    # --- signals ------------------------------------------------------------------

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.encoder is None:
            raise ValueError("this index has no semantic model")
        vectors = self.encoder.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def _correct_token(self, token: str) -> str:
        if token in self._vocab_set or len(token) < 4 or token.isdigit() or token == MONEY_MARK:
            return token
        match = process.extractOne(token, self.vocabulary, scorer=Levenshtein.normalized_similarity,
                                   score_cutoff=0.75)
        return match[0] if match else token

    def correct(self, key: str) -> str:
        """Replace words the knowledge base never uses by its nearest word (typos)."""
        return " ".join(self._correct(tok) for tok in key.split())

    def _shortlist(self, word: np.ndarray, centroid: np.ndarray | None) -> np.ndarray:
        """Positions of the labels worth scoring in full: all of them for a small knowledge
        base; for a large one the best by word postings and by semantic entry centroid."""
        n = len(self.labels)
        if n <= SHORTLIST_ALL:
            return np.arange(n)
        picks = [np.argpartition(-np.maximum.reduceat(word, self._starts), SHORTLIST)[:SHORTLIST]]
        if centroid is not None:
            picks.append(np.argpartition(-centroid, SHORTLIST)[:SHORTLIST])
        return np.unique(np.concatenate(picks))

    def search(self, key: str, top: int = 8) -> list[Candidate]:
        """Candidates for a normalised message, best first."""
        if not key.strip() or not self.documents:
            return []
        key = self.correct(key)
        word_idx, word_data = self.query.word(key)
        # postings of the query's terms only (column slices), not a scan of every question
        word = column_dot(self.word_csc, word_idx, word_data)
        qvec = self._encode([key])[0] if self.embeddings is not None else None
        # the message's cosine to every entry's centroid: shortlist (large KB) and score blend
        centroid = self.centroids @ qvec if qvec is not None else None
        char_idx, char_data = self.query.char(key)
        if self._score_all:
            labels = np.arange(len(self.labels))
            docs = np.arange(len(self.documents))
            char = column_dot(self.char_matrix, char_idx, char_data)
            embeddings = self.embeddings
        else:
            labels = self._shortlist(word, centroid)
            docs = np.concatenate([np.arange(self._starts[p], self._ends[p]) for p in labels])
            word = word[docs]
            query = np.zeros(self.char_matrix.shape[1], dtype=np.float32)
            query[char_idx] = char_data
            char = self.char_matrix[docs] @ query
            embeddings = self.embeddings[docs].astype(np.float32) if self.embeddings is not None else None
        w = self.weights
        sem = np.zeros_like(word)
        sem_weight = 0.0
        if qvec is not None:
            sem = np.clip(embeddings @ qvec, 0.0, 1.0)
            sem_weight = w.semantic
        partial = w.lexical * word + w.char * char + sem_weight * sem
        # fuzzy similarity on the most promising questions only
        fuzzy = np.zeros_like(word)
        for i in np.argpartition(-partial, min(len(partial) - 1, 60))[:60]:
            fuzzy[i] = fuzz.token_set_ratio(key, self.keys[docs[i]]) / 100.0
        total = (partial + w.fuzzy * fuzzy) / (w.lexical + w.char + w.fuzzy + sem_weight)
        # docs are grouped by label: per-label maxima over the shortlisted groups
        sizes = self._ends[labels] - self._starts[labels]
        bounds = np.r_[0, np.cumsum(sizes)[:-1]]
        by_label = np.maximum.reduceat(total, bounds)
        if centroid is not None and w.centroid:
            by_label = (1.0 - w.centroid) * by_label + w.centroid * np.clip(centroid[labels], 0.0, 1.0)
        out = []
        for j in np.argsort(-by_label)[:top]:
            lo, hi = bounds[j], bounds[j] + sizes[j]
            out.append(Candidate(
                label=self.labels[labels[j]], score=float(by_label[j]), lexical=float(word[lo:hi].max()),
                char=float(char[lo:hi].max()), fuzzy=float(fuzzy[lo:hi].max()), semantic=float(sem[lo:hi].max()),
                best_question=self.documents[docs[lo + int(np.argmax(total[lo:hi]))]].text,
            ))
        return out
