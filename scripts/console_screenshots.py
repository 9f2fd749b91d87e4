"""Screenshots of the staff console for the README (docs/console-*.png).

Runs the fake platforms and the app on loopback ports with a scratch SQLite database, sends a few
citizen messages through the fake Zalo and Messenger, and photographs the main pages in headless
Chromium (Debian's /usr/bin/chromium driven by Playwright; nothing is downloaded).

    .venv/bin/python scripts/console_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

BIN = Path(sys.executable).parent / "bhxh-bot"
ADMIN = ("admin@bhxh.example.vn", "mat-khau-quan-tri-1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_console(tmp: str, fake, **settings: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The service on a free loopback port with a scratch SQLite database in `tmp`, Zalo pointed at the fake
    platforms `fake`, an admin (`ADMIN`) and `settings` as more environment; yields (its URL, its environment)
    once it answers /healthz, and stops it afterwards."""
    url = f"http://127.0.0.1:{free_port()}"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp}/console.db", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               ZALO_APP_ID=fp.ZALO_APP_ID, ZALO_OA_SECRET_KEY=fp.ZALO_OA_SECRET_KEY, ZALO_APP_SECRET=fp.ZALO_APP_SECRET,
               ZALO_ACCESS_TOKEN="zalo-at-0", ZALO_REFRESH_TOKEN="zalo-rt-0", ZALO_API_BASE=fake.url,
               ZALO_OAUTH_BASE=fake.url, **settings)
    subprocess.run([str(BIN), "users", "add", "--role", "admin", ADMIN[0]], input=ADMIN[1] + "\n", text=True,
                   env=env, check=True, capture_output=True)
    app = subprocess.Popen([str(BIN), "serve", "--port", url.rsplit(":", 1)[1]], env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, env
    finally:
        app.terminate()
        app.wait(timeout=15)


def browser_login(page, url: str, user: tuple[str, str] = ADMIN, landing: str | None = "**/console/inbox") -> None:
    """Log `user` in through the console's login form in a browser `page` of the service at `url`, and wait for
    the page it lands on (`landing`; None: do not wait, for a test of where it lands). The console's browser
    tests use it too (tests/console_support.py)."""
    page.goto(url + "/console/login")
    page.fill("input[name=email]", user[0])
    page.fill("input[name=password]", user[1])
    page.click("form[action='/console/login'] button")
    if landing:
        page.wait_for_url(landing)


def admin_page(browser, url: str, height: int = 768):
    """A desktop page of `browser`, logged in as `ADMIN`, on the inbox."""
    page = browser.new_page(viewport={"width": 1366, "height": height}, locale="vi-VN")
    browser_login(page, url)
    return page


def screenshot_options(description: str) -> tuple[argparse.Namespace, Path]:
    """The screenshot scripts' command line (`--out`, `--chromium`) and the output folder, created."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return args, out


def main() -> int:
    args, out = screenshot_options(__doc__)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, fp.FakePlatformsServer(fp.FakeConfig(zalo_rps=0, messenger_rps=0)) as fake, \
            running_console(tmp, fake, FB_APP_ID=fp.FB_APP_ID, FB_APP_SECRET=fp.FB_APP_SECRET, FB_VERIFY_TOKEN="verify-me",
                            FB_PAGE_ACCESS_TOKEN=fp.FB_PAGE_ACCESS_TOKEN, FB_GRAPH_BASE=fake.url,
                            FB_GRAPH_VERSION=fp.FB_GRAPH_VERSION) as (url, env):
        for body in (fp.zalo_user_text("bhxh tự nguyện đóng tối thiểu bao nhiêu 1 tháng", "9301"),
                     fp.zalo_user_text("Cho tôi gặp cán bộ, CCCD của tôi 001203004567", "9302"),
                     fp.zalo_user_text("kiểm tra giúp quá trình đóng của tôi, mã số bhxh 7912345678", "9303")):
            raw, headers = fp.zalo_signed(body)
            httpx.post(url + "/webhooks/zalo", content=raw, headers=headers)
        for body in (fp.messenger_text("tôi bị mất việc, trợ cấp thất nghiệp nhận thế nào", "7301"),
                     fp.messenger_text("bhyt học sinh bao nhiêu tiền", "7302")):
            raw, headers = fp.messenger_signed(body)
            httpx.post(url + "/webhooks/facebook", content=raw, headers=headers)
        time.sleep(3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = admin_page(browser, url)
            page.screenshot(path=str(out / "console-inbox.png"))
            page.locator("#rows tr[data-id] a").filter(has_text="CCCD").click()
            page.wait_for_url("**/console/conversations/*")
            page.select_option("#canned", "chung-tra-cuu")
            page.click("#insert-canned")
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "console-conversation.png"))
            page.goto(url + "/console/kb/hgd-muc-dong")
            page.screenshot(path=str(out / "console-kb.png"))
            page.goto(url + "/console/dashboard")
            page.screenshot(path=str(out / "console-dashboard.png"), full_page=True)
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, locale="vi-VN")
            phone.context.add_cookies(page.context.cookies())
            phone.goto(url + "/console/inbox")
            phone.screenshot(path=str(out / "console-phone.png"))
            browser.close()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
