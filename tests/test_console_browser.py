"""The staff console in a real headless Chromium: escalations from the fake Zalo and Messenger
platforms appear in the inbox without reloading, staff reply from the browser and the fake
platform receives it, a reply outside the window is refused with the reason; assign, note,
resolve (which hands back to the bot; tests/test_console_safety_browser.py has the rest); the
knowledge-base editor's province list refreshes its preview in place. The app runs under uvicorn; on
SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sys

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app import models
from tests import test_provinces as tp
from tests.conftest import ROOT, AppServer
from tests.console_support import ADMIN, STAFF, browser_login, console_app
from tests.test_channels import age_conversation, conversation, db_session, post_fb, post_zalo, sent, wait_for

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TIMEOUT = 20_000  # ms


@pytest.fixture
def app(database_url, tmp_path, platforms, cli):
    with console_app(database_url, tmp_path / "app.log", platforms.url, cli, CONSOLE_POLL_SECONDS="0.5") as server:
        yield server




def open_escalations(app, user: str) -> list[models.Escalation]:
    with db_session(app) as session:
        return session.exec(select(models.Escalation).join(models.Conversation)
                            .where(models.Conversation.external_id == user, models.Escalation.status == "open")).all()


def test_new_escalation_appears_live_and_a_staff_reply_reaches_zalo(app, platforms, page):
    browser_login(page, app.url, STAFF)
    expect(page.locator("#rows")).to_contain_text("Không có yêu cầu nào.")
    page.evaluate("window.__notReloaded = true")

    post_zalo(app, fp.zalo_user_text("Cho tôi gặp cán bộ, CCCD của tôi 001203004567", "9101", msg_id="c-1"))
    row = page.locator("#rows tr[data-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("[CCCD ***567]")  # masked in the list
    expect(row).not_to_contain_text("001203004567")
    expect(row).to_contain_text("Zalo")
    expect(row).to_contain_text("Muốn gặp cán bộ")
    expect(row).to_contain_text("Miễn phí · còn 1 ngày 23 giờ")
    assert page.evaluate("window.__notReloaded") is True  # it came in without a reload

    row.locator("a").click()
    page.wait_for_url("**/console/conversations/*")
    expect(page.locator(".msg.citizen")).to_contain_text("001203004567")  # visible in the conversation
    expect(page.locator(".msg.bot")).to_have_count(1)

    # a canned reply: an entry's answer as the citizen would read it today, inserted into the box
    page.select_option("#canned", "vtn-khai-niem")
    page.click("#insert-canned")
    expect(page.locator("#reply-text")).to_have_value(re.compile("Căn cứ:"))
    reply = "Chào anh, cán bộ BHXH tỉnh đã nhận yêu cầu và sẽ kiểm tra hồ sơ trong hôm nay."
    page.fill("#reply-text", reply)
    page.click("#send")
    expect(page.locator(".notice")).to_contain_text("Đã nhận tin trả lời")
    expect(page.locator(".msg.staff .delivery")).to_contain_text("Đã gửi")  # its delivery state, live
    expect(page.locator(".msg.staff")).to_contain_text(reply)
    delivered = wait_for(lambda: [m for m in sent(platforms, "9101", "zalo") if m["text"] == reply])
    assert delivered and delivered[0]["recipient"] == "9101"
    expect(page.locator(".escalations")).to_contain_text(f"Người xử lý: {STAFF[0]}")  # who answers first takes it

    page.fill("aside textarea[name=text]", "Đã gọi điện cho công dân, hẹn bổ sung giấy tờ.")
    page.click("text=Thêm ghi chú")
    expect(page.locator(".notes")).to_contain_text("hẹn bổ sung giấy tờ")
    expect(page.locator(".notes")).to_contain_text(STAFF[0])

    page.click("text=Đánh dấu đã xử lý")
    expect(page.locator(".notice")).to_contain_text("Đã đánh dấu là đã xử lý.")
    assert open_escalations(app, "9101") == []
    page.goto(app.url + "/console/inbox?status=open")
    expect(page.locator("#rows")).to_contain_text("Không có yêu cầu nào.")
    page.goto(app.url + "/console/inbox?status=resolved")
    expect(page.locator("#rows tr[data-id]")).to_have_count(1)

    # resolved without "Giữ cuộc trò chuyện cho cán bộ": handed back, the bot answers this citizen again
    page.goto(f"{app.url}/console/conversations/{conversation(app, 'zalo', '9101').id}")
    expect(page.locator("aside")).to_contain_text("Trợ lý tự động đang trả lời.")
    post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", "9101", msg_id="c-2"))
    assert wait_for(lambda: [m for m in sent(platforms, "9101", "zalo") if "Căn cứ:" in m["text"]])


def test_reply_outside_the_window_is_refused_with_the_reason_and_the_text_is_kept(app, platforms, page):
    post_fb(app, fp.messenger_text("cho tôi gặp nhân viên", "7101"))
    assert wait_for(lambda: open_escalations(app, "7101"))
    conv = conversation(app, "messenger", "7101")
    age_conversation(app, conv.id, 30)  # Messenger: 24 h window passed; the page has no HUMAN_AGENT approval

    browser_login(page, app.url, STAFF)
    expect(page.locator("#rows tr[data-id]")).to_contain_text("Không gửi được")
    page.goto(f"{app.url}/console/conversations/{conv.id}")
    expect(page.locator("#window")).to_contain_text("Không gửi được")
    text = "Xin lỗi anh vì trả lời muộn, hồ sơ của anh đã được xử lý."
    page.fill("#reply-text", text)
    page.click("#send")
    expect(page.locator("#error")).to_contain_text("Không gửi được: Đã quá 24 giờ")
    expect(page.locator("#error")).to_contain_text("HUMAN_AGENT")
    expect(page.locator("#reply-text")).to_have_value(text)  # nothing typed is lost
    assert not [m for m in sent(platforms, "7101") if m["text"] == text]
    expect(page.locator(".msg.staff")).to_have_count(0)


def test_filters_assign_to_me_and_small_screens(app, platforms, page, browser):
    post_zalo(app, fp.zalo_user_text("cho tôi gặp cán bộ", "9201"))
    post_fb(app, fp.messenger_text("tôi bị mất việc, trợ cấp thất nghiệp nhận thế nào", "7201"))
    assert wait_for(lambda: open_escalations(app, "9201") and open_escalations(app, "7201"))

    browser_login(page, app.url, ADMIN)
    expect(page.locator("#rows tr[data-id]")).to_have_count(2)
    page.select_option("select[name=channel]", "messenger")
    page.click("text=Lọc")
    rows = page.locator("#rows tr[data-id]")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("trợ cấp thất nghiệp")
    expect(rows).to_contain_text("Ngoài phạm vi")  # the topic: closest to an out-of-scope group
    page.goto(app.url + "/console/inbox?topic=" + "Ngoài phạm vi")
    expect(page.locator("#rows tr[data-id]")).to_have_count(1)

    page.goto(app.url + "/console/inbox?status=mine")
    expect(page.locator("#rows")).to_contain_text("Không có yêu cầu nào.")
    page.goto(f"{app.url}/console/conversations/{conversation(app, 'zalo', '9201').id}")
    page.click("text=Nhận xử lý")
    expect(page.locator(".notice")).to_contain_text("Bạn đã nhận xử lý")
    page.goto(app.url + "/console/inbox?status=mine")
    mine = page.locator("#rows tr[data-id]")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(ADMIN[0])
    expect(mine).to_contain_text("Zalo")

    # a phone: nothing wider than the screen, every column still labelled
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        small = phone.new_page()
        small.set_default_timeout(TIMEOUT)
        browser_login(small, app.url, STAFF)
        expect(small.locator("#rows tr[data-id]")).to_have_count(2)
        assert small.evaluate("document.documentElement.scrollWidth") <= 390
        small.locator("#rows tr[data-id] a").first.click()
        small.wait_for_url("**/console/conversations/*")
        expect(small.locator("#reply-text")).to_be_visible()
        assert small.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        phone.close()
    # the office screen: the inbox fits its width too
    page.goto(app.url + "/console/inbox")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


@pytest.fixture
def province_app(database_url, tmp_path, cli):
    """Two provinces (tests/test_provinces.py's setup: province dn has its own sample top-ups) and an
    administrator of all of them."""
    config = fp.FakeConfig(zalo_rps=0, messenger_rps=0,
                           zalo_more_oas=[{"oa_id": tp.DN_OA, "oa_secret_key": tp.DN_OA_SECRET,
                                           "access_token": "dn-at-0", "refresh_token": "dn-rt-0"}],
                           fb_more_pages=[{"page_id": tp.DN_PAGE, "page_access_token": tp.DN_PAGE_TOKEN}])
    with fp.FakePlatformsServer(config) as fake:
        env = tp.province_env(tmp_path, fake.url)
        cli("users", "add", "--role", "admin", ADMIN[0], env=env, input=ADMIN[1] + "\n")  # no --province: all
        server = AppServer(database_url, tmp_path / "app.log", **env).start()
        yield server
        server.stop()


def test_the_editors_province_list_refreshes_the_preview_without_the_button(province_app, page):
    browser_login(page, province_app.url, ADMIN)
    page.goto(province_app.url + "/console/kb/hgd-muc-dong")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("1.366.200 đồng")  # national, rendered by the server
    expect(preview).not_to_contain_text("(*)")
    page.evaluate("window.__notReloaded = true")

    # choosing a province is enough: its own (sample, unverified) top-up, nothing clicked
    page.select_option("#preview-province", "dn")
    expect(preview).to_contain_text("1.092.960 đồng (*)")
    expect(preview).not_to_contain_text("1.366.200")
    page.select_option("#preview-province", "")
    expect(preview).to_contain_text("1.366.200 đồng")
    expect(preview).not_to_contain_text("1.092.960")
    assert page.evaluate("window.__notReloaded") is True  # refreshed in place, not by submitting the form
    assert page.url.endswith("/console/kb/hgd-muc-dong")
