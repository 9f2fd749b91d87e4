"""Every answer on three dates: no typed figures, and a "Căn cứ" line naming exactly the documents of the
parameter values in force that day; `kb validate` refusing hand-typed bases and other forms of address,
and warning about unfilled office contacts; unfilled office fields left out of answers and fixed replies."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from app.engine import Engine
from app.knowledge import Office, address_forms, format_reply, load_directory
from tests.conftest import ROOT
from tests.test_knowledge_base import copy_kb, edit_entry

KB_DIR = ROOT / "knowledge_base"
DATES = [dt.date(2026, 6, 15), dt.date(2026, 11, 30), dt.date(2027, 1, 15)]
# the documents of lương cơ sở (mức tham chiếu) in force on each date
BASE_SALARY_DOC = {DATES[0]: "73/2024/NĐ-CP", DATES[1]: "161/2026/NĐ-CP", DATES[2]: "161/2026/NĐ-CP"}
# template names that read lương cơ sở
USES_BASE_SALARY = re.compile(r"luong_co_so|bhyt_member|bhyt_household|hssv_year|bhyt_low_cost|vtn_max_income")
DOC_NUMBER = re.compile(r"\b\d+/\d{4}/[A-ZĐ][A-ZĐa-z0-9\-]*")


@pytest.fixture(scope="module")
def kb():
    kb, errors = load_directory(KB_DIR)
    assert errors == []
    return kb


def basis_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.startswith("Căn cứ:")]
    assert len(lines) <= 1, message
    return lines[0] if lines else ""


def value_documents(day: dt.date) -> tuple[set[str], set[str]]:
    """(documents of national parameter values in force on `day`, documents only of values not in force),
    read straight from parameters.yaml."""
    data = yaml.safe_load((KB_DIR / "parameters.yaml").read_text(encoding="utf-8"))
    in_force, other = set(), set()
    for key, spec in data.items():
        if key == "provinces":
            continue
        values = sorted(spec["values"], key=lambda v: v["from"])
        current = [v for v in values if v["from"] <= day][-1:]
        for value in values:
            docs = set(DOC_NUMBER.findall(value["legal_basis"]))
            (in_force if value in current else other).update(docs)
    return in_force, other - in_force


def typed_figures(template: str) -> list[str]:
    """Amounts and rates written into an answer's text instead of coming from a placeholder (a quoted
    example of what the citizen may type, "đóng 8 năm, lương 6 triệu", is not a figure)."""
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\"[^\"\n]*\"", " ", template, flags=re.S)
    return re.findall(r"\d{1,3}(?:[.,]\d{3})+|\d+(?:[.,]\d+)?\s*(?:triệu|nghìn|ngàn|đồng|%)", text)


@pytest.mark.parametrize("day", DATES, ids=str)
def test_every_entry_has_no_typed_figure_and_cites_only_the_value_documents_in_force(kb, day):
    renderer = kb.renderer(day)
    in_force, not_in_force = value_documents(day)
    assert BASE_SALARY_DOC[day] in in_force
    cited_base_salary = 0
    for entry in kb.entries.values():
        assert typed_figures(entry.answer) == [], entry.id
        message = renderer.entry_message(entry)
        line = basis_line(message)
        stale = [doc for doc in not_in_force if doc in line]
        assert stale == [], f"{entry.id} on {day}: {line}"
        if USES_BASE_SALARY.search(entry.answer):
            # exactly the base-salary decree of the day, never the other one
            assert BASE_SALARY_DOC[day] in line, f"{entry.id} on {day}: {line}"
            other = {"73/2024/NĐ-CP", "161/2026/NĐ-CP"} - {BASE_SALARY_DOC[day]}
            assert not any(doc in line for doc in other), f"{entry.id} on {day}: {line}"
            cited_base_salary += 1
        else:
            assert not any(doc in line for doc in ("73/2024/NĐ-CP", "161/2026/NĐ-CP")), f"{entry.id}: {line}"
        assert not address_forms(message), f"{entry.id}: {address_forms(message)}"
        assert "(*)" not in message or "tổng đài BHXH Việt Nam" in message
    assert cited_base_salary >= 10


def test_poverty_line_document_follows_the_date(kb):
    entry = kb.entries["vtn-muc-dong"]
    in_2026 = basis_line(kb.renderer(DATES[1]).entry_message(entry))
    in_2027 = basis_line(kb.renderer(DATES[2]).entry_message(entry))
    assert "07/2021/NĐ-CP" in in_2026 and "2026–2030" not in in_2026
    assert "2026–2030" in in_2027 and "07/2021/NĐ-CP" not in in_2027


def test_calculator_answer_cites_the_value_documents_of_its_day(kb):
    engine = Engine(kb)
    question = "nhà tôi 3 người mua bhyt hộ gia đình thì hết bao nhiêu tiền"
    june = engine.answer(question, day=DATES[0])
    november = engine.answer(question, day=DATES[1])
    assert june.entry_id == november.entry_id and june.entry_id in ("hgd-giam-tru", "hgd-muc-dong")
    assert "Người thứ 3" in june.body and "Người thứ 3" in november.body  # the calculator answered
    assert "2.340.000 đồng" in june.body and "2.530.000 đồng" in november.body
    assert "73/2024/NĐ-CP" in basis_line(june.body) and "161/2026/NĐ-CP" not in basis_line(june.body)
    assert "161/2026/NĐ-CP" in basis_line(november.body) and "73/2024/NĐ-CP" not in basis_line(november.body)
    assert "188/2025/NĐ-CP, Điều 6" in basis_line(november.body)


def test_unfilled_office_fields_are_left_out_of_answers_and_fixed_replies(kb):
    entry = kb.entries["chung-lien-he"]
    partial = Office(name="BHXH tỉnh Mẫu", address="số 1 đường Mẫu", hours="")
    text = kb.renderer(DATES[1], office=partial).entry_message(entry)
    assert "BHXH tỉnh Mẫu" in text and "số 1 đường Mẫu" in text
    assert "Giờ làm việc" not in text and "Điện thoại" not in text and "()" not in text
    assert "tổng đài BHXH Việt Nam 1900 9068" in text.replace("Tổng đài", "tổng đài")
    assert "Căn cứ" not in text  # no made-up basis for contact details
    empty = kb.renderer(DATES[1], office=Office()).entry_message(entry)
    assert "Địa chỉ:" not in empty and "trụ sở" not in empty and "1900 9068" in empty
    for entry_id in ("bhxh1l-thu-tuc", "vtn-dang-ky", "chung-the-bhyt", "vtn-tu-tuat", "hgd-mua-o-dau"):
        message = kb.renderer(DATES[1], office=Office()).entry_message(kb.entries[entry_id])
        assert "()" not in message and ", ," not in message and "trụ sở" not in message, entry_id
    handoff = kb.intents["handoff"]["reply"]
    assert format_reply(handoff, Office()).count("(") == 0
    no_hours = format_reply(handoff, Office(name="BHXH tỉnh Mẫu"))
    assert "giờ làm việc" not in no_hours and "cán bộ BHXH tỉnh Mẫu" in no_hours
    assert "tổng đài BHXH Việt Nam 1900 9068" in no_hours
    with_hours = format_reply(handoff, Office(name="BHXH tỉnh Mẫu", hours="7h30–17h00"))
    assert "trong giờ làm việc (7h30–17h00)" in with_hours


def test_handoff_reply_with_the_shipped_office_has_no_empty_hours(kb):
    reply = Engine(kb).answer("cho tôi gặp nhân viên tư vấn", day=DATES[1])
    assert reply.outcome == "handoff"
    assert "()" not in reply.body and "tổng đài BHXH Việt Nam 1900 9068" in reply.body


@pytest.mark.parametrize("text, caught", [
    ("Anh/chị vui lòng mang sổ BHXH.", True),
    ("Mời quý khách liên hệ tổng đài.", True),
    ("Ông/bà có thể hỏi cơ quan BHXH.", True),
    ("Anh chị vui lòng chờ trong giây lát.", True),
    ("Anh, chị nên kiểm tra trên VssID.", True),
    ("Thân nhân gồm cha mẹ, vợ chồng, con, anh chị em ruột của người mất.", False),
    ("Ông bà nội, ông bà ngoại không có người nuôi dưỡng được xét trợ cấp.", False),
    ("Bạn có thể hỏi tổng đài; tôi sẽ chuyển cho cán bộ.", False),
])
def test_address_forms_catch_addressing_the_citizen_not_family_words(text, caught):
    assert bool(address_forms(text)) is caught


def test_validate_refuses_typed_value_basis_and_other_address_forms(cli, tmp_path):
    root = copy_kb(tmp_path)
    edit_entry(root, "hgd-giam-tru", legal_basis=["Luật BHYT (sửa đổi bởi Luật 51/2024/QH15)",
                                                  "Nghị định 161/2026/NĐ-CP (mức tham chiếu)"])
    edit_entry(root, "vtn-ho-tro", legal_basis=["Nghị định 159/2025/NĐ-CP, Điều 5"])
    edit_entry(root, "hgd-muc-huong", answer="Anh/chị vui lòng hỏi tổng đài {{ office.hotline }}.")
    edit_entry(root, "hssv-thoi-han", answer="Quý khách xem hạn thẻ trên VssID.")
    edit_entry(root, "vtn-dang-ky", answer="Địa chỉ: {{ office.address }} ({{ office.hours }}).")
    intents = yaml.safe_load((root / "intents.yaml").read_text(encoding="utf-8"))
    intents["escalate_reply"] = "Anh/chị chờ cán bộ {office_name} nhé, hoặc gọi {hotline}."
    (root / "intents.yaml").write_text(yaml.safe_dump(intents, allow_unicode=True), encoding="utf-8")
    result = cli("kb", "validate", "--dir", str(root), check=False)
    assert result.returncode == 1
    err = result.stderr
    assert ("hgd-giam-tru.yaml: field 'legal_basis': 'Nghị định 161/2026/NĐ-CP (mức tham chiếu)' is the basis of "
            "a dated value of parameter 'luong_co_so'") in err
    assert "'Luật BHYT (sửa đổi bởi Luật 51/2024/QH15)' is the basis" not in err  # a law's rule is allowed
    assert "vtn-ho-tro.yaml: field 'legal_basis': 'Nghị định 159/2025/NĐ-CP, Điều 5' is the basis" in err
    assert "hgd-muc-huong.yaml: field 'answer': addresses the citizen as 'Anh/chị'" in err
    assert "hgd-muc-huong.yaml: field 'answer': {{ office.hotline }} must be named as the national hotline" in err
    assert "hssv-thoi-han.yaml: field 'answer': addresses the citizen as 'Quý khách'" in err
    assert "vtn-dang-ky.yaml: field 'answer': an unfilled office field leaves" in err
    assert "intents.yaml: escalate_reply: addresses the citizen as 'Anh/chị'" in err
    assert "intents.yaml: escalate_reply: {hotline} must be named as the national hotline" in err
    # a rule article of the same decree is not a typed value basis (vtn-tuoi-nghi-huu cites NĐ 159, Điều 13)
    assert "vtn-tuoi-nghi-huu.yaml" not in err


def test_validate_warns_about_unfilled_office_contacts_without_failing(cli, tmp_path):
    result = cli("kb", "validate")
    assert result.stdout.startswith("ok:")
    assert ("warning: office.yaml: office contact fields not filled in (left out of answers): "
            "name, address, phone, hours, website, email") in result.stderr
    root = copy_kb(tmp_path)
    office = yaml.safe_load((root / "office.yaml").read_text(encoding="utf-8"))
    office.update(name="BHXH tỉnh Mẫu", address="số 1 đường Mẫu", hours="7h30–17h00", website="https://mau.example",
                  email="mau@example.vn")
    (root / "office.yaml").write_text(yaml.safe_dump(office, allow_unicode=True), encoding="utf-8")
    result = cli("kb", "validate", "--dir", str(root))
    assert result.stdout.startswith("ok:")
    assert "office contact fields not filled in (left out of answers): phone\n" in result.stderr


def test_no_entry_names_a_made_up_basis_or_unverified_form_code():
    for path in sorted(Path(KB_DIR / "entries").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert "TK1-TS" not in data["answer"], path.name
        assert not any("do BHXH tỉnh công bố" in b for b in data["legal_basis"]), path.name


def test_service_start_logs_the_unfilled_office_contacts_per_province(tmp_path, caplog):
    from app.service import Runtime
    from app.settings import Settings

    provinces = tmp_path / "provinces.yaml"
    provinces.write_text(yaml.safe_dump({"provinces": [
        {"code": "mau", "name": "Tỉnh Mẫu", "office": {"address": "số 1 đường Mẫu", "phone": "0200 000 000",
                                                        "hours": "7h30–17h00", "website": "https://mau.example",
                                                        "email": "mau@example.vn"}},
        {"code": "thu", "name": "Tỉnh Thử", "office": {"hours": "7h30–17h00"}},
    ]}, allow_unicode=True), encoding="utf-8")
    caplog.set_level("WARNING", logger="app.service")
    single = Settings(database_url=f"sqlite:///{tmp_path / 'one.db'}", semantic_model="off", provinces_file=None,
                      province={})
    Runtime.start(single, load_model=False)
    assert ("office.yaml: office contact fields not filled in (left out of answers): "
            "name, address, phone, hours, website, email") in caplog.text
    caplog.clear()
    several = Settings(database_url=f"sqlite:///{tmp_path / 'two.db'}", semantic_model="off",
                       provinces_file=str(provinces), province={})
    Runtime.start(several, load_model=False)
    assert "province thu: office contact fields not filled in (left out of answers): address, phone, website, " \
           "email" in caplog.text
    assert "province mau" not in caplog.text  # its name comes from the province, every contact is filled in
