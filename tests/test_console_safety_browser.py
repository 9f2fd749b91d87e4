"""Issue 13's console safety work in a real headless Chromium (Debian's chromium driven by Playwright):
resolving hands a conversation back to the bot and a kept one comes back to the top of the inbox when the
citizen writes; an open conversation page and the inbox rows show a citizen's follow-up without a reload;
failed logins by a stranger slow down new browsers with a message saying how long to wait, never the
staff member's own. Citizens write through the real webhooks of the fake platforms; the app runs under
uvicorn; on SQLite and PostgreSQL."""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT
from tests.console_support import STAFF, browser_login, console_app
from tests.test_channels import conversation, post_zalo, sent, wait_for
from tests.test_console_safety import escalations, handoff

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

# the service under uvicorn, the fake platforms and Chromium
pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TIMEOUT = 20_000  # ms


@pytest.fixture
def app(database_url, tmp_path, platforms, cli):
    with console_app(database_url, tmp_path / "app.log", platforms.url, cli, CONSOLE_POLL_SECONDS="0.5",
                     LOGIN_MAX_FAILURES="3") as server:
        yield server


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    context.set_default_timeout(TIMEOUT)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()




def test_resolve_hands_back_and_a_kept_conversation_returns_to_the_top(app, platforms, page, context):
    first = handoff(app, "9401", "b1-1")
    browser_login(page, app.url, STAFF)
    page.goto(f"{app.url}/console/conversations/{first.id}")
    expect(page.locator("#keep")).not_to_be_checked()
    page.click("text=Đánh dấu đã xử lý")
    expect(page.locator(".notice")).to_contain_text("Trợ lý tự động trả lời công dân từ bây giờ")
    expect(page.locator("#bot-state")).to_have_text("Trợ lý tự động đang trả lời.")
    page.evaluate("window.__notReloaded = true")
    post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", "9401", msg_id="b1-2"))
    assert wait_for(lambda: [m for m in sent(platforms, "9401", "zalo") if "Căn cứ:" in m["text"]])  # the bot answers
    expect(page.locator("#messages .msg.bot").last).to_contain_text("Căn cứ:")  # and the page shows it, live
    assert page.evaluate("window.__notReloaded") is True

    kept = handoff(app, "9402", "b1-3")
    page.goto(f"{app.url}/console/conversations/{kept.id}")
    page.check("#keep")
    page.click("text=Đánh dấu đã xử lý")
    expect(page.locator(".notice")).to_contain_text("Cuộc trò chuyện vẫn do cán bộ giữ")
    expect(page.locator("#bot-state")).to_contain_text("Trợ lý tự động đang tạm dừng")
    other = handoff(app, "9403", "b1-4")
    page.goto(app.url + "/console/inbox")
    rows = page.locator("#rows tr[data-id]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("a")).to_have_attribute("href", f"/console/conversations/{other.id}")
    page.evaluate("window.__notReloaded = true")
    before = len(sent(platforms, "9402", "zalo"))
    held = context.new_page()  # the kept conversation, open in another tab
    held.goto(f"{app.url}/console/conversations/{kept.id}")
    expect(held.locator(".escalations li.open")).to_have_count(0)

    post_zalo(app, fp.zalo_user_text("Tôi đã nộp bổ sung tờ khai TK1-TS", "9402", msg_id="b1-5"))
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Tôi đã nộp bổ sung tờ khai TK1-TS")
    expect(rows.first).to_contain_text("Công dân nhắn thêm")
    expect(rows.first.locator("a")).to_have_attribute("href", f"/console/conversations/{kept.id}")
    assert page.evaluate("window.__notReloaded") is True
    # the open tab shows the message and the reopened request, with its actions, without a reload
    expect(held.locator("#messages .msg.citizen").last).to_contain_text("Tôi đã nộp bổ sung tờ khai TK1-TS")
    expect(held.locator(".escalations li.open")).to_contain_text("Công dân nhắn thêm")
    expect(held.locator("#resolve-form")).to_be_visible()
    assert len(sent(platforms, "9402", "zalo")) == before  # held for staff: the bot stays silent
    assert escalations(app, "9402", "open")[0].kind == "followup"


def test_an_open_conversation_and_the_inbox_show_the_citizens_follow_up_live(app, page):
    conv = handoff(app, "9404", "b2-1")
    browser_login(page, app.url, STAFF)
    page.goto(f"{app.url}/console/conversations/{conv.id}")
    expect(page.locator("#messages .msg")).to_have_count(2)  # the citizen's request and the bot's handoff
    draft = "Chào anh, cán bộ đang xem hồ sơ của anh"
    page.fill("#reply-text", draft)
    page.evaluate("window.__notReloaded = true")

    post_zalo(app, fp.zalo_user_text("Mã số BHXH của tôi là 0123456789", "9404", msg_id="b2-2"))
    expect(page.locator("#messages .msg")).to_have_count(3)
    expect(page.locator("#messages .msg.citizen").last).to_contain_text("Mã số BHXH của tôi là 0123456789")
    expect(page.locator("#reply-text")).to_have_value(draft)  # what staff typed is untouched
    assert page.evaluate("window.__notReloaded") is True

    page.goto(app.url + "/console/inbox")
    row = page.locator("#rows tr[data-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("cho tôi gặp cán bộ")
    page.evaluate("window.__notReloaded = true")
    post_zalo(app, fp.zalo_user_text("Tôi ở phường Hải Châu", "9404", msg_id="b2-3"))
    expect(row.locator(".latest")).to_contain_text("Tôi ở phường Hải Châu")  # the row shows the latest message
    assert page.evaluate("window.__notReloaded") is True
    assert conversation(app, "zalo", "9404").bot_paused_until is not None


def test_a_strangers_failed_logins_show_a_wait_and_never_lock_out_the_staff_member(app, browser, page, context):
    browser_login(page, app.url, STAFF)  # the staff member's own browser, used before
    page.click("form[action='/console/logout'] button")
    page.wait_for_url("**/console/login")

    stranger = browser.new_context(locale="vi-VN", extra_http_headers={"X-Forwarded-For": "203.0.113.50"})
    try:
        other = stranger.new_page()
        other.set_default_timeout(TIMEOUT)
        for _ in range(3):
            browser_login(other, app.url, (STAFF[0], "doan-mat-khau-sai"), landing=None)
            expect(other.locator(".error")).to_have_text("Sai e-mail hoặc mật khẩu.")
        browser_login(other, app.url, (STAFF[0], "doan-mat-khau-sai"), landing=None)
        expect(other.locator(".error")).to_contain_text("Đăng nhập sai nhiều lần. Vui lòng chờ")
        expect(other.locator(".error")).to_contain_text("giây rồi thử lại.")
    finally:
        stranger.close()

    # a browser the staff member never used is told how long to wait, in Vietnamese
    fresh = browser.new_context(locale="vi-VN", extra_http_headers={"X-Forwarded-For": "10.1.0.2"})
    try:
        new = fresh.new_page()
        new.set_default_timeout(TIMEOUT)
        browser_login(new, app.url, STAFF, landing=None)
        expect(new.locator(".error")).to_contain_text("Vui lòng chờ")
        assert "/console/login" in new.url
    finally:
        fresh.close()

    # their own browser logs in at once: the stranger could not lock them out
    browser_login(page, app.url, STAFF)
    expect(page.locator("h1")).to_contain_text("Hộp yêu cầu")
