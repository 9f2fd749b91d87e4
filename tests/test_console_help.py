"""Issue 13's parts 2 (delivery state), 3 (the bot's guess at hand) and 6 (plain Vietnamese) over HTTP,
against the real service under uvicorn, on SQLite and PostgreSQL. Citizens write through the real webhooks
of the fake Zalo platform; a failed send is a failure injected in the fake platform (/_fake/fail)."""

from __future__ import annotations

import datetime as dt
import re
import sys

import httpx
import pytest
from sqlmodel import delete, select

from app import models
from tests.conftest import ROOT
from tests.console_support import ADMIN, STAFF, console_app
from tests.test_channels import db_session, post_zalo, sent, wait_for
from tests.test_console_safety import escalations, handoff, logged_in, text_of

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(database_url, tmp_path, platforms, cli):
    with console_app(database_url, tmp_path / "app.log", platforms.url, cli, echo_messenger=False) as server:
        yield server


def escalate(app, user: str, text: str, msg_id: str) -> models.Conversation:
    """A question the bot weighs but does not answer: an escalation with the bot's candidates."""
    assert post_zalo(app, fp.zalo_user_text(text, user, msg_id=msg_id)).status_code == 200
    assert wait_for(lambda: escalations(app, user, "open")), user
    with db_session(app) as session:
        return session.exec(select(models.Conversation).where(models.Conversation.external_id == user)).one()


def plain(r: httpx.Response) -> str:
    """A page's text as staff read it: tags dropped, spaces collapsed."""
    return " ".join(text_of(httpx.Response(200, text=re.sub(r"<[^>]+>", " ", r.text))).split())


def esc_message(app, conv_id: int) -> models.Message:
    with db_session(app) as session:
        esc = session.exec(select(models.Escalation).where(models.Escalation.conversation_id == conv_id)).first()
        return session.get(models.Message, esc.message_id)


def options(page: str) -> list[str]:
    """The canned-reply picker's option values, in order."""
    select_html = page.split('id="canned"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]+)"', select_html)


def test_the_picker_opens_on_the_bots_candidates_with_titles_not_scores(app):
    conv = handoff(app, "9501", "h1-1")
    with db_session(app) as session:  # the bot's candidates for the message, as the engine stores them
        msg = session.get(models.Message, esc_message(app, conv.id).id)
        kb_ids = [row.id for row in session.exec(select(models.KnowledgeEntry).order_by(models.KnowledgeEntry.title))]
        candidates = [kb_ids[-1], kb_ids[len(kb_ids) // 2], "@ngoai_pham_vi"]  # not the alphabetical first
        msg.candidates, msg.score = candidates, 0.38
        session.add(msg)
        session.commit()
        titles = {row.id: row.title for row in session.exec(select(models.KnowledgeEntry))}
    staff = logged_in(app, *STAFF)
    page = staff.get(f"/console/conversations/{conv.id}")
    assert page.status_code == 200
    values = options(page.text)
    assert values[:2] == candidates[:2]  # best first; an out-of-scope label is no entry
    assert f'<option value="{candidates[0]}" selected>' in page.text  # preselected
    suggested = page.text.split('id="canned-suggested"', 1)[1].split("</optgroup>", 1)[0]
    assert titles[candidates[0]] in text_of(httpx.Response(200, text=suggested))
    assert sorted(set(values)) == sorted(titles)  # every entry can still be picked, the bot's first
    # the search's data: titles and questions of every entry, as JSON the page's script filters
    data = re.search(r'<script type="application/json" id="canned-data">(.*?)</script>', page.text, re.S).group(1)
    import json
    parsed = json.loads(data)
    assert parsed["suggested"] == candidates[:2]
    assert {e["id"] for e in parsed["entries"]} == set(titles) and all(e["questions"] for e in parsed["entries"])
    # no scores anywhere staff look
    assert "0.38" not in page.text and "0,38" not in page.text
    assert "(0." not in staff.get("/console/inbox").text


def test_a_failed_staff_reply_shows_why_and_is_sent_again(app, platforms):
    conv = handoff(app, "9502", "h2-1")
    staff = logged_in(app, *STAFF)
    httpx.post(platforms.url + "/_fake/fail", json={"platform": "zalo", "mode": "blocked"})
    r = staff.post(f"/console/conversations/{conv.id}/reply", {"text": "Cán bộ đã nhận hồ sơ của anh."})
    assert r.status_code == 303
    page = lambda: text_of(staff.get(f"/console/conversations/{conv.id}/messages"))  # noqa: E731
    assert wait_for(lambda: "Không gửi được" in page()), page()
    failed = page()
    assert "Zalo: người dùng bị khóa hoặc không hoạt động quá 45 ngày (mã lỗi -227)." in failed
    assert "Gửi lại" in failed and "banned" not in failed  # Vietnamese, never the platform's own words
    side = text_of(staff.get(f"/console/conversations/{conv.id}/status"))  # the request the failure went onto
    assert "Không gửi được tin qua Zalo: người dùng bị khóa" in side and "banned" not in side
    with db_session(app) as session:
        message = session.exec(select(models.Message).where(models.Message.conversation_id == conv.id,
                                                            models.Message.author == "staff")).one()
    retried = staff.post(f"/console/conversations/{conv.id}/retry", {"message_id": str(message.id)})
    assert retried.status_code == 303 and "done=retry" in retried.headers["location"]
    assert wait_for(lambda: "Đã gửi" in page()), page()
    assert "Không gửi được" not in page() and "Gửi lại" not in page()
    assert [m["text"] for m in sent(platforms, "9502", "zalo")].count("Cán bộ đã nhận hồ sơ của anh.") == 1
    # nothing failed any more: a second retry is refused in Vietnamese
    again = staff.post(f"/console/conversations/{conv.id}/retry", {"message_id": str(message.id)})
    assert again.status_code == 400 and "không có phần nào gửi không được" in text_of(again)


def test_an_html_error_page_of_the_platform_becomes_a_vietnamese_reason(app, platforms):
    conv = handoff(app, "9503", "h3-1")
    staff = logged_in(app, *STAFF)
    with db_session(app) as session:  # a send that failed with an outage's HTML page as its answer
        message = models.Message(conversation_id=conv.id, direction="out", author="staff", text="Xin chào")
        session.add(message)
        session.flush()
        session.add(models.OutboxMessage(conversation_id=conv.id, channel="zalo", recipient="9503", author="staff",
                                         payload={"text": "Xin chào"}, status="failed", attempts=5,
                                         error_code="http_503", message_id=message.id,
                                         last_error="<html><body><h1>503 Service Unavailable</h1></body></html>"))
        session.commit()
    page = plain(staff.get(f"/console/conversations/{conv.id}"))
    assert "Không gửi được · Zalo: nền tảng báo lỗi máy chủ (HTTP 503) (mã lỗi http_503)." in page
    assert "<h1>503" not in page and "Service Unavailable" not in page


def test_a_reply_posted_with_a_stale_token_comes_back_in_the_box(app):
    conv = handoff(app, "9504", "h4-1")
    staff = logged_in(app, *STAFF)
    typed = "Chào chị, hồ sơ của chị đã đủ <giấy tờ>."
    r = staff.http.post(f"/console/conversations/{conv.id}/reply", data={"csrf_token": "cu-roi", "text": typed})
    assert r.status_code == 403
    page = text_of(r)
    assert "Nội dung bạn đã nhập vẫn được giữ" in page
    assert re.search(r'<textarea name="text" id="reply-text"[^>]*>' + re.escape(typed.replace("<", "&lt;")
                     .replace(">", "&gt;")), r.text), r.text
    with db_session(app) as session:  # nothing was sent
        assert not session.exec(select(models.Message).where(models.Message.author == "staff")).all()

    # a session that expired: the login page asks to log in again and comes back to the conversation
    with db_session(app) as session:
        session.exec(delete(models.StaffSession))
        session.commit()
    r = staff.http.post(f"/console/conversations/{conv.id}/reply", data={"csrf_token": "x", "text": typed})
    assert r.status_code == 303
    assert r.headers["location"] == f"/console/login?next=%2Fconsole%2Fconversations%2F{conv.id}&expired=1"
    login = text_of(staff.get(r.headers["location"]))
    assert "Phiên làm việc đã hết hạn" in login and f'value="/console/conversations/{conv.id}"' in login


# --- plain Vietnamese everywhere staff look ----------------------------------------------------------


def add_escalations(app, n: int, text=lambda i: f"câu hỏi thử số {i}") -> None:
    """`n` escalated citizen questions straight into the database (each its own conversation)."""
    with db_session(app) as session:
        for i in range(n):
            conv = models.Conversation(channel="zalo", external_id=f"p{i}", last_inbound_at=models.utcnow())
            session.add(conv)
            session.flush()
            msg = models.Message(conversation_id=conv.id, direction="in", author="citizen", text=text(i),
                                 outcome="escalated", score=0.21, candidates=[])
            session.add(msg)
            session.flush()
            session.add(models.Escalation(conversation_id=conv.id, message_id=msg.id, kind="escalated"))
        session.commit()


def test_the_inbox_pages_and_shortens_long_messages(app):
    long = "Tôi muốn hỏi về chế độ thai sản " + "rất dài " * 400 + "ĐOẠN CUỐI"
    add_escalations(app, 30, lambda i: long if i == 29 else f"câu hỏi thử số {i}")
    staff = logged_in(app, *STAFF)
    first = staff.get("/console/inbox")
    assert first.status_code == 200
    assert first.text.count('<tr class="row') == 25  # a page, not every request
    assert 'id="next-page"' in first.text and 'id="prev-page"' not in first.text
    row = first.text.split('<tr class="row', 2)[1]  # the newest: the long one
    assert "xem thêm" in row and "ĐOẠN CUỐI" in row  # whole behind "xem thêm"
    link = re.search(r'<a href="/console/conversations/\d+">([^<]*)</a>', row).group(1)
    assert len(link) <= 301 and link.endswith("…") and "ĐOẠN CUỐI" not in link
    assert "Trợ lý tự động không trả lời được" in row and "Bot" not in plain(first)
    second = staff.get(re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&"))
    assert second.text.count('<tr class="row') == 5 and 'id="prev-page"' in second.text
    assert 'id="next-page"' not in second.text
    # the live refresh keeps to the page it is on
    rows = staff.get("/console/inbox/rows", params={"page": "2"})
    assert rows.headers["x-item-count"] == "5"
    assert staff.get("/console/inbox", params={"page": "abc"}).status_code == 200  # a bad page is the first


def test_the_unanswered_list_pages(app):
    import random

    rng = random.Random(7)
    words = lambda: " ".join("".join(rng.choice("bcdghklmnpqrstvx") + rng.choice("aeiouy") for _ in range(3))  # noqa: E731
                             for _ in range(3))
    add_escalations(app, 25, lambda i: words() + (" kéo dài" * 80 if i == 24 else ""))
    admin = logged_in(app, *ADMIN)
    page = admin.get("/console/unanswered")
    assert page.status_code == 200
    groups = page.text.count('<section class="group card"')
    assert groups == 20 and 'id="next-page"' in page.text
    assert "xem thêm" in page.text  # the long question, shortened
    more = admin.get(re.search(r'href="([^"]+)" rel="next"', page.text).group(1).replace("&amp;", "&"))
    assert more.status_code == 200 and 'id="prev-page"' in more.text
    assert more.text.count('<section class="group card"') >= 1


def test_the_audit_log_reads_as_sentences_and_times_are_vietnam_time(app):
    admin = logged_in(app, *ADMIN)
    assert admin.post("/console/users", {"email": "moi@bhxh.example.vn", "role": "staff",
                                         "password": "mat-khau-moi-123"}).status_code == 303
    log = plain(admin.get("/console/audit"))
    assert f"{ADMIN[0]} đã tạo người dùng moi@bhxh.example.vn (vai trò cán bộ, mọi tỉnh)." in log
    assert re.search(r"Dòng lệnh trên máy chủ( \(tài khoản [^)]*\))? đã tạo người dùng " + re.escape(STAFF[0]), log), log
    assert "user.create" not in log and "{" not in log and "cli:" not in log
    # "Đăng nhập gần nhất" in Vietnam time, like every other time
    with db_session(app) as session:
        user = session.exec(select(models.User).where(models.User.email == ADMIN[0])).one()
        at = user.last_login_at
    expected = (at.replace(tzinfo=None) + dt.timedelta(hours=7)).strftime("%H:%M %d/%m/%Y")
    users = plain(admin.get("/console/users"))
    assert expected in users and "UTC" not in users


def test_console_errors_are_vietnamese_pages_and_the_favicon_is_served(app):
    staff = logged_in(app, *STAFF)
    for path, status, words in (("/console/khong-co", 404, "Không có trang này"),
                                ("/console/conversations/abc", 422, "số cuộc trò chuyện phải là một số"),
                                ("/console/conversations/1/reply", 405, "Không mở trực tiếp được")):
        r = staff.get(path)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html"), path
        assert words in text_of(r) and "detail" not in r.text and 'href="/console/inbox"' in r.text, path
    # the JSON API and the rest of the service keep their JSON
    assert staff.get("/console/api/khong-co").headers["content-type"].startswith("application/json")
    assert httpx.get(app.url + "/api/v1/khong-co").headers["content-type"].startswith("application/json")
    icon = staff.get("/console/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/console/static/favicon.svg"' in staff.get("/console/inbox").text
