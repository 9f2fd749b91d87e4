"""Issue 13's parts 2 (delivery state), 3 (the bot's guess at hand) and 6 (plain Vietnamese) over HTTP,
against the real service under uvicorn, on SQLite and PostgreSQL. Citizens write through the real webhooks
of the fake Zalo platform; a failed send is a failure injected in the fake platform (/_fake/fail)."""

from __future__ import annotations

import re
import sys

import httpx
import pytest
from sqlmodel import delete, select

from app import models
from tests.conftest import ROOT, AppServer
from tests.console_support import STAFF, add_default_users
from tests.test_channels import app_env, db_session, post_zalo, sent, wait_for
from tests.test_console_safety import escalations, handoff, logged_in, text_of

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402


@pytest.fixture
def platforms():
    with fp.FakePlatformsServer(fp.FakeConfig(zalo_rps=0, messenger_rps=0)) as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, platforms, cli):
    add_default_users(cli)
    server = AppServer(database_url, tmp_path / "app.log", **app_env(platforms.url)).start()
    httpx.post(platforms.url + "/_fake/config", json={"echo_zalo_to": server.url + "/webhooks/zalo"})
    yield server
    server.stop()


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
    assert "Zalo: người dùng bị khoá hoặc không hoạt động quá 45 ngày (mã lỗi -227)." in failed
    assert "Gửi lại" in failed and "banned" not in failed  # Vietnamese, never the platform's own words
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
    assert "Không gửi được · Zalo: máy chủ của nền tảng báo lỗi HTTP 503 (mã lỗi http_503)." in page
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
