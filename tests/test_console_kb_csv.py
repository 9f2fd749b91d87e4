"""Knowledge-base CSV export and import in a real headless Chromium: a bad file changes nothing
and names each wrong row; a dry run changes nothing; a good file updates the answers
`bhxh-bot ask` gives, with a version and an audit record; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.console_support import ADMIN, STAFF, ConsoleClient, browser_login, console_server

pytestmark = pytest.mark.e2e

QUESTION = "bảo hiểm xã hội tự nguyện là gì, ai được tham gia"
MARKER = "Câu trả lời cập nhật từ bảng tính."


@pytest.fixture
def app(database_url, tmp_path, cli):
    with console_server(database_url, tmp_path, cli) as server:
        yield server


def to_csv(rows: list[dict], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_export_then_import_a_bad_and_a_good_csv(app, browser, cli, tmp_path):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN", accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        browser_login(page, app.url)
        page.goto(app.url + "/console/kb")
        page.click("text=Nhập, xuất CSV")
        with page.expect_download() as download:
            page.click("#export")
        exported = download.value.path().read_bytes()
        reader = csv.DictReader(io.StringIO(exported.decode("utf-8-sig")))
        rows, fields = list(reader), reader.fieldnames
        assert len(rows) >= 40 and fields[:3] == ["id", "topic", "title"]
        by_id = {r["id"]: r for r in rows}
        assert "\n" in by_id["vtn-khai-niem"]["questions"]  # one question per line inside the cell

        # a bad file: wrong date, unknown related entry, a typed amount; the good row in it is not applied either
        bad = [dict(r) for r in rows]
        for r in bad:
            if r["id"] == "vtn-khai-niem":
                r["answer"] += "\n" + MARKER
            if r["id"] == "vtn-muc-dong":
                r["effective_from"] = "01/07/2025"
            if r["id"] == "hgd-muc-dong":
                r["related"] += "\nkhong-co-muc-nay"
                r["answer"] += "\nMức đóng 1.366.200 đồng."
        line = {r["id"]: n for n, r in enumerate(bad, start=2)}
        bad_file = tmp_path / "bad.csv"
        bad_file.write_bytes(to_csv(bad, fields))
        page.set_input_files("input[name=file]", str(bad_file))
        page.uncheck("input[name=dry_run]")
        page.click("#import-form button")
        report = page.locator("#report")
        expect(report).to_contain_text("lỗi — không có gì thay đổi")
        expect(report).to_contain_text(f"Dòng {line['vtn-muc-dong']} (vtn-muc-dong), Hiệu lực từ ngày: Ngày không hợp lệ")
        hgd = f"Dòng {line['hgd-muc-dong']} (hgd-muc-dong)"
        expect(report).to_contain_text(f"{hgd}, Mục liên quan: Không có mục 'khong-co-muc-nay'")
        expect(report).to_contain_text(f"{hgd}, Câu trả lời: Không gõ số tiền")
        assert MARKER not in cli("ask", QUESTION).stdout

        good = [dict(r) for r in rows]
        for r in good:
            if r["id"] == "vtn-khai-niem":
                r["answer"] += "\n" + MARKER
        good_file = tmp_path / "good.csv"
        good_file.write_bytes(to_csv(good, fields))
        page.set_input_files("input[name=file]", str(good_file))
        page.check("input[name=dry_run]")
        page.click("#import-form button")
        expect(page.locator("#report")).to_contain_text("Chạy thử: 0 mục mới, 1 mục sẽ cập nhật")
        expect(page.locator(".changed-row")).to_contain_text("vtn-khai-niem: Câu trả lời")
        assert MARKER not in cli("ask", QUESTION).stdout  # a dry run changes nothing

        page.set_input_files("input[name=file]", str(good_file))
        page.uncheck("input[name=dry_run]")
        page.click("#import-form button")
        expect(page.locator("#report")).to_contain_text("Đã nhập: 0 mục mới, 1 mục cập nhật")
        assert MARKER in cli("ask", QUESTION).stdout
        page.goto(app.url + "/console/kb/vtn-khai-niem/history")
        expect(page.locator(".version[data-number='2']")).to_contain_text("Nhập từ tệp CSV")
    finally:
        context.close()

    admin = ConsoleClient(app.url)
    admin.login(*ADMIN)
    record = next(r for r in admin.get("/console/api/audit").json() if r["action"] == "kb.import_csv")
    assert record["changes"]["changed"] == {"vtn-khai-niem": ["Câu trả lời"]}
    staff = ConsoleClient(app.url)
    staff.login(*STAFF)
    assert staff.get("/console/kb/export.csv").status_code == 403
    assert staff.get("/console/kb/import").status_code == 403


def test_a_file_that_is_not_the_format_changes_nothing(app):
    admin = ConsoleClient(app.url)
    admin.login(*ADMIN)
    token = admin.csrf("/console/kb/import")
    for content, message in ((b"ten,tuoi\nan,3\n", "Thiếu cột: id"), ("xin chào".encode("utf-16"), "không phải UTF-8")):
        r = admin.http.post("/console/kb/import", data={"csrf_token": token},
                            files={"file": ("kb.csv", content, "text/csv")})
        assert r.status_code == 400 and message in r.text
    missing = admin.http.post("/console/kb/import", data={"csrf_token": token})
    assert missing.status_code == 400 and "Hãy chọn một tệp CSV." in missing.text
    assert admin.http.post("/console/kb/import", files={"file": ("kb.csv", b"id\n", "text/csv")}).status_code == 403
    assert not any(r["action"] == "kb.import_csv" for r in admin.get("/console/api/audit").json())
