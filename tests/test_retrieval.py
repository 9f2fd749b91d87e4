"""The fast query vectorizers give exactly what the fitted sklearn vectorizers give."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer

from app.retrieval import QueryVectors

CORPUS = [
    "bhxh tu nguyen dong bao nhieu mot thang",
    "muc dong bhyt ho gia dinh nam nay",
    "rut bhxh mot lan co thiet gi khong",
    "hoc sinh sinh vien dong bhyt o dau",
    "đóng bảo hiểm xã hội tự nguyện được hỗ trợ bao nhiêu",
]
QUERIES = [
    "bhxh tu nguyen dong bao nhieu",
    "dong dong dong bhyt bhyt ho gia dinh",
    "từ khóa chưa có trong kho xyz",
    "a",
    "",
    "rut   mot lan  thiet  thiet",
]


@pytest.fixture(scope="module")
def fitted():
    word = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
    word.fit(CORPUS)
    hashing = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=2**20, alternate_sign=False,
                                norm=None, dtype=np.float32)
    idf = TfidfTransformer(sublinear_tf=True).fit(hashing.transform(CORPUS))
    return word, hashing, idf, QueryVectors(word, hashing, idf.idf_)


@pytest.mark.parametrize("query", QUERIES)
def test_word_vector_matches_sklearn(fitted, query):
    word, _, _, fast = fitted
    expected = word.transform([query]).tocsr()
    expected.sort_indices()
    idx, data = fast.word(query)
    assert list(idx) == list(expected.indices)
    np.testing.assert_allclose(data, expected.data, rtol=1e-5)


@pytest.mark.parametrize("query", QUERIES)
def test_char_vector_matches_sklearn(fitted, query):
    _, hashing, idf, fast = fitted
    expected = idf.transform(hashing.transform([query])).tocsr()
    expected.sort_indices()
    idx, data = fast.char(query)
    assert list(idx) == list(expected.indices)
    np.testing.assert_allclose(data, expected.data, rtol=1e-5)
    if query.strip():
        assert len(idx) > 0


def test_column_dot_matches_sparse_product():
    from scipy import sparse

    from app.retrieval import column_dot

    rng = np.random.default_rng(3)
    matrix = sparse.random(50, 300, density=0.05, format="csc", random_state=4, dtype=np.float32)
    idx = np.sort(rng.choice(300, size=12, replace=False))
    data = rng.random(12).astype(np.float32)
    expected = np.asarray(matrix[:, idx] @ data).ravel()
    np.testing.assert_allclose(column_dot(matrix, idx, data), expected, rtol=1e-5)
    assert not column_dot(matrix, idx[:0], data[:0]).any()
    # postings taken a few columns at a time (a letter's terms at 10,000 entries): the same product
    np.testing.assert_allclose(column_dot(matrix, idx, data, chunk=3), expected, rtol=1e-5)
