"""The knowledge-base editor in a real headless Chromium: live preview, errors next to the field,
drafts the bot does not use, publishing that `bhxh-bot ask` and the running service answer from,
version history with a diff, rollback, and the audit log; on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.console_support import ADMIN, STAFF, ConsoleClient, browser_login, console_server

pytestmark = pytest.mark.e2e

TOKEN = "test-admin-token"
QUESTION = "bảo hiểm xã hội tự nguyện là gì, ai được tham gia"
MARKER = "Thông tin bổ sung từ bảng điều khiển của cán bộ."


@pytest.fixture
def app(database_url, tmp_path, cli):
    with console_server(database_url, tmp_path, cli, ADMIN_API_TOKEN=TOKEN) as server:
        yield server


def service_answer(app) -> str:
    r = httpx.post(app.url + "/api/v1/ask", json={"text": QUESTION}, headers={"Authorization": f"Bearer {TOKEN}"},
                   timeout=60)
    assert r.json()["entry_id"] == "vtn-khai-niem"
    return r.json()["reply"]


def test_edit_preview_publish_and_roll_back_an_entry(app, page, cli):
    browser_login(page, app.url)
    page.click("text=Kho kiến thức")
    page.fill("input[name=q]", "tu nguyen la gi")
    page.click("text=Tìm")
    page.click("a[href='/console/kb/vtn-khai-niem']")
    page.wait_for_url("**/console/kb/vtn-khai-niem")
    answer = page.locator("textarea[name=answer]")
    original = answer.input_value()
    assert "Căn cứ:" in page.locator("#preview").inner_text()

    # live preview as the admin types; a typed amount is flagged next to the field
    answer.fill(original + "\nMức đóng thấp nhất là 330.000 đồng.")
    expect(page.locator(".field-error[data-field=answer]")).to_contain_text("Không gõ số tiền trực tiếp")
    page.click("button[value=publish]")
    expect(page.locator("#error")).to_contain_text("Chưa xuất bản được")
    expect(page.locator(".field-error[data-field=answer]")).to_contain_text("Không gõ số tiền trực tiếp")
    expect(page.locator("textarea[name=answer]")).to_have_value(re.compile("330.000 đồng"))  # the text is kept
    assert MARKER not in cli("ask", QUESTION).stdout

    page.locator("textarea[name=answer]").fill(original + "\n" + MARKER)
    expect(page.locator("#preview")).to_contain_text(MARKER)
    expect(page.locator(".field-error")).to_have_count(0)
    page.click("button[value=save]")
    expect(page.locator(".notice")).to_contain_text("Đã lưu bản nháp")
    assert MARKER not in cli("ask", QUESTION).stdout  # a draft is not answered from
    assert MARKER not in service_answer(app)

    page.click("button[value=publish]")
    expect(page.locator(".notice")).to_contain_text("Đã xuất bản")
    assert MARKER in cli("ask", QUESTION).stdout
    assert MARKER in service_answer(app)  # the running service reloaded

    page.click("text=Lịch sử phiên bản")
    expect(page.locator(".version[data-number='2'] .diff-words ins")).to_contain_text(MARKER)
    expect(page.locator(".version[data-number='2'] h2")).to_contain_text("Đang dùng")
    page.click("text=Khôi phục bản 1")
    expect(page.locator("h1")).to_contain_text("Xác nhận khôi phục bản 1")  # nothing restored in one click
    expect(page.locator(".diff-words del")).to_contain_text(MARKER)
    assert MARKER in cli("ask", QUESTION).stdout
    page.click("button:has-text('Xác nhận khôi phục')")
    expect(page.locator(".notice")).to_contain_text("Đã khôi phục phiên bản cũ")
    expect(page.locator(".version[data-number='3']")).to_contain_text("Khôi phục bản 1")
    assert MARKER not in cli("ask", QUESTION).stdout
    assert MARKER not in service_answer(app)

    admin = ConsoleClient(app.url)
    admin.login(*ADMIN)
    actions = [(r["action"], r["target"]) for r in admin.get("/console/api/audit").json()]
    for action in ("kb.draft", "kb.publish", "kb.rollback"):
        assert (action, "vtn-khai-niem") in actions
    publish = next(r for r in admin.get("/console/api/audit").json() if r["action"] == "kb.publish")
    assert publish["actor"] == ADMIN[0] and publish["changes"] == {"version": 2, "fields": ["answer"]}


def test_editor_is_admin_only_and_refuses_unknown_entries(app):
    staff = ConsoleClient(app.url)
    staff.login(*STAFF)
    assert staff.get("/console/kb").status_code == 403
    assert staff.get("/console/kb/vtn-khai-niem").status_code == 403
    assert staff.http.post("/console/api/kb/vtn-khai-niem/preview", data={"answer": "x"},
                           headers={"X-CSRF-Token": staff.csrf()}).status_code == 403
    admin = ConsoleClient(app.url)
    admin.login(*ADMIN)
    assert admin.get("/console/kb/khong-co-muc-nay").status_code == 404
    preview = admin.http.post("/console/api/kb/vtn-khai-niem/preview",
                              data={"title": "", "answer": "Xin chào {{ khong_co }}", "topic": "BHXH tự nguyện"},
                              headers={"X-CSRF-Token": admin.csrf()}).json()
    assert preview["preview"] == ""
    assert preview["errors"]["answer"] == ["Không có tham số 'khong_co'."]
    assert preview["errors"]["title"] == ["Không được để trống."]
    assert "questions" in preview["errors"]
