"""Screenshots of issue 13's parts 2, 3 and 6 in the staff console (docs/console-help-*.png): the
canned-reply picker on the bot's candidates, a staff reply the fake Zalo refused with "Gửi lại", the
login page after an expired session, the audit log in sentences, the inbox's paging, an error page, and
the dashboard at 390 px.

Runs the fake platforms and the app on loopback ports with a scratch SQLite database and photographs the
pages in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; nothing is downloaded).

    .venv/bin/python scripts/console_help_screenshots.py [--out docs]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402
from console_screenshots import ADMIN, admin_page, running_console, screenshot_options  # noqa: E402


def main() -> int:
    args, out = screenshot_options(__doc__)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, fp.FakePlatformsServer(fp.FakeConfig(zalo_rps=0, messenger_rps=0)) as fake, \
            running_console(tmp, fake, CONSOLE_POLL_SECONDS="0.5") as (url, env):
        db = f"{tmp}/console.db"
        texts = [f"cho tôi gặp cán bộ, câu hỏi số {i} về sổ BHXH" for i in range(30)]
        texts += ["Cho tôi gặp cán bộ, tôi sinh con tháng trước thì được hưởng thai sản thế nào",
                 "Tôi muốn gặp cán bộ hỏi về thẻ BHYT bị sai ngày sinh",
                 "gặp cán bộ: " + "tôi đã nộp hồ sơ hưởng trợ cấp thất nghiệp từ tháng trước nhưng chưa nhận được "
                 "quyết định, " * 30 + "xin cán bộ kiểm tra giúp"]
        for i, text in enumerate(texts):
            raw, headers = fp.zalo_signed(fp.zalo_user_text(text, f"93{i:02d}", msg_id=f"s-{i}"))
            httpx.post(url + "/webhooks/zalo", content=raw, headers=headers)
            time.sleep(0.05)  # newest last
        time.sleep(6)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = admin_page(browser, url, height=900)
            page.screenshot(path=str(out / "console-help-inbox.png"), full_page=True)

            page.locator("#rows tr[data-id] a").filter(has_text="thai sản").click()
            page.wait_for_url("**/console/conversations/*")
            httpx.post(fake.url + "/_fake/fail", json={"platform": "zalo", "mode": "blocked"})
            page.fill("#reply-text", "Chào chị, cán bộ đã nhận câu hỏi và sẽ gọi lại cho chị trong hôm nay.")
            page.click("#send")
            page.locator(".msg.staff .delivery.failed").wait_for()
            page.fill("#canned-search", "thai san")
            page.screenshot(path=str(out / "console-help-conversation.png"), full_page=True)

            page.goto(url + "/console/users")  # something for the audit log to say
            form = page.locator("form[action='/console/users']")
            form.locator("input[name=email]").fill("canbo.motcua@bhxh.example.vn")
            form.locator("input[name=password]").fill("mat-khau-can-bo-moi")
            form.locator("button").click()
            page.goto(url + "/console/parameters")
            page.select_option("select[name=key]", index=0)
            page.fill("input[name=value]", "2.500.000")
            page.fill("input[name=effective_from]", "2027-01-01")
            page.fill("input[name=legal_basis]", "Nghị định thử nghiệm")
            page.click("button[value=save]")
            page.goto(url + "/console/audit")
            page.screenshot(path=str(out / "console-help-audit.png"))
            page.goto(url + "/console/khong-co-trang-nay")
            page.screenshot(path=str(out / "console-help-error.png"))

            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, locale="vi-VN")
            phone.context.add_cookies(page.context.cookies())
            phone.goto(url + "/console/dashboard")
            phone.screenshot(path=str(out / "console-help-dashboard-phone.png"), full_page=True)

            conn = sqlite3.connect(db)  # the session ends while a reply is being typed
            page.goto(url + "/console/inbox")
            page.locator("#rows tr[data-id] a").filter(has_text="BHYT").first.click()
            page.wait_for_url("**/console/conversations/*")
            page.fill("#reply-text", "Chào anh, anh mang CCCD và thẻ BHYT đến bộ phận một cửa để sửa ngày sinh.")
            conn.execute("DELETE FROM staff_session")
            conn.commit()
            conn.close()
            page.click("#send")
            page.wait_for_url("**/console/login?**")
            page.screenshot(path=str(out / "console-help-expired.png"))
            page.fill("input[name=email]", ADMIN[0])
            page.fill("input[name=password]", ADMIN[1])
            page.click("form[action='/console/login'] button")
            page.wait_for_url("**/console/conversations/*")
            page.screenshot(path=str(out / "console-help-restored.png"))
            browser.close()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
