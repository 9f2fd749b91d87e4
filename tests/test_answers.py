"""What a citizen gets from `bhxh-bot ask`: outcomes, today's figures, calculators, follow-ups."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.test_knowledge_base import copy_kb

pytestmark = pytest.mark.one_database  # the answers, not the storage: SQLite only


def ask(cli, text: str, *args: str, env=None) -> tuple[str, dict]:
    result = cli("ask", text, "-v", *args, env=env)
    return result.stdout, json.loads(result.stderr.strip().splitlines()[-1])


def test_answer_has_todays_figures_legal_basis_and_related_questions(cli):
    text, meta = ask(cli, "bhxh tự nguyện đóng tối thiểu bao nhiêu 1 tháng")
    assert meta["outcome"] == "answered" and meta["entry_id"] == "vtn-muc-dong"
    assert "330.000 đồng" in text  # 22% x 1.500.000
    assert "264.000 đồng" in text  # after the 20% support
    assert "Căn cứ:" in text and "41/2024/QH15" in text
    assert "Bạn có thể hỏi tiếp:" in text and "\n1. " in text


def test_message_without_diacritics_abbreviations_and_caps(cli):
    _, meta = ask(cli, "GIA THE BHYT HO GIA DINH 1 NAM BN VAY AD 😅")
    assert meta["candidates"][0] == "hgd-muc-dong"
    assert meta["outcome"] in ("answered", "clarify") and meta["entry_id"] in ("hgd-muc-dong", None)


def test_base_salary_change_changes_every_amount(cli, tmp_path):
    text, _ = ask(cli, "mua bhyt hộ gia đình 1 người bao nhiêu tiền 1 năm", env={"ANSWER_DATE": "2026-03-01"})
    assert "1.263.600 đồng" in text  # 4.5% x 2.340.000 x 12 before 1/7/2026
    text, _ = ask(cli, "mua bhyt hộ gia đình 1 người bao nhiêu tiền 1 năm")
    assert "1.366.200 đồng" in text  # 4.5% x 2.530.000 x 12 from 1/7/2026


def test_new_parameter_value_is_used_from_its_effective_date(cli, tmp_path):
    root = copy_kb(tmp_path)
    params = yaml.safe_load((root / "parameters.yaml").read_text(encoding="utf-8"))
    params["luong_co_so"]["values"].append(
        {"value": 3000000, "from": "2027-07-01", "legal_basis": "Nghị định thử nghiệm", "verified": True})
    (root / "parameters.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    cli("kb", "import", "--dir", str(root))
    before, _ = ask(cli, "mua bhyt hộ gia đình 1 người bao nhiêu tiền 1 năm")
    after, _ = ask(cli, "mua bhyt hộ gia đình 1 người bao nhiêu tiền 1 năm", env={"ANSWER_DATE": "2027-08-01"})
    assert "1.366.200 đồng" in before
    assert "1.620.000 đồng" in after  # 4.5% x 3.000.000 x 12


def test_unverified_value_is_never_stated_as_fact(cli):
    text, meta = ask(cli, "mức đóng bhxh tự nguyện thấp nhất là bao nhiêu", env={"ANSWER_DATE": "2027-02-01"})
    assert meta["entry_id"] == "vtn-muc-dong"
    assert "(*)" in text
    assert "chưa được xác nhận chính thức" in text


def test_voluntary_insurance_calculator_shows_the_working(cli):
    text, meta = ask(cli, "thu nhập 5 triệu thì mỗi tháng đóng bhxh tự nguyện bao nhiêu, nhà em hộ cận nghèo")
    assert meta["outcome"] == "answered"
    assert "22% × 5.000.000 đồng = 1.100.000 đồng/tháng" in text
    assert "132.000 đồng" in text  # 40% x 330.000
    assert "968.000 đồng/tháng" in text
    assert "12 tháng: 11.616.000 đồng" in text


def test_household_calculator_for_four_members(cli):
    text, meta = ask(cli, "nhà em 4 người mua bhyt hộ gia đình hết bao nhiêu")
    assert meta["outcome"] == "answered"
    for amount in ("1.366.200", "956.340", "819.720", "683.100", "3.825.360"):
        assert amount + " đồng" in text


def test_lump_sum_estimate_and_comparison_with_pension(cli):
    text, meta = ask(cli, "đóng bhxh 10 năm lương bình quân 6 triệu rút 1 lần được bao nhiêu")
    assert meta["entry_id"] == "bhxh1l-muc-huong"
    assert "120.000.000 đồng" in text  # 2 x 10 x 6.000.000
    # 15 years cannot all be from 2014 (12 years 11 months at most on 23/11/2026): the years before 2014 are given
    text, meta = ask(cli, "nên rút bhxh 1 lần hay chờ lương hưu, em nữ đóng 15 năm, 3 năm trước 2014, lương 6tr")
    assert meta["entry_id"] == "bhxh1l-so-sanh"
    assert "171.000.000 đồng" in text  # (3 x 1,5 + 12 x 2) x 6.000.000 (Art. 70(2))
    assert "2.700.000 đồng/tháng" in text  # 45% x 6.000.000 (Art. 99)


def test_follow_up_is_understood_from_the_previous_turn(cli):
    _, first = ask(cli, "hộ nghèo đóng bhxh tự nguyện được nhà nước hỗ trợ bao nhiêu", "--conversation", "c1")
    assert first["entry_id"] == "vtn-ho-tro"
    text, second = ask(cli, "còn hộ cận nghèo thì sao?", "--conversation", "c1")
    assert second["outcome"] == "answered" and second["entry_id"] == "vtn-ho-tro"
    # a new question on the same subject takes only the subject from earlier turns
    _, third = ask(cli, "thế đóng 6 tháng một lần được không", "--conversation", "c1")
    assert third["outcome"] == "answered" and third["entry_id"] == "vtn-phuong-thuc"
    _, fourth = ask(cli, "vậy đăng ký ở đâu", "--conversation", "c1")
    assert fourth["outcome"] == "answered" and fourth["entry_id"] == "vtn-dang-ky"


def test_follow_up_recomputes_with_the_earlier_numbers(cli):
    text, _ = ask(cli, "thu nhập 5 triệu thì mỗi tháng đóng bhxh tự nguyện bao nhiêu", "--conversation", "c3")
    assert "1.034.000 đồng/tháng" in text  # 1.100.000 - 66.000 (others, 20%)
    text, meta = ask(cli, "còn hộ cận nghèo thì sao?", "--conversation", "c3")
    assert meta["entry_id"] in ("vtn-tinh-tien", "vtn-muc-dong", "vtn-ho-tro")
    assert "968.000 đồng/tháng" in text  # 1.100.000 - 132.000 (near-poor, 40%)
    ask(cli, "nhà em 3 người mua bhyt hộ gia đình hết bao nhiêu", "--conversation", "c3")
    text, _ = ask(cli, "còn 5 người thì sao", "--conversation", "c3")
    assert "Tổng cộng: 4.371.840 đồng/năm" in text


def test_a_number_picks_one_of_the_offered_choices(cli):
    text, first = ask(cli, "bhxh tự nguyện đóng tối thiểu bao nhiêu 1 tháng", "--conversation", "c2")
    chosen_title = text.split("\n1. ", 1)[1].splitlines()[0]
    text, second = ask(cli, "1", "--conversation", "c2")
    assert second["outcome"] == "answered"
    assert second["entry_id"] != first["entry_id"]
    assert chosen_title


def _offered(text: str, prompt: str = "Bạn có thể hỏi tiếp:") -> list[str]:
    """The titles listed after the reply's `prompt` (an answer's "Bạn có thể hỏi tiếp:")."""
    tail = text.split(prompt, 1)[1]
    return [line.split(". ", 1)[1] for line in tail.strip().splitlines() if line[:1].isdigit()]


def _entry(entry_id: str) -> dict:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "knowledge_base" / "entries" / f"{entry_id}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_an_answer_offers_the_closest_other_entry_first(cli):
    """An answer given to one sibling keeps the next-best entry one tap away: it is the first choice when it scored
    0.40 or more (here the pupils' entries for a 15-year-old's card, which the household entry's curated related
    questions do not list); under that, the curated related questions are offered as written."""
    text, meta = ask(cli, "muốn mua bhyt cho con 15 tuổi thì ra đâu mua")
    assert (meta["outcome"], meta["entry_id"]) == ("answered", "hgd-mua-o-dau")
    runner = meta["details"][1]
    assert runner["score"] >= 0.40 and runner["label"].startswith("hssv-")
    assert runner["label"] not in _entry("hgd-mua-o-dau")["related"]
    offered = _offered(text)
    assert offered[0] == _entry(runner["label"])["title"] and len(offered) == 3
    text, meta = ask(cli, "vssid là gì")
    assert meta["entry_id"] == "chung-vssid" and all(d["score"] < 0.40 for d in meta["details"][1:])
    assert _offered(text) == [_entry(e)["title"] for e in _entry("chung-vssid")["related"]]


def test_an_escalation_for_want_of_certainty_suggests_the_nearest_entries(cli):
    """A question no entry answers surely enough goes to staff, and while the citizen waits the best entries that
    scored 0.40 or more are suggested, picked by their number; a message nearer something the bot never answers
    gets none."""
    text, meta = ask(cli, "co nen chot so lay tien ko hay doi 60 tuoi lanh luong", "--conversation", "wait")
    assert meta["outcome"] == "escalated" and "chuyển cho cán bộ" in text
    near = [d for d in meta["details"] if not d["label"].startswith("@") and d["score"] >= 0.40]
    assert near[0]["label"] == "bhxh1l-so-sanh" and 0.40 <= near[0]["score"] < 0.52
    assert _offered(text, "Trong lúc chờ cán bộ") == [_entry(d["label"])["title"] for d in near[:3]]
    _, meta = ask(cli, "1", "--conversation", "wait")
    assert (meta["outcome"], meta["entry_id"]) == ("answered", "bhxh1l-so-sanh")
    # an out-of-scope group is nearest (a tax settlement), although an entry scores over 0.40: nothing is suggested
    text, meta = ask(cli, "Dạ quyết toán thuế thu nhập cá nhân thì nộp ở đâu ạ?")
    assert meta["outcome"] == "escalated" and meta["details"][0]["label"].startswith("@oos-")
    assert meta["details"][1]["score"] >= 0.40 and "Trong lúc chờ cán bộ" not in text and "\n1. " not in text


def test_smalltalk_handoff_and_escalation(cli):
    _, meta = ask(cli, "chào ad ạ")
    assert meta["outcome"] == "smalltalk"
    _, meta = ask(cli, "🙏🙏")
    assert meta["outcome"] == "smalltalk"
    text, meta = ask(cli, "cho tôi nói chuyện với nhân viên")
    assert meta["outcome"] == "handoff" and "cán bộ" in text
    text, meta = ask(cli, "bảo hiểm thất nghiệp được hưởng mấy tháng")
    assert meta["outcome"] == "escalated" and "chuyển cho cán bộ" in text
    _, meta = ask(cli, "giá xăng hôm nay bao nhiêu")
    assert meta["outcome"] == "escalated"
