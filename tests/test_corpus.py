"""The training corpus (app.corpus) and what the semantic model learns from it."""

from __future__ import annotations

from pathlib import Path

from app.corpus import default_corpus_dir, read_corpus
from app.knowledge import load_directory
from app.semantic import corpus_fingerprint, training_corpus

ROOT = Path(__file__).resolve().parent.parent


def write_corpus(folder: Path) -> Path:
    (folder / "entries").mkdir(parents=True)
    (folder / "out_of_scope").mkdir()
    (folder / "smalltalk").mkdir()
    (folder / "entries" / "vtn-muc-dong.txt").write_text(
        "# written by author A\nbh tu nguyen 1 thang dong it nhat may\n\nMỨC ĐÓNG THẤP NHẤT LÀ BAO NHIÊU\n",
        encoding="utf-8")
    (folder / "entries" / "no-such-entry.txt").write_text("câu hỏi của mục đã xoá\n", encoding="utf-8")
    (folder / "out_of_scope" / "oos-that-nghiep.txt").write_text("mat viec lanh tien o dau\n", encoding="utf-8")
    (folder / "smalltalk" / "greeting.txt").write_text("chào buổi tối ad\n", encoding="utf-8")
    (folder / "handoff.txt").write_text("cho em nói chuyện với người thật\n", encoding="utf-8")
    return folder


def test_corpus_files_become_labelled_messages(tmp_path):
    corpus = read_corpus(write_corpus(tmp_path / "training"))
    assert corpus == {
        "vtn-muc-dong": ["bh tu nguyen 1 thang dong it nhat may", "MỨC ĐÓNG THẤP NHẤT LÀ BAO NHIÊU"],
        "no-such-entry": ["câu hỏi của mục đã xoá"],
        "@oos-that-nghiep": ["mat viec lanh tien o dau"],
        "@smalltalk-greeting": ["chào buổi tối ad"],
        "@handoff": ["cho em nói chuyện với người thật"],
    }
    assert read_corpus(tmp_path / "absent") == {}


def test_the_model_learns_the_corpus_for_labels_the_knowledge_base_knows(tmp_path):
    kb, errors = load_directory(ROOT / "knowledge_base")
    assert not errors
    corpus = read_corpus(write_corpus(tmp_path / "training"))
    without = training_corpus(kb, {})
    with_corpus = training_corpus(kb, corpus)
    norm = kb.normalizer()
    assert norm.key("MỨC ĐÓNG THẤP NHẤT LÀ BAO NHIÊU") in with_corpus["vtn-muc-dong"]
    assert norm.key("MỨC ĐÓNG THẤP NHẤT LÀ BAO NHIÊU") not in without["vtn-muc-dong"]
    assert norm.key("mat viec lanh tien o dau") in with_corpus["@oos-that-nghiep"]
    assert "no-such-entry" not in with_corpus  # a file for a deleted entry is ignored
    # small talk is a class of its own, from intents.yaml's phrases even without a corpus
    assert "@smalltalk-greeting" in without and norm.key("chào buổi tối ad") in with_corpus["@smalltalk-greeting"]
    # the corpus is part of the model's fingerprint: a changed corpus makes the model stale
    assert corpus_fingerprint(with_corpus) != corpus_fingerprint(without)


def test_an_exported_knowledge_base_uses_the_shipped_corpus(tmp_path):
    assert default_corpus_dir(tmp_path) == ROOT / "knowledge_base" / "training"
    write_corpus(tmp_path / "training")
    assert default_corpus_dir(tmp_path) == tmp_path / "training"


def test_the_engine_indexes_the_corpus_small_talk_and_requests_for_a_person_only(tmp_path):
    from app.corpus import chat_examples
    from app.engine import Engine

    assert chat_examples(write_corpus(tmp_path / "training")) == {
        "@smalltalk-greeting": ["chào buổi tối ad"], "@handoff": ["cho em nói chuyện với người thật"]}
    kb, errors = load_directory(ROOT / "knowledge_base")
    assert not errors
    shipped, bare = Engine(kb), Engine(kb, examples={})
    bare_texts = {(d.label, d.text) for d in bare.index.documents}
    added = [d for d in shipped.index.documents if (d.label, d.text) not in bare_texts]
    assert len(added) > 400
    assert {d.label for d in added} == {"@handoff"} | {f"@smalltalk-{k}" for k in ("greeting", "thanks", "bye", "ack")}
