"""The training corpus (app.corpus) and what the semantic model learns from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


RETIRE = ROOT / "scripts" / "retire_set.py"


def run_retire(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RETIRE), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def write_set(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_spent_set_retires_into_the_corpus_away_from_the_sets_in_use(tmp_path):
    corpus = write_corpus(tmp_path / "training")
    before = read_corpus(corpus)
    in_use = write_set(tmp_path / "in-use.jsonl", [
        {"text": "mẹ em 60 tuổi đóng bhxh tự nguyện mỗi tháng ít nhất bao nhiêu", "expect": "vtn-muc-dong"}])
    spent = write_set(tmp_path / "final7.jsonl", [
        {"text": "dong bhxh tu nguyen thap nhat bn 1 thang", "expect": "vtn-muc-dong", "style": "chat", "author": "f7"},
        {"text": "mẹ em 60 tuổi đóng bhxh tự nguyện mỗi tháng ít nhất bao nhiêu ạ", "expect": "vtn-muc-dong",
         "style": "polite", "author": "f7"},
        {"text": "mức đóng thấp nhất, với lại đóng ở đâu", "expect": "vtn-muc-dong", "style": "two",
         "also": "vtn-dang-ky", "author": "f7"},
        {"text": "còn cao nhất thì sao", "expect": "vtn-muc-dong", "style": "followup",
         "context": "mức đóng thấp nhất", "author": "f7"},
        {"text": "nghỉ việc công ty lãnh trợ cấp thất nghiệp sao", "expect": "@escalate", "style": "chat", "author": "f7"},
        {"text": "sđt bhxh tỉnh Bình Dương", "expect": "@escalate", "style": "chat", "author": "f7"},
        {"text": "cám ơn ad nhiều nha", "expect": "@smalltalk", "style": "chat", "author": "f7"},
        {"text": "bhxh là gì", "expect": "@handoff", "style": "chat", "author": "f7"},
        {"text": "tháng này đóng rồi mà chưa thấy", "expect": "@escalate", "style": "chat", "author": "f7"},
    ])
    labels = tmp_path / "labels.tsv"
    labels.write_text("file\tline\tlabel\nfinal7.jsonl\t5\toos-that-nghiep\nfinal7.jsonl\t6\toos-khac-linh-vuc\n"
                      "final7.jsonl\t7\tthanks\nfinal7.jsonl\t8\tnone\nother.jsonl\t9\toos-khieu-nai\n", encoding="utf-8")
    common = ["retire", str(spent), "--corpus", str(corpus), "--away", str(in_use), "--retired", str(tmp_path / "retired"),
              "--labels", str(labels), "--labeller", "label-x", "--date", "01/12/2026"]
    dry = run_retire(*common, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert read_corpus(corpus) == before and spent.is_file()
    out = run_retire(*common)
    assert out.returncode == 0, out.stderr
    report = {line.rsplit(None, 1)[0]: int(line.rsplit(None, 1)[1]) for line in out.stdout.splitlines()
              if line.rsplit(None, 1)[-1].isdigit()}
    assert report["enters: entries"] == 1 and report["left out: near a set in use"] == 1
    assert report["left out: another province's office"] == 1 and report["left out: labelled none"] == 1
    assert report["left out: @escalate without a label"] == 1 and report["left out: follow-up"] == 1
    after = read_corpus(corpus)
    assert after["vtn-muc-dong"] == before["vtn-muc-dong"] + ["dong bhxh tu nguyen thap nhat bn 1 thang"]
    assert after["@oos-that-nghiep"][-1] == "nghỉ việc công ty lãnh trợ cấp thất nghiệp sao"
    assert after["@smalltalk-thanks"] == ["cám ơn ad nhiều nha"]
    assert after["@handoff"] == before["@handoff"] and "@oos-khac-linh-vuc" not in after
    text = (corpus / "entries" / "vtn-muc-dong.txt").read_text(encoding="utf-8")
    assert "# author: f7 (retired validation set eval/retired/final7.jsonl, in training since 01/12/2026)" in text
    assert "labelled by label-x" in (corpus / "smalltalk" / "thanks.txt").read_text(encoding="utf-8")
    assert not spent.exists() and (tmp_path / "retired" / "final7.jsonl").is_file()
    # a label without who wrote it is refused before anything is written
    again = write_set(tmp_path / "final8.jsonl", [{"text": "ok", "expect": "@smalltalk", "style": "chat"}])
    refused = run_retire("retire", str(again), "--corpus", str(corpus), "--labels", str(labels))
    assert refused.returncode != 0 and "--labeller" in refused.stderr and again.is_file()


def test_pruning_removes_corpus_messages_near_a_sealed_set_and_prints_only_the_corpus_side(tmp_path):
    corpus = write_corpus(tmp_path / "training")
    sealed = write_set(tmp_path / "sealed.jsonl", [
        {"text": "BH TỰ NGUYỆN 1 THÁNG ĐÓNG ÍT NHẤT MẤY Ạ", "expect": "vtn-muc-dong"},
        {"text": "cho em gặp nhân viên", "expect": "@handoff"}])
    out = run_retire("prune", "--near", str(sealed), "--corpus", str(corpus))
    assert out.returncode == 0, out.stderr
    assert "bh tu nguyen 1 thang dong it nhat may" in out.stdout and "ÍT NHẤT MẤY Ạ" not in out.stdout
    corpus_now = read_corpus(corpus)
    assert corpus_now["vtn-muc-dong"] == ["MỨC ĐÓNG THẤP NHẤT LÀ BAO NHIÊU"]
    assert corpus_now["@handoff"] == ["cho em nói chuyện với người thật"]
    assert "# written by author A" in (corpus / "entries" / "vtn-muc-dong.txt").read_text(encoding="utf-8")


@pytest.mark.one_database
def test_a_note_beside_the_training_corpus_queues_no_retraining_a_new_message_does(database_url, tmp_path):
    """The trainer id (app/retrain.py) covers the corpus's messages as the trainer reads them: a live
    deployment retrains for a new message in knowledge_base/training/, not for a README or a comment there."""
    import shutil

    from sqlmodel import Session

    from app import database, retrain, storage
    from app.settings import Settings

    kb_dir = tmp_path / "knowledge_base"
    shutil.copytree(ROOT / "knowledge_base", kb_dir)
    settings = Settings(database_url=database_url, knowledge_base_dir=kb_dir, semantic_model="auto")
    db = database.make_engine(database_url)
    try:
        storage.init_db(db)
        kb, errors = load_directory(kb_dir)
        assert errors == []
        with Session(db) as session:
            storage.save_kb(session, kb, source="test")
            session.commit()
        assert retrain.request(db, settings, "test") == 1  # trained by this release: nothing more is wanted
        assert retrain.check(db, settings, kb, "r1") is None

        training = kb_dir / "training"
        (training / "README-corpus-z.md").write_text("# Corpus Z\nWritten by a new author.\n", encoding="utf-8")
        handoff = training / "handoff.txt"
        handoff.write_text("# a comment on the file\n" + handoff.read_text(encoding="utf-8"), encoding="utf-8")
        assert retrain.check(db, settings, kb, "r1") is None

        handoff.write_text(handoff.read_text(encoding="utf-8") + "cho tôi gặp cán bộ trực tổng đài\n",
                           encoding="utf-8")
        row_id = retrain.check(db, settings, kb, "r1")
        assert row_id == 2
        assert [(r.id, r.reason) for r in retrain.history(db)][:1] == [(2, "phần mềm học mô hình thay đổi")]
    finally:
        db.dispose()
