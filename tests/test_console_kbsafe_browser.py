"""Safe knowledge-base work in a real headless Chromium (Debian's chromium driven by Playwright), what only a
browser shows: the picker inserts a parameter's code where the cursor is; leaving the editor with unsaved edits
asks first, and saving does not; "Thêm và xuất bản" and "Khôi phục" go through their confirmation; the
history's word diff is highlighted in the console's own font; on SQLite and PostgreSQL.

With CONSOLE_SCREENSHOTS=DIR the tests save the screenshots docs/console-work.md shows (docs/console-kbsafe-*.png)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.console_support import browser_login, console_server

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TOKEN = "test-admin-token"
EDITOR = "/console/kb/vtn-khai-niem"
QUESTION = "bảo hiểm xã hội tự nguyện là gì, ai được tham gia"
NAME, BIRTH = "thẻ BHYT sai tên", "thẻ bhyt bị sai ngày sinh"
BUSINESS = "hộ kinh doanh cá thể có phải đóng bhxh không"
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS", "")


@pytest.fixture
def app(database_url, tmp_path, cli):
    with console_server(database_url, tmp_path, cli, ADMIN_API_TOKEN=TOKEN) as server:
        yield server


def shot(page: Page, name: str, **kw) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"console-kbsafe-{name}.png"), **kw)




def ask(app, text: str, conversation: str) -> dict:
    r = httpx.post(app.url + "/api/v1/ask", json={"text": text, "conversation_id": conversation},
                   headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert r.status_code == 200
    return r.json()


def test_picker_inserts_at_the_cursor_and_unsaved_edits_ask_before_leaving(app, page):
    browser_login(page, app.url)
    page.goto(app.url + EDITOR)
    answer = page.locator("#answer")
    before = answer.input_value()
    cut = before.index("\n")  # the end of the first line
    answer.click()
    answer.evaluate("(box, at) => box.setSelectionRange(at, at)", cut)
    page.click("#picker summary")
    page.fill("#picker-search", "luong co so bang muc tham chieu")  # accents optional
    expect(page.locator("tr.pick:visible")).to_have_count(1)
    shot(page, "picker", full_page=False)
    page.locator("tr.pick:visible button.insert").click()
    code = "{{ vnd(p.luong_co_so) }}"
    expect(answer).to_have_value(before[:cut] + code + before[cut:])
    expect(page.locator("#preview")).to_contain_text("2.530.000 đồng")
    assert answer.evaluate("box => box.selectionStart") == cut + len(code)  # the cursor after the code

    # leaving now asks; staying keeps the edit
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.click("text=Lịch sử phiên bản", no_wait_after=True)
    expect(answer).to_have_value(before[:cut] + code + before[cut:])
    assert dialogs == ["beforeunload"] and page.url.endswith(EDITOR)

    # saving is not leaving with unsaved edits; after it, leaving asks nothing
    page.click("button[value=save]")
    expect(page.locator(".notice")).to_contain_text("Đã lưu bản nháp")
    page.click("text=Lịch sử phiên bản")
    page.wait_for_url("**/history")
    assert dialogs == ["beforeunload"]


def test_history_diff_is_highlighted_in_the_console_font_and_rollback_asks_first(app, page):
    browser_login(page, app.url)
    page.goto(app.url + EDITOR)
    answer = page.locator("#answer")
    original = answer.input_value()
    answer.fill(original.replace("tự nguyện", "tự nguyện (do người lao động tự chọn)", 1)
                + "\nNgười tham gia được chọn mức thu nhập và phương thức đóng phù hợp.")
    page.click("button[value=save]")
    expect(page.locator(".notice")).to_contain_text("Đã lưu bản nháp")
    page.click("button[value=publish]")
    expect(page.locator(".notice")).to_contain_text("Đã xuất bản")
    page.click("text=Lịch sử phiên bản")
    diff = page.locator(".version[data-number='2'] .diff-words")
    expect(diff.locator("ins").first).to_contain_text("do người lao động tự chọn")
    expect(diff.locator("dt")).to_contain_text(["Câu trả lời"])
    styles = diff.evaluate("""d => {
        const ins = d.querySelector('ins'), body = getComputedStyle(document.body);
        return {font: getComputedStyle(d).fontFamily, body: body.fontFamily, insBg: getComputedStyle(ins).backgroundColor,
                insDeco: getComputedStyle(ins).textDecorationLine, text: d.innerText}; }""")
    assert styles["font"] == styles["body"] and "monospace" not in styles["font"]
    assert styles["insBg"] not in ("rgba(0, 0, 0, 0)", "transparent") and styles["insDeco"] == "none"
    assert "@@" not in styles["text"]
    # the Vietnamese words render in one font: as wide as in the page's own paragraph font
    widths = page.evaluate("""() => {
        const probe = (font) => {
            const s = document.createElement('span'); s.style.font = font; s.textContent = 'người lao động tự chọn';
            document.body.appendChild(s); const w = s.getBoundingClientRect().width; s.remove(); return w; };
        const f = getComputedStyle(document.querySelector('.diff-words')).fontFamily;
        return [probe('15px ' + f), probe('15px ' + getComputedStyle(document.body).fontFamily)]; }""")
    assert widths[0] == widths[1]
    shot(page, "diff")

    page.locator(".version[data-number='1'] button").click()
    expect(page.locator("h1")).to_contain_text("Xác nhận khôi phục bản 1")
    expect(page.locator(".diff-words del").first).to_contain_text("do người lao động tự chọn")
    assert "do người lao động tự chọn" in ask(app, QUESTION, "r1")["reply"]  # not restored yet
    shot(page, "rollback")
    page.click("button:has-text('Xác nhận khôi phục')")
    expect(page.locator(".notice")).to_contain_text("Đã khôi phục phiên bản cũ")
    assert "do người lao động tự chọn" not in ask(app, QUESTION, "r2")["reply"]


def test_unanswered_groups_confirm_before_publishing_and_can_be_dismissed_and_undone(app, page):
    for i, text in enumerate((NAME, BIRTH, BUSINESS)):
        assert ask(app, text, f"c{i}")["outcome"] == "escalated"
    browser_login(page, app.url)
    page.goto(app.url + "/console/unanswered")
    groups = page.locator("section.group")
    expect(groups).to_have_count(2)
    card = groups.filter(has_text=NAME)
    expect(card.locator(".count")).to_have_text("2")
    expect(card).to_contain_text(BIRTH)
    expect(card.locator(".no-match")).to_contain_text("Chưa có mục phù hợp — tạo mục mới")
    shot(page, "unanswered", full_page=True)

    # dismiss, see it under the filter, undo
    card.locator("button[value=dismiss]").click()
    expect(page.locator(".notice")).to_contain_text("Đã bỏ qua nhóm câu hỏi")
    expect(page.locator("section.group")).to_have_count(1)
    page.click("text=Đã bỏ qua, để sau, đã xử lý")
    expect(page.locator("section.group .decision")).to_contain_text("Đã bỏ qua")
    page.click("button[value=undo]")
    expect(page.locator(".notice")).to_contain_text("Đã hoàn tác")
    page.goto(app.url + "/console/unanswered")
    expect(page.locator("section.group")).to_have_count(2)

    # "Thêm và xuất bản…" shows what it will publish; nothing is published before "Xác nhận xuất bản"
    business = page.locator("section.group").filter(has_text=BUSINESS)
    business.locator("select[name=entry_id]").select_option("vtn-khai-niem")
    business.locator("text=Thêm và xuất bản…").click()
    expect(page.locator("h1")).to_have_text("Xác nhận xuất bản")
    expect(page.locator(".confirm .added")).to_contain_text(BUSINESS)
    assert ask(app, BUSINESS, "c7")["outcome"] == "escalated"
    shot(page, "confirm")
    page.click("button:has-text('Xác nhận xuất bản')")
    expect(page.locator(".notice")).to_contain_text("Đã thêm câu hỏi vào mục và xuất bản")
    assert ask(app, BUSINESS, "c8")["entry_id"] == "vtn-khai-niem"
    expect(page.locator("section.group")).to_have_count(1)  # the handled group left the list
    expect(page.locator("section.group")).to_contain_text(NAME)
