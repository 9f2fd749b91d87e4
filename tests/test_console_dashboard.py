"""The admin dashboard over HTTP: counts per day and channel, outcome shares, time to the first
staff reply, topics, feedback, the CSV download and bad date ranges; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import pytest
from sqlmodel import Session, select

from app import database, models
from tests.conftest import AppServer
from tests.console_support import ADMIN, STAFF, ConsoleClient, add_default_users

pytestmark = pytest.mark.e2e

TOKEN = "test-admin-token"
VN = dt.timezone(dt.timedelta(hours=7))


def ask(server, text: str, conversation: str) -> dict:
    r = httpx.post(server.url + "/api/v1/ask", json={"text": text, "conversation_id": conversation},
                   headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert r.status_code == 200
    return r.json()


def test_dashboard_counts_charts_and_csv(database_url, tmp_path, cli):
    add_default_users(cli)
    server = AppServer(database_url, tmp_path / "app.log", ADMIN_API_TOKEN=TOKEN).start()
    try:
        assert ask(server, "bảo hiểm xã hội tự nguyện là gì, ai được tham gia", "d1")["outcome"] == "answered"
        assert ask(server, "bhxh tự nguyện đóng tối thiểu bao nhiêu 1 tháng", "d2")["outcome"] == "answered"
        assert ask(server, "cho tôi gặp nhân viên", "d3")["outcome"] == "handoff"
        db = database.make_engine(database_url)
        with Session(db) as session:
            conv_id = session.exec(select(models.Conversation.id).where(models.Conversation.external_id == "d3")).one()
            old_conv = session.exec(select(models.Conversation).where(models.Conversation.external_id == "d1")).one()
            # feedback and an older message, written directly: the channels' own tests cover how they arrive
            session.add(models.Feedback(conversation_id=old_conv.id, helpful=True))
            session.add(models.Feedback(conversation_id=old_conv.id, helpful=False))
            session.add(models.Message(conversation_id=old_conv.id, direction="in", author="citizen", text="cũ",
                                       outcome="clarify", created_at=models.utcnow() - dt.timedelta(days=3)))
            session.commit()
        db.dispose()

        staff = ConsoleClient(server.url)
        assert staff.login(*STAFF).status_code == 303
        assert staff.get("/console/dashboard").status_code == 403
        assert staff.get("/console/dashboard.csv").status_code == 403
        # these are test questions (/api/v1/ask): a reply has nobody to go to and is refused
        r = staff.http.post(f"/console/conversations/{conv_id}/reply", data={"text": "Cán bộ xin trả lời ạ."},
                            headers={"X-CSRF-Token": staff.csrf(), "Accept": "application/json"})
        assert r.status_code == 409 and "không có người nhận" in r.json()["detail"]
        with Session(db) as session:  # a staff message, for the first staff reply time
            session.add(models.Message(conversation_id=conv_id, direction="out", author="staff", text="Cán bộ trả lời."))
            session.commit()
        db.dispose()

        admin = ConsoleClient(server.url)
        assert admin.login(*ADMIN).status_code == 303
        today = dt.datetime.now(VN).date()
        # test questions are not citizens: left out unless asked for
        plain = admin.get("/console/dashboard", params={"from": today.isoformat(), "to": today.isoformat()})
        assert '<span class="n" id="total">0</span>' in plain.text
        page = admin.get("/console/dashboard", params={"from": today.isoformat(), "to": today.isoformat(), "tests": "1"})
        assert page.status_code == 200
        assert '<span class="n" id="total">3</span>' in page.text
        assert '<span class="n" id="feedback">1 / 1</span>' in page.text
        assert '<span class="n" id="unanswered">0</span>' in page.text
        assert 'id="median-first-reply">chưa có' not in page.text
        # the time charts twice (for a wide screen and a phone), the others as page text with drawn bars
        assert page.text.count('class="chart wide"') == 2 and page.text.count('class="chart narrow"') == 2
        assert page.text.count('<ul class="bars"') == 3 and "2 (67%)" in page.text and "Đã trả lời" in page.text
        assert f"Cuối ngày {today:%d/%m/%Y}: 1 yêu cầu còn mở." in page.text  # the handoff, answered but not resolved
        assert "BHXH tự nguyện" in page.text  # a top topic

        def csv_rows(first: dt.date) -> list[dict]:
            r = admin.get("/console/dashboard.csv", params={"from": first.isoformat(), "to": today.isoformat(), "tests": "1"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            assert "attachment" in r.headers["content-disposition"]
            return list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))

        rows = csv_rows(today)
        # headers and values in Vietnamese, dates as staff write them
        assert rows == [{"Ngày": f"{today:%d/%m/%Y}", "Kênh": "API", "Số tin nhắn của công dân": "3", "Đã trả lời": "2",
                         "Hỏi lại": "0", "Chuyển cán bộ": "0", "Gặp cán bộ": "1", "Chào hỏi": "0"}]
        week = csv_rows(today - dt.timedelta(days=6))
        assert len(week) == 7 and sum(int(r["Số tin nhắn của công dân"]) for r in week) == 4
        assert sum(int(r["Hỏi lại"]) for r in week) == 1

        bad = admin.get("/console/dashboard", params={"from": "2026-13-01"})
        assert bad.status_code == 400 and "Ngày không hợp lệ" in bad.text
        backwards = admin.get("/console/dashboard.csv", params={"from": "2026-11-20", "to": "2026-11-01"})
        assert backwards.status_code == 400 and "Ngày bắt đầu phải trước" in backwards.text
    finally:
        server.stop()
