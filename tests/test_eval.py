"""`bhxh-bot eval`: predictions file and quality figures."""

from __future__ import annotations

import json


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


def test_eval_without_labels_and_with_a_bad_line(cli, tmp_path):
    data = tmp_path / "plain.jsonl"
    data.write_text('{"text": "thẻ bhyt học sinh có hạn đến khi nào"}\n', encoding="utf-8")
    assert "1 messages answered" in cli("eval", str(data)).stdout
    data.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    result = cli("eval", str(data), check=False)
    assert result.returncode == 2 and "plain.jsonl:2" in result.stderr
