"""`bhxh-bot kb validate|import|export|render` on the shipped knowledge base and on broken copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

KB = ROOT / "knowledge_base"
TOPIC_IDS = [line.split("\t")[0] for line in (KB / "topics.tsv").read_text(encoding="utf-8").splitlines()[1:]]


def copy_kb(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KB, target)
    return target


def edit_entry(root: Path, entry_id: str, **changes) -> None:
    path = root / "entries" / f"{entry_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.one_database
def test_shipped_knowledge_base_is_valid_and_covers_every_topic(cli):
    result = cli("kb", "validate")
    assert result.stdout.startswith("ok:")
    for topic_id in TOPIC_IDS:
        assert (KB / "entries" / f"{topic_id}.yaml").exists(), topic_id


@pytest.mark.one_database
def test_every_entry_has_enough_questions_and_renders_within_one_message(cli):
    for topic_id in ["vtn-muc-dong", "hgd-muc-dong", "bhxh1l-rui-ro"]:
        text = cli("kb", "render", topic_id).stdout
        assert "Căn cứ:" in text
        assert len(text.strip()) <= 2000


@pytest.mark.one_database
def test_validate_names_file_and_field_for_each_problem(cli, tmp_path):
    root = copy_kb(tmp_path)
    edit_entry(root, "vtn-muc-dong", questions=["chỉ một câu"])
    edit_entry(root, "hgd-muc-dong", answer="Mức đóng {{ vnd(p.khong_co_tham_so) }}")
    edit_entry(root, "hssv-muc-dong", answer="Dài " * 1200)
    dup = yaml.safe_load((root / "entries" / "vtn-ho-tro.yaml").read_text(encoding="utf-8"))["questions"][0]
    other = yaml.safe_load((root / "entries" / "vtn-dang-ky.yaml").read_text(encoding="utf-8"))
    edit_entry(root, "vtn-dang-ky", questions=[*other["questions"], dup])
    (root / "entries" / "chung-vssid.yaml").unlink()
    edit_entry(root, "chung-tra-cuu", id="chung-tra-cuu-2")
    intents = root / "intents.yaml"
    intents.write_text(intents.read_text(encoding="utf-8").replace("entries: [chung-lien-he]", "entries: [lien-he]")
                       .replace("over: [vtn-ho-tro]", "over: [vtn-ho-tro-2]"), encoding="utf-8")
    result = cli("kb", "validate", "--dir", str(root), check=False)
    assert result.returncode == 1
    err = result.stderr
    assert "entries/vtn-muc-dong.yaml: field 'questions' has 1, at least 8 needed" in err
    assert "entries/hgd-muc-dong.yaml: field 'answer': a placeholder does not resolve" in err
    assert "khong_co_tham_so" in err
    assert "entries/hssv-muc-dong.yaml: field 'answer': the rendered message is" in err
    assert "vtn-ho-tro.yaml: field 'questions'" in err and "is also a question of entry 'vtn-dang-ky'" in err
    assert "id 'chung-vssid' has no entry" in err
    assert "chung-tra-cuu.yaml: field 'id' is 'chung-tra-cuu-2' but the file name says 'chung-tra-cuu'" in err
    assert "intents.yaml: other_office.entries names unknown entry 'lien-he'" in err
    assert "intents.yaml: sibling_cues names unknown entry 'vtn-ho-tro-2'" in err


@pytest.mark.one_database
def test_validate_rejects_typed_amounts_and_bad_parameters(cli, tmp_path):
    root = copy_kb(tmp_path)
    edit_entry(root, "hgd-muc-dong", answer="Người thứ nhất đóng 1.366.200 đồng một năm.")
    params = yaml.safe_load((root / "parameters.yaml").read_text(encoding="utf-8"))
    params["luong_co_so"]["values"].append({"value": "nhiều", "from": "2027-07-01", "legal_basis": "x",
                                            "verified": True})
    del params["bhyt_ty_le"]["values"][0]["legal_basis"]
    (root / "parameters.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    result = cli("kb", "validate", "--dir", str(root), check=False)
    assert result.returncode == 1
    assert "hgd-muc-dong.yaml: field 'answer': an amount is typed" in result.stderr
    assert "luong_co_so.values[4].value: missing or not a number" in result.stderr
    assert "bhyt_ty_le.values[0].legal_basis: missing" in result.stderr


def test_import_export_round_trip_keeps_every_entry_and_parameter(cli, tmp_path):
    assert "imported" in cli("kb", "import").stdout
    out = tmp_path / "exported"
    shutil.copy(KB / "topics.tsv", tmp_path / "topics.tsv")
    assert "exported" in cli("kb", "export", "--out", str(out)).stdout
    exported = {p.stem for p in (out / "entries").glob("*.yaml")}
    shipped = {p.stem for p in (KB / "entries").glob("*.yaml")}
    assert exported == shipped
    for entry_id in ["vtn-muc-dong", "bhxh1l-so-sanh"]:
        a = yaml.safe_load((KB / "entries" / f"{entry_id}.yaml").read_text(encoding="utf-8"))
        b = yaml.safe_load((out / "entries" / f"{entry_id}.yaml").read_text(encoding="utf-8"))
        assert a["answer"].strip() == b["answer"].strip()
        assert a["questions"] == b["questions"]
    params_in = yaml.safe_load((KB / "parameters.yaml").read_text(encoding="utf-8"))
    params_out = yaml.safe_load((out / "parameters.yaml").read_text(encoding="utf-8"))
    assert params_in.keys() == params_out.keys()
    assert [v["value"] for v in params_out["luong_co_so"]["values"]] == [1490000, 1800000, 2340000, 2530000]
    for name in ("synonyms.yaml", "intents.yaml", "office.yaml", "topics.tsv"):
        shutil.copy(KB / name, out / name)
    assert cli("kb", "validate", "--dir", str(out)).stdout.startswith("ok:")


def test_export_refuses_an_empty_database(cli, tmp_path):
    result = cli("kb", "export", "--out", str(tmp_path / "x"), check=False)
    assert result.returncode == 1
    assert "holds no knowledge base" in result.stderr


def test_import_of_a_broken_directory_changes_nothing(cli, tmp_path):
    cli("kb", "import")
    root = copy_kb(tmp_path)
    edit_entry(root, "hgd-muc-dong", answer="{{ vnd(p.khong_co) }}")
    result = cli("kb", "import", "--dir", str(root), check=False)
    assert result.returncode == 1
    assert "nothing imported" in result.stderr
    text = cli("ask", "mua bhyt hộ gia đình 1 người bao nhiêu tiền 1 năm").stdout
    assert "1.366.200 đồng" in text


def _answer_with(root: Path, entry_id: str, marker: str) -> None:
    data = yaml.safe_load((root / "entries" / f"{entry_id}.yaml").read_text(encoding="utf-8"))
    edit_entry(root, entry_id, answer=data["answer"].rstrip() + f"\n{marker}")


def test_changed_files_are_followed_until_the_database_is_edited(cli, tmp_path):
    from sqlmodel import Session, select

    from app import database, models

    root = copy_kb(tmp_path)
    env = {"KNOWLEDGE_BASE_DIR": str(root)}
    question = "mua thẻ bhyt hộ gia đình ở đâu"
    assert "Bản sửa số một." not in cli("ask", question, env=env).stdout
    # a new release of the files, the database untouched since it imported them: the files win
    _answer_with(root, "hgd-mua-o-dau", "Bản sửa số một.")
    assert "Bản sửa số một." in cli("ask", question, env=env).stdout
    # an edit made in the database (as the staff console will) is never overwritten by the files
    db = database.make_engine(cli.database_url)
    with Session(db) as session:
        row = session.exec(select(models.KnowledgeEntry).where(models.KnowledgeEntry.id == "hgd-mua-o-dau")).one()
        row.content = {**row.content, "answer": row.content["answer"] + "\nSửa trong cơ sở dữ liệu."}
        session.add(row)
        session.commit()
    db.dispose()
    _answer_with(root, "hgd-mua-o-dau", "Bản sửa số hai.")
    result = cli("ask", question, env=env)
    assert "Sửa trong cơ sở dữ liệu." in result.stdout and "Bản sửa số hai." not in result.stdout
    assert "keeping the database" in result.stderr
    # until someone imports the files on purpose
    cli("kb", "import", "--dir", str(root))
    assert "Bản sửa số hai." in cli("ask", question, env=env).stdout


@pytest.mark.parametrize("source", [
    "{{ 'ab'*10**6 }}", "{{ 2**100000 }}", "{{ 'x'.ljust(10**9) }}", "{{ 'x'|center(100000000) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% set a = 'x'*9999 %}{{ a }}", "{{ '%0100000000d' % 1 }}", "{{ ('x'*9000) ~ ('x'*9000) ~ ('x'*9000) }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
], ids=["repeat", "power", "ljust", "center", "loops", "set", "percent", "concat", "recursion"])
def test_answer_templates_cannot_take_memory_or_time(source):
    """The editor's live preview renders whatever an admin types: the sandbox refuses what could grow without
    bound, at once, with a RenderError (a clear message in the editor), never a hang or a MemoryError."""
    import datetime as dt

    from app.knowledge import RenderError, load_directory

    kb, _ = load_directory(KB)
    renderer = kb.renderer(dt.date(2026, 11, 30))
    with pytest.raises(RenderError):
        renderer.render_template(source)
    assert renderer.render_template("{{ vnd(bhyt_member(1)) }}, {{ pct(p.bhyt_ty_le) }}, {{ 3.7|int }}") == \
        "1.366.200 đồng, 4,5%, 3"
