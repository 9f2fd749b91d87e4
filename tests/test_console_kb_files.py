"""The whole knowledge base as a zip of the knowledge_base/ files, over HTTP on the running service:
export, a bad file and an unsafe file change nothing and say why, a dry run changes nothing, a good
file changes the answers `bhxh-bot ask` gives; on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import io
import zipfile

import pytest
import yaml

from app.knowledge import dump_yaml
from tests.console_support import ADMIN, STAFF, ConsoleClient, console_server

pytestmark = pytest.mark.e2e

QUESTION = "bảo hiểm xã hội tự nguyện là gì, ai được tham gia"
MARKER = "Nội dung cập nhật từ tệp kho kiến thức."


@pytest.fixture
def app(database_url, tmp_path, cli):
    with console_server(database_url, tmp_path, cli) as server:
        yield server


def rezip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def upload(admin: ConsoleClient, data: bytes, dry_run: bool):
    fields = {"csrf_token": admin.csrf("/console/kb/import")} | ({"dry_run": "1"} if dry_run else {})
    r = admin.http.post("/console/kb/import-files", data=fields, files={"file": ("kb.zip", data, "application/zip")})
    return r.status_code, html.unescape(r.text)


def test_export_and_import_the_knowledge_base_files(app, cli):
    admin = ConsoleClient(app.url)
    assert admin.login(*ADMIN).status_code == 303
    r = admin.get("/console/kb/export.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    entry = "knowledge_base/entries/vtn-khai-niem.yaml"
    assert entry in files and "knowledge_base/parameters.yaml" in files and len(files) >= 45

    original = yaml.safe_load(files[entry])

    def with_answer(answer: str) -> dict[str, bytes]:
        return dict(files) | {entry: dump_yaml(dict(original, answer=answer)).encode("utf-8")}

    bad = with_answer(original["answer"] + "\nMức đóng 330.000 đồng.")
    status, page = upload(admin, rezip(bad), dry_run=False)
    assert status == 400 and "không có gì thay đổi" in page
    assert "entries/vtn-khai-niem.yaml, Câu trả lời: Không gõ số tiền trực tiếp" in page
    unsafe = dict(files) | {"../evil.yaml": b"x: 1"}
    status, page = upload(admin, rezip(unsafe), dry_run=False)
    assert status == 400 and "Đường dẫn không hợp lệ trong tệp nén: ../evil.yaml" in page
    status, page = upload(admin, b"not a zip", dry_run=True)
    assert status == 400 and "không phải tệp nén .zip" in page
    assert MARKER not in cli("ask", QUESTION).stdout

    good = with_answer(original["answer"] + "\n" + MARKER)
    status, page = upload(admin, rezip(good), dry_run=True)
    assert status == 200 and "Chạy thử" in page and "1 mục thay đổi" in page and "Thay đổi: vtn-khai-niem" in page
    assert MARKER not in cli("ask", QUESTION).stdout  # a dry run changes nothing
    status, page = upload(admin, rezip(good), dry_run=False)
    assert status == 200 and "Đã nhập" in page, page
    assert MARKER in cli("ask", QUESTION).stdout
    history = admin.get("/console/kb/vtn-khai-niem/history").text
    assert "Nhập từ tệp kho kiến thức" in history
    assert any(r["action"] == "kb.import_files" for r in admin.get("/console/api/audit").json())

    staff = ConsoleClient(app.url)
    staff.login(*STAFF)
    assert staff.get("/console/kb/export.zip").status_code == 403
    assert staff.http.post("/console/kb/import-files", data={"csrf_token": staff.csrf()},
                           files={"file": ("kb.zip", rezip(good), "application/zip")}).status_code == 403
