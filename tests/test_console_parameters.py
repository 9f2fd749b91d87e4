"""The parameters page in a real headless Chromium: a new value with a future date, the preview
of the answers it changes, bad input refused next to the field with nothing saved, and answers on
that date using it (`bhxh-bot ask --date` and the running service); on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.console_support import ADMIN, STAFF, ConsoleClient, browser_login, console_server

pytestmark = pytest.mark.e2e

TOKEN = "test-admin-token"
QUESTION = "bhyt hộ gia đình đóng bao nhiêu 1 người"


@pytest.fixture
def app(database_url, tmp_path, cli):
    with console_server(database_url, tmp_path, cli, ADMIN_API_TOKEN=TOKEN) as server:
        yield server


def test_add_a_future_value_preview_it_and_answers_use_it_from_that_date(app, browser, cli):
    before = cli("ask", QUESTION, "--date", "2027-08-01").stdout
    assert "1.366.200 đồng" in before and "1.512.000 đồng" not in before

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        browser_login(page, app.url)
        page.click("text=Tham số")
        expect(page.locator("#param-luong_co_so")).to_contain_text("Lương cơ sở")

        # bad input: said next to each field, nothing saved, what was typed is kept
        page.select_option("select[name=key]", "luong_co_so")
        page.fill("input[name=value]", "hai triệu")
        page.fill("input[name=effective_from]", "2026-07-01")
        page.click("button[value=save]")
        expect(page.locator(".field-error[data-field=value]")).to_contain_text("Giá trị phải là một số")
        expect(page.locator(".field-error[data-field=effective_from]")).to_contain_text("đã có giá trị từ ngày này")
        expect(page.locator(".field-error[data-field=legal_basis]")).to_contain_text("Cần ghi căn cứ pháp lý")
        expect(page.locator("input[name=value]")).to_have_value("hai triệu")

        page.fill("input[name=value]", "2.800.000")
        page.fill("input[name=effective_from]", "2027-07-01")
        page.fill("input[name=legal_basis]", "Nghị định thử nghiệm về lương cơ sở")
        page.check("input[name=verified]")
        page.click("button[value=preview]")
        expect(page.locator("#changes-title")).to_contain_text("câu trả lời thay đổi từ ngày 2027-07-01")
        change = page.locator(".change[data-entry=hgd-muc-dong]")
        expect(change.locator(".del", has_text="12 tháng: 1.366.200 đồng")).to_have_count(1)
        expect(change.locator(".add", has_text="12 tháng: 1.512.000 đồng")).to_have_count(1)
        assert "1.512.000 đồng" not in cli("ask", QUESTION, "--date", "2027-08-01").stdout  # a preview saves nothing

        page.click("button[value=save]")
        expect(page.locator(".notice")).to_contain_text("Đã thêm giá trị mới")
        expect(page.locator("#param-luong_co_so")).to_contain_text("2.800.000 đồng")
    finally:
        context.close()

    assert "1.512.000 đồng" in cli("ask", QUESTION, "--date", "2027-08-01").stdout
    today = cli("ask", QUESTION, "--date", "2026-11-23").stdout
    assert "1.366.200 đồng" in today and "1.512.000 đồng" not in today
    r = httpx.post(app.url + "/api/v1/ask", json={"text": QUESTION}, headers={"Authorization": f"Bearer {TOKEN}"},
                   timeout=60)
    assert "1.366.200 đồng" in r.json()["reply"]  # the service answers as on 23/11/2026: not in force yet

    admin = ConsoleClient(app.url)
    admin.login(*ADMIN)
    entry = next(r for r in admin.get("/console/api/audit").json() if r["action"] == "parameter.add")
    assert entry["target"] == "luong_co_so" and entry["actor"] == ADMIN[0]
    assert entry["changes"]["value"] == "2800000" and entry["changes"]["effective_from"] == "2027-07-01"
    staff = ConsoleClient(app.url)
    staff.login(*STAFF)
    assert staff.get("/console/parameters").status_code == 403
    assert staff.post("/console/parameters", {"key": "luong_co_so", "value": "1", "effective_from": "2030-01-01",
                                              "legal_basis": "x", "action": "save"}).status_code == 403
