"""`bhxh-bot eval`: predictions file and quality figures."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.one_database  # the answers, not the storage: SQLite only


def test_eval_writes_one_prediction_per_line_and_prints_measures(cli, tmp_path):
    data = tmp_path / "set.jsonl"
    lines = [
        {"text": "bhxh tự nguyện là gì vậy ạ", "expect": "vtn-khai-niem"},
        {"text": "mua thẻ bhyt hộ gia đình ở đâu", "expect": "hgd-mua-o-dau"},
        {"text": "cho em gặp nhân viên", "expect": "@handoff"},
        {"text": "cảm ơn nhiều nha", "expect": "@smalltalk"},
        {"text": "giá vàng hôm nay thế nào", "expect": "@escalate"},
    ]
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    result = cli("eval", str(data), "--out", str(out))
    preds = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [p["text"] for p in preds] == [x["text"] for x in lines]
    for p in preds:
        assert set(p) == {"text", "outcome", "entry_id", "candidates", "score"}
        assert p["outcome"] in {"answered", "clarify", "escalated", "handoff", "smalltalk"}
    assert preds[0]["outcome"] == "answered" and preds[0]["entry_id"] == "vtn-khai-niem"
    assert len(preds[0]["candidates"]) >= 3
    assert preds[2]["outcome"] == "handoff" and preds[2]["entry_id"] is None
    for measure in ("in-scope accuracy", "wrong answers", "top-3 recall", "out-of-scope answered",
                    "handoff recall", "smalltalk recall"):
        assert measure in result.stdout
    assert "handoff recall:        100.0% (1/1)" in result.stdout


def test_eval_counts_wrong_answers_whose_right_entry_is_offered(cli, tmp_path):
    """A message labelled with the pupils' entry but answered with the household one: a wrong answer, with the
    right entry offered as the first choice (the closest other entry)."""
    data = tmp_path / "set.jsonl"
    lines = [{"text": "muốn mua bhyt cho con 15 tuổi thì ra đâu mua", "expect": "hssv-bat-buoc"},
             {"text": "bhxh tự nguyện là gì vậy ạ", "expect": "vtn-khai-niem"}]
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    result = cli("eval", str(data))
    assert "wrong answers:          50.0% (1/2)" in result.stdout
    assert "right one offered:   100.0% (1/1) of the wrong answers, first choice 1" in result.stdout


def test_eval_counts_wrong_answers_that_answer_another_question_asked(cli, tmp_path):
    """A wrong answer whose entry is the one of the message's other question (its `also`) is counted apart: the
    citizen got a true answer to something asked, not to the main question; the same answer without an `also`
    is not."""
    data = tmp_path / "set.jsonl"
    text = "muốn mua bhyt cho con 15 tuổi thì ra đâu mua"
    for also, counted in (("hgd-mua-o-dau", "100.0% (1/1)"), ("vtn-khai-niem", "  0.0% (0/1)")):
        data.write_text(json.dumps({"text": text, "expect": "hssv-bat-buoc", "style": "two", "also": also},
                                   ensure_ascii=False) + "\n", encoding="utf-8")
        result = cli("eval", str(data))
        assert "wrong answers:         100.0% (1/1)" in result.stdout
        assert f"answer another question asked: {counted} of the wrong answers" in result.stdout


def test_eval_answers_as_the_named_office(cli, tmp_path):
    """--office-name: a set written for one province is run as that province's deployment; Bắc Giang was merged
    into Bắc Ninh in 2025, so its office is the one asked about; Cà Mau's is another province's."""
    data = tmp_path / "set.jsonl"
    lines = [{"text": "cho em xin số điện thoại bhxh tỉnh Bắc Giang", "expect": "chung-lien-he"},
             {"text": "bhxh tỉnh Cà Mau ở đâu ạ", "expect": "@escalate"}]
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    unnamed, named = tmp_path / "unnamed.jsonl", tmp_path / "named.jsonl"
    cli("eval", str(data), "--out", str(unnamed))
    cli("eval", str(data), "--out", str(named), "--office-name", "Bảo hiểm xã hội tỉnh Bắc Ninh")
    before = [json.loads(line) for line in unnamed.read_text(encoding="utf-8").splitlines()]
    after = [json.loads(line) for line in named.read_text(encoding="utf-8").splitlines()]
    assert [p["outcome"] for p in before] == ["escalated", "escalated"]  # an unnamed office owns no province
    assert (after[0]["outcome"], after[0]["entry_id"]) == ("answered", "chung-lien-he")
    assert after[1]["outcome"] == "escalated"


def test_eval_without_labels_and_with_a_bad_line(cli, tmp_path):
    data = tmp_path / "plain.jsonl"
    data.write_text('{"text": "thẻ bhyt học sinh có hạn đến khi nào"}\n', encoding="utf-8")
    assert "1 messages answered" in cli("eval", str(data)).stdout
    data.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    result = cli("eval", str(data), check=False)
    assert result.returncode == 2 and "plain.jsonl:2" in result.stderr
    data.write_text('{"text": "ok"}\n{"text": 5}\n', encoding="utf-8")
    result = cli("eval", str(data), check=False)
    assert result.returncode == 2 and "plain.jsonl:2" in result.stderr and "'text' string" in result.stderr
    data.write_bytes('{"text": "thẻ"}\n'.encode("cp1258", errors="replace") + b"\xff\xfe\n")
    result = cli("eval", str(data), check=False)
    assert result.returncode == 2 and "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_noisy_copy_adds_typos_folds_and_capitalises_reproducibly(cli, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "noisy_copy.py"
    data = tmp_path / "set.jsonl"
    lines = [
        {"text": "Mức đóng bảo hiểm xã hội tự nguyện thấp nhất mỗi tháng là bao nhiêu", "expect": "vtn-muc-dong", "id": 1},
        {"text": "cho em gặp nhân viên", "expect": "@handoff"},
    ]
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60)

    assert run(str(data), str(tmp_path / "a.jsonl"), "--typos", "1").returncode == 0
    assert run(str(data), str(tmp_path / "b.jsonl"), "--typos", "1").returncode == 0
    a = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert [{k: v for k, v in x.items() if k != "text"} for x in a] == [{k: v for k, v in x.items() if k != "text"}
                                                                         for x in lines]
    for noisy, clean in zip(a, lines, strict=True):
        assert noisy["text"] != clean["text"]
        assert len(noisy["text"].split()) == len(clean["text"].split())
        # a typo changes a word by one letter, never its first or last letter
        for got, was in zip(noisy["text"].split(), clean["text"].split(), strict=True):
            assert got[0] == was[0] and got[-1] == was[-1] and abs(len(got) - len(was)) <= 1
    assert run(str(data), str(tmp_path / "c.jsonl"), "--typos", "0", "--fold", "--upper").returncode == 0
    c = [json.loads(x) for x in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()]
    assert c[0]["text"] == "MUC DONG BAO HIEM XA HOI TU NGUYEN THAP NHAT MOI THANG LA BAO NHIEU"
    # the noisy copy is a labelled file `bhxh-bot eval` reads
    result = cli("eval", str(tmp_path / "c.jsonl"))
    assert "handoff recall:        100.0% (1/1)" in result.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n[1, 2]\n', encoding="utf-8")
    refused = run(str(bad), str(tmp_path / "d.jsonl"))
    assert refused.returncode == 2 and "bad.jsonl:2" in refused.stderr and not (tmp_path / "d.jsonl").exists()
    assert run(str(data), str(tmp_path / "e.jsonl"), "--typos", "2").returncode == 2


def test_eval_reads_styles_follow_ups_and_second_questions(cli, tmp_path):
    data = tmp_path / "styled.jsonl"
    lines = [
        # a follow-up is answered after its context, in the same conversation
        {"text": "còn hộ cận nghèo thì sao?", "expect": "vtn-ho-tro", "style": "followup",
         "context": "hộ nghèo đóng bhxh tự nguyện được nhà nước hỗ trợ bao nhiêu"},
        {"text": "bhxh tự nguyện là gì vậy ạ", "expect": "vtn-khai-niem", "style": "chat"},
        {"text": "BHYT hộ gia đình mua ở đâu? Thẻ mua xong bao lâu thì dùng được?", "expect": "hgd-mua-o-dau",
         "style": "two", "also": "hgd-gia-tri-the"},
        {"text": "giá vàng hôm nay thế nào", "expect": "@escalate", "style": "chat"},
    ]
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    result = cli("eval", str(data), "--out", str(out))
    preds = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert preds[0]["outcome"] == "answered" and preds[0]["entry_id"] == "vtn-ho-tro"
    by_style = {line.split()[0]: line.split() for line in result.stdout.split("by style:", 1)[1].splitlines()[1:]
                if line.startswith("  ")}
    assert set(by_style) == {"chat", "followup", "two"}
    assert by_style["followup"][1:3] == ["1", "100.0%"]  # n, right outcome
    assert by_style["chat"][1:3] == ["2", "100.0%"]
    assert "clarify, right choice:" in result.stdout and "in scope escalated:" in result.stdout
    assert "two: second offered:" in result.stdout and "/1)" in result.stdout.split("two: second offered:")[1]
    assert "letters accuracy" not in result.stdout  # no letter in this file


def test_measures_count_right_choices_second_questions_and_letters():
    from app.engine import Choice, Reply
    from app.evaluation import measure

    def choice(entry_id):
        return Choice(entry_id, entry_id, entry_id)

    rows = [
        ({"text": "a", "expect": "e1", "style": "two", "also": "e2"},
         Reply("answered", "", entry_id="e1", candidates=["e1", "e2"], choices=[choice("e2"), choice("e3")])),
        ({"text": "b", "expect": "e1", "style": "two", "also": "e2"},
         Reply("answered", "", entry_id="e1", candidates=["e1"], choices=[choice("e3"), choice("e2")])),
        ({"text": "c", "expect": "e4", "style": "letter"},
         Reply("clarify", "", candidates=["e5", "e4"], choices=[choice("e5"), choice("e4")])),
        ({"text": "d", "expect": "e4", "style": "letter"}, Reply("answered", "", entry_id="e5", candidates=["e5"])),
        ({"text": "e", "expect": "@smalltalk", "style": "emoji"}, Reply("answered", "", entry_id="e5")),
        ({"text": "f"}, Reply("escalated", "")),  # unlabelled: not counted
    ]
    report = measure(rows)
    g = report.all
    assert (g.n, g.in_scope, g.correct, g.wrong, g.clarify, g.clarify_right, g.top3) == (5, 4, 2, 1, 1, 1, 3)
    assert (g.two, g.two_offered) == (2, 1)  # only a first choice counts as offered first
    assert (report.letters.in_scope, report.letters.correct, report.letters.wrong) == (2, 0, 1)
    assert report.styles["emoji"].answered_wrongly == 1 and g.smalltalk_right == 0
    assert list(report.styles) == ["emoji", "letter", "two"]


def test_a_finer_entry_that_fully_answers_counts_as_right():
    """knowledge_base/finer.tsv: an entry of the knowledge base that answers a narrower case of a listed
    topic (and is not a topic of its own) is a right answer to a message labelled with that topic, and only
    to that one."""
    from app.engine import ANSWERED, Reply
    from app.evaluation import is_right, is_wrong_answer, read_finer
    from tests.conftest import ROOT

    finer = read_finer(ROOT / "knowledge_base")
    reply = Reply(ANSWERED, "", entry_id="bhxh1l-dinh-cu-benh-nang")
    assert is_right("bhxh1l-dieu-kien", reply, finer) and not is_wrong_answer("bhxh1l-dieu-kien", reply, finer)
    assert not is_right("bhxh1l-muc-huong", reply, finer) and is_wrong_answer("bhxh1l-muc-huong", reply, finer)
    assert not is_right("bhxh1l-dieu-kien", reply)  # without the file: the exact entry only


def test_label_agreement_compares_labellers_and_measures_the_engine_against_each(database_url, tmp_path):
    """scripts/label_agreement.py: agreement between the first labels and two second labellers, and the engine's
    figures against each labelling, the majority, the messages all agree on, and leniently."""
    import hashlib
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import base_env

    script = Path(__file__).resolve().parent.parent / "scripts" / "label_agreement.py"
    first = [
        {"text": "bhxh tự nguyện là gì vậy ạ", "expect": "vtn-khai-niem"},
        # the first labeller took it for who may buy; one second labeller accepts where to buy as well
        {"text": "mua thẻ bhyt hộ gia đình ở đâu", "expect": "hgd-doi-tuong"},
        {"text": "giá vàng hôm nay thế nào", "expect": "@escalate"},
    ]
    (tmp_path / "set.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in first) + "\n",
                                        encoding="utf-8")
    second = tmp_path / "second"
    second.mkdir()

    def labels(name: str, rows: list[tuple[str, list[str]]]) -> None:
        lines = [json.dumps({"sha": hashlib.sha256(x["text"].encode()).hexdigest()[:16], "expect": expect,
                             "acceptable": accept, "also": "", "sure": True})
                 for x, (expect, accept) in zip(first, rows, strict=True)]
        (second / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    labels("x", [("vtn-khai-niem", []), ("hgd-mua-o-dau", []), ("@escalate", [])])
    labels("y", [("vtn-khai-niem", []), ("hgd-doi-tuong", ["hgd-mua-o-dau"]), ("vtn-muc-dong", [])])

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300,
                              env=base_env(database_url))

    result = run(str(tmp_path / "set.jsonl"), "--second", str(second))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "messages: 3 with first labels, 3 of them with a second label (x: 3, y: 3)" in out
    assert ("first / x: 3 messages; same label  66.7% (2/3); same side of the scope 100.0% (3/3); both in scope 2, "
            "of which compatible  50.0% (1/2)") in out
    assert "first / y: 3 messages; same label  66.7% (2/3); same side of the scope  66.7% (2/3)" in out
    # y accepts x's main label: compatible, though not the same
    assert ("x / y: 3 messages; same label  33.3% (1/3); same side of the scope  66.7% (2/3); both in scope 2, "
            "of which compatible 100.0% (2/2)") in out
    import re

    def counts(name: str) -> tuple[str, ...]:
        """(right, in scope, wrong, out of scope answered, out of scope) on the line of that reference."""
        line = next(x for x in out.splitlines() if x.strip().startswith(name))
        got = re.search(r"right +[\d.]+% \((\d+)/(\d+)\) +wrong +[\d.]+% \((\d+)/\d+\) +out of scope answered +"
                        r"(?:[\d.]+% \((\d+)/(\d+)\)|n/a)", line)
        assert got, line
        return tuple(x or "0" for x in got.groups())

    assert counts("first's labels") == ("1", "2", "1", "0", "1")
    assert counts("x's labels") == ("2", "2", "0", "0", "1")
    assert counts("y's labels") == ("2", "3", "0", "0", "0")  # where to buy is acceptable to y
    assert counts("the majority label") == ("2", "2", "0", "0", "1") and "(no majority: 0)" in out
    assert counts("messages every labeller agrees on") == ("1", "1", "0", "0", "0")
    assert counts("leniently (any labeller accepts)") == ("2", "2", "0", "0", "1")

    (second / "z.jsonl").write_text('{"sha": "abc", "expect": "vtn-khai-niem"}\n["not", "a", "row"]\n',
                                    encoding="utf-8")
    refused = run(str(tmp_path / "set.jsonl"), "--second", str(second))
    assert refused.returncode == 2 and "z.jsonl:2" in refused.stderr
