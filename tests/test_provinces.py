"""Several provinces on one deployment: webhooks routed by the OA or page they were sent to and
verified with that province's key, replies through that province's credentials with its office
details and its own parameter values, and staff who see only their province. The app runs under
uvicorn with the fake platforms serving two Zalo OAs and two Facebook Pages."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import sys
import time

import httpx
import pytest
from sqlmodel import Session, select

from app import database, models
from tests.conftest import ROOT, AppServer
from tests.console_support import ConsoleClient

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

TOKEN = "test-admin-token"
# province hn: the fake's first OA and Page; province dn: a second OA and Page of the same apps
DN_OA, DN_OA_SECRET = "1000000000000000002", "dn_oa_secret_key"
DN_PAGE, DN_PAGE_TOKEN = "200000000000002", "dn-page-token"
SAMPLE_BASIS = "Giá trị mẫu để kiểm thử, không phải nghị quyết thật"

PROVINCES_YAML = f"""\
provinces:
  - code: hn
    name: BHXH tỉnh mẫu A (dữ liệu mẫu)
    zalo_oa_id: "{fp.ZALO_OA_ID}"
    fb_page_id: "{fp.FB_PAGE_ID}"
    office: {{hours: "giờ mẫu A", hotline: "1900 0001 (số mẫu)"}}
  - code: dn
    name: BHXH tỉnh mẫu B (dữ liệu mẫu)
    zalo_oa_id: "{DN_OA}"
    fb_page_id: "{DN_PAGE}"
    office: {{hours: "giờ mẫu B", hotline: "1900 0002 (số mẫu)"}}
"""
# sample top-ups for province dn only, marked unverified: never a real figure
TOPUPS_YAML = f"""
provinces:
  dn:
    vtn_ho_tro_dia_phuong:
      - {{value: 0.10, from: 2025-07-01, legal_basis: "{SAMPLE_BASIS}", verified: false, source: tests}}
    bhyt_hgd_ho_tro_dia_phuong:
      - {{value: 0.20, from: 2025-07-01, legal_basis: "{SAMPLE_BASIS}", verified: false, source: tests}}
"""


def province_env(tmp_path, fake_url: str, **extra: str) -> dict[str, str]:
    kb = tmp_path / "kb"
    if not kb.exists():
        shutil.copytree(ROOT / "knowledge_base", kb)
        with (kb / "parameters.yaml").open("a", encoding="utf-8") as fh:
            fh.write(TOPUPS_YAML)
    (tmp_path / "provinces.yaml").write_text(PROVINCES_YAML, encoding="utf-8")
    env = dict(
        ADMIN_API_TOKEN=TOKEN, PROVINCES_FILE=str(tmp_path / "provinces.yaml"), KNOWLEDGE_BASE_DIR=str(kb),
        ZALO_APP_ID=fp.ZALO_APP_ID, ZALO_APP_SECRET=fp.ZALO_APP_SECRET,  # one Zalo app, two OAs
        FB_APP_ID=fp.FB_APP_ID, FB_APP_SECRET=fp.FB_APP_SECRET, FB_VERIFY_TOKEN="verify-me",  # one Meta app, two Pages
        PROVINCE__HN__ZALO_OA_SECRET_KEY=fp.ZALO_OA_SECRET_KEY, PROVINCE__HN__ZALO_ACCESS_TOKEN="zalo-at-0",
        PROVINCE__HN__ZALO_REFRESH_TOKEN="zalo-rt-0", PROVINCE__HN__FB_PAGE_ACCESS_TOKEN=fp.FB_PAGE_ACCESS_TOKEN,
        # dn's access token is stale: its first send gets -216 and refreshes dn's own pair
        PROVINCE__DN__ZALO_OA_SECRET_KEY=DN_OA_SECRET, PROVINCE__DN__ZALO_ACCESS_TOKEN="dn-at-stale",
        PROVINCE__DN__ZALO_REFRESH_TOKEN="dn-rt-0", PROVINCE__DN__FB_PAGE_ACCESS_TOKEN=DN_PAGE_TOKEN,
        ZALO_API_BASE=fake_url, ZALO_OAUTH_BASE=fake_url, FB_GRAPH_BASE=fake_url, FB_GRAPH_VERSION=fp.FB_GRAPH_VERSION,
        HTTP_TIMEOUT_SECONDS="3",
    )
    env.update(extra)
    return env


@pytest.fixture
def fake2():
    config = fp.FakeConfig(zalo_rps=0, messenger_rps=0,
                           zalo_more_oas=[{"oa_id": DN_OA, "oa_secret_key": DN_OA_SECRET, "access_token": "dn-at-0",
                                           "refresh_token": "dn-rt-0"}],
                           fb_more_pages=[{"page_id": DN_PAGE, "page_access_token": DN_PAGE_TOKEN}])
    with fp.FakePlatformsServer(config) as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, fake2):
    server = AppServer(database_url, tmp_path / "app.log", **province_env(tmp_path, fake2.url)).start()
    httpx.post(fake2.url + "/_fake/config", json={"echo_zalo_to": server.url + "/webhooks/zalo",
                                                 "echo_messenger_to": server.url + "/webhooks/facebook"})
    yield server
    server.stop()


def sent(fake, recipient: str) -> list[dict]:
    return httpx.get(fake.url + "/_fake/sent", params={"recipient": recipient}).json()


def wait_for(fn, timeout: float = 20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    return fn()


def outbox_states(app) -> set[tuple[str, str]]:
    with db(app) as session:
        return {(o.province, o.status) for o in session.exec(select(models.OutboxMessage))}


def text_of(messages: list[dict]) -> str:
    return "\n".join(m["text"] or "" for m in messages)


def post_zalo(app, body: dict, secret: str) -> httpx.Response:
    raw, headers = fp.zalo_signed(body, oa_secret_key=secret)
    return httpx.post(app.url + "/webhooks/zalo", content=raw, headers=headers)


def post_fb(app, body: dict) -> httpx.Response:
    raw, headers = fp.messenger_signed(body)
    return httpx.post(app.url + "/webhooks/facebook", content=raw, headers=headers)


def db(app) -> Session:
    return Session(database.make_engine(app.database_url))


@pytest.mark.e2e
def test_each_province_is_answered_through_its_own_oa_or_page_with_its_office_and_top_ups(app, fake2):
    # Zalo, to province hn's OA: hn's token, national figures, hn's office in the handoff reply
    question = "bhyt hộ gia đình mua cho 1 người bao nhiêu tiền"
    assert post_zalo(app, fp.zalo_user_text(question, "u-hn", msg_id="same-id"), fp.ZALO_OA_SECRET_KEY).status_code == 200
    hn = wait_for(lambda: sent(fake2, "u-hn"))
    assert {m["account"] for m in hn} == {fp.ZALO_OA_ID}
    assert "1.366.200 đồng" in text_of(hn) and "(*)" not in text_of(hn)
    # Messenger, to province dn's Page: dn's page token, dn's own (sample, unverified) top-up
    assert post_fb(app, fp.messenger_text(question, "p-dn", page_id=DN_PAGE)).status_code == 200
    dn = wait_for(lambda: sent(fake2, "p-dn"))
    assert {m["account"] for m in dn} == {DN_PAGE}
    body = text_of(dn)
    assert "1.092.960 đồng (*)" in body and "20% (*)" in body and "1.366.200" not in body
    assert "1900 0002 (số mẫu)" in body  # the unverified-figure note gives dn's hotline
    # the same platform message id on the other province's OA is another message, not a redelivery
    assert post_zalo(app, fp.zalo_user_text("bhxh tự nguyện hộ nghèo được hỗ trợ bao nhiêu", "u-dn",
                                            msg_id="same-id", oa_id=DN_OA), DN_OA_SECRET).status_code == 200
    dn_zalo = wait_for(lambda: sent(fake2, "u-dn"))
    assert {m["account"] for m in dn_zalo} == {DN_OA}
    assert "địa phương hỗ trợ thêm 10% (*)" in text_of(dn_zalo)
    # dn's OA refreshed its own token pair (hn's was never touched) and it is stored under its own key
    tokens = httpx.get(fake2.url + "/_fake/tokens").json()
    assert tokens["more_oas"][DN_OA]["access_token"] == "zalo-at-" + DN_OA + "-1"
    assert tokens["zalo_refresh_token"] == "zalo-rt-0" and tokens["burnt_refresh_token_reuses"] == 0
    # office details in fixed replies: a handoff on each side names its own office
    post_fb(app, fp.messenger_text("cho tôi gặp cán bộ", "p-dn", page_id=DN_PAGE))
    post_zalo(app, fp.zalo_user_text("cho tôi gặp cán bộ", "u-hn"), fp.ZALO_OA_SECRET_KEY)
    dn_handoff = wait_for(lambda: [m for m in sent(fake2, "p-dn") if "cán bộ" in (m["text"] or "")])
    hn_handoff = wait_for(lambda: [m for m in sent(fake2, "u-hn") if "chuyển cuộc trò chuyện" in (m["text"] or "")])
    assert "tỉnh mẫu B" in dn_handoff[-1]["text"] and "giờ mẫu B" in dn_handoff[-1]["text"]
    assert "tỉnh mẫu A" in hn_handoff[-1]["text"] and "1900 0001 (số mẫu)" in hn_handoff[-1]["text"]
    with db(app) as session:
        convs = {c.external_id: c.province for c in session.exec(select(models.Conversation))}
        assert convs == {"u-hn": "hn", "p-dn": "dn", "u-dn": "dn"}
        events = session.exec(select(models.InboundRecord).where(models.InboundRecord.platform_message_id == "same-id")
                              .order_by(models.InboundRecord.id)).all()
        assert [(e.province, e.dedupe_key) for e in events] == [("hn", "hn/same-id"), ("dn", "dn/same-id")]
        # a reply reaches the platform a moment before its outbox row is marked sent: wait for the rows
        assert wait_for(lambda: outbox_states(app) == {("hn", "sent"), ("dn", "sent")}), outbox_states(app)
        assert {e.province for e in session.exec(select(models.Escalation))} == {"hn", "dn"}
        assert session.get(models.ChannelToken, "zalo:dn").access_token == "zalo-at-" + DN_OA + "-1"


@pytest.mark.e2e
def test_an_event_is_verified_with_its_own_provinces_key(app, fake2):
    # province hn's key on an event for dn's OA: refused, nothing stored
    forged = fp.zalo_user_text("xin chào", "u-x", oa_id=DN_OA)
    assert post_zalo(app, forged, fp.ZALO_OA_SECRET_KEY).status_code == 401
    # an OA or page no province declares: acknowledged (so the platform does not retry it for hours and
    # then disable the app's webhook for every province), logged, not stored
    stranger = post_zalo(app, fp.zalo_user_text("xin chào", "u-y", oa_id="999"), "whatever")
    assert stranger.status_code == 200 and stranger.json()["ignored"] == "unknown account"
    page = post_fb(app, fp.messenger_text("xin chào", "p-y", page_id="999"))
    assert page.status_code == 200 and page.json()["new"] == 0
    with db(app) as session:
        assert session.exec(select(models.InboundRecord)).all() == []
    assert "which no province declares" in app.log_path.read_text()
    # the token API is not a province's: it answers with the national values and office.yaml
    asked = httpx.post(app.url + "/api/v1/ask", json={"text": "bhyt hộ gia đình mua cho 1 người bao nhiêu tiền"},
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert asked.status_code == 200 and "1.366.200 đồng" in asked.json()["reply"]
    time.sleep(0.5)
    assert sent(fake2, "u-x") == [] and sent(fake2, "u-y") == [] and sent(fake2, "p-y") == []


@pytest.mark.e2e
def test_staff_see_and_answer_only_their_province(app, fake2, cli, tmp_path):
    env = province_env(tmp_path, fake2.url)
    for email, role, province in (("a@hn.example.vn", "staff", "hn"), ("b@dn.example.vn", "staff", "dn"),
                                  ("boss@bo.example.vn", "admin", None), ("qt@dn.example.vn", "admin", "dn")):
        args = ["users", "add", "--role", role, email] + (["--province", province] if province else [])
        cli(*args, env=env, input="mat-khau-dai-du-12\n")
    bad = cli("users", "add", "--province", "xx", "c@x.example.vn", env=env, input="mat-khau-dai-du-12\n", check=False)
    assert bad.returncode == 1 and "unknown province 'xx'" in bad.stderr
    # one escalation in each province
    post_zalo(app, fp.zalo_user_text("cho tôi gặp cán bộ", "u-hn"), fp.ZALO_OA_SECRET_KEY)
    post_fb(app, fp.messenger_text("cho tôi gặp cán bộ", "p-dn", page_id=DN_PAGE))
    wait_for(lambda: sent(fake2, "u-hn") and sent(fake2, "p-dn"))
    with db(app) as session:
        ids = {c.province: c.id for c in session.exec(select(models.Conversation))}
    hn_staff, dn_staff, boss, dn_admin = (ConsoleClient(app.url) for _ in range(4))
    try:
        for client, email in ((hn_staff, "a@hn.example.vn"), (dn_staff, "b@dn.example.vn"),
                              (boss, "boss@bo.example.vn"), (dn_admin, "qt@dn.example.vn")):
            assert client.login(email, "mat-khau-dai-du-12").status_code == 303
        listed = {i["conversation_id"] for i in wait_for(lambda: hn_staff.get(
            "/console/api/escalations", headers={"Accept": "application/json"}).json())}
        assert listed == {ids["hn"]}
        assert {i["province"] for i in boss.get("/console/api/escalations").json()} == {"hn", "dn"}
        only_dn = boss.get("/console/api/escalations", params={"province": "dn"}).json()
        assert {i["conversation_id"] for i in only_dn} == {ids["dn"]}
        assert 'name="province"' in boss.get("/console/inbox").text  # the filter, for all-province users
        assert 'name="province"' not in hn_staff.get("/console/inbox").text
        # another province's conversation: not shown, not answerable, not even confirmed to exist
        assert hn_staff.get(f"/console/conversations/{ids['dn']}").status_code == 404
        reply = hn_staff.post(f"/console/conversations/{ids['dn']}/reply", {"text": "Chào bạn"},
                              headers={"Accept": "application/json"})
        assert reply.status_code == 404
        for action in ("assign", "note", "resolve", "release"):
            assert hn_staff.post(f"/console/conversations/{ids['dn']}/{action}", {"text": "x"}).status_code == 404
        assert hn_staff.get(f"/console/conversations/{ids['dn']}?canned=vtn-muc-dong").status_code == 404
        time.sleep(0.5)
        assert not [m for m in sent(fake2, "p-dn") if m["text"] == "Chào bạn"]
        # their own province's conversation works as before, through dn's page
        ok = dn_staff.post(f"/console/conversations/{ids['dn']}/reply", {"text": "Cán bộ tỉnh B xin trả lời"},
                           headers={"Accept": "application/json"})
        assert ok.status_code == 200
        staff_reply = wait_for(lambda: [m for m in sent(fake2, "p-dn") if m["text"] == "Cán bộ tỉnh B xin trả lời"])
        assert staff_reply[0]["account"] == DN_PAGE
        # a province's admin: its dashboard and parameters, not the shared knowledge base or users
        assert dn_admin.get("/console/dashboard").status_code == 200
        assert dn_admin.get("/console/kb").status_code == 403
        assert dn_admin.get("/console/users").status_code == 403
        assert boss.get("/console/kb").status_code == 200
        page = dn_admin.get("/console/parameters").text
        assert "(tỉnh dn)" in page and "chỉ áp dụng cho công dân của BHXH tỉnh mẫu B" in page
        saved = dn_admin.post("/console/parameters", {
            "key": "vtn_ho_tro_dia_phuong", "value": "0,15", "effective_from": "2026-01-01",
            "legal_basis": SAMPLE_BASIS, "action": "save", "province": "hn"})  # the province field is ignored
        assert saved.status_code == 303, saved.text
        with db(app) as session:
            row = session.exec(select(models.ParameterValueRow).where(
                models.ParameterValueRow.key == "vtn_ho_tro_dia_phuong",
                models.ParameterValueRow.effective_from == dt.date(2026, 1, 1))).one()
            assert row.province == "dn" and row.verified is False
        assert "(tỉnh dn)" not in hn_staff.get("/console/inbox").text
        # an all-province admin gives a new user a province on the users page
        made = boss.post("/console/users", {"email": "moi@dn.example.vn", "role": "staff", "province": "dn",
                                            "password": "mat-khau-dai-du-12"})
        assert made.status_code == 303, made.text
        with db(app) as session:
            assert session.exec(select(models.User).where(models.User.email == "moi@dn.example.vn")).one().province == "dn"
    finally:
        for client in (hn_staff, dn_staff, boss, dn_admin):
            client.close()


def test_provinces_file_errors_are_clear(cli, tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "provinces:\n"
        "  - {code: hn, name: A, zalo_oa_id: '1'}\n"
        "  - {code: dn, name: B, zalo_oa_id: '1', fb_page_id: '2'}\n"
        "  - {code: DEFAULT, name: C}\n", encoding="utf-8")
    result = cli("kb", "validate", env={"PROVINCES_FILE": str(tmp_path / "bad.yaml"),
                                        "PROVINCE__HN__ZALO_OA_SECRET_KEY": "k", "PROVINCE__XX__FB_APP_SECRET": "s"},
                 check=False)
    assert result.returncode == 1
    err = result.stderr
    assert "province dn.zalo_oa_id: 1 is also the zalo_oa_id of province hn" in err
    assert "PROVINCE__HN__ZALO_ACCESS_TOKEN" in err and "PROVINCE__DN__FB_PAGE_ACCESS_TOKEN" in err
    assert "provinces[2].code: 'DEFAULT'" in err
    assert "PROVINCE__XX__... is set but province 'xx' is not declared" in err
    # province values in parameters.yaml for a province nobody declared
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb)
    with (kb / "parameters.yaml").open("a", encoding="utf-8") as fh:
        fh.write(TOPUPS_YAML)
    result = cli("kb", "validate", "--dir", str(kb), check=False)
    assert result.returncode == 1 and "province 'dn' is not declared" in result.stderr
    # the service refuses to start on a bad provinces file, saying why
    result = cli("ask", "xin chào", env={"PROVINCES_FILE": str(tmp_path / "bad.yaml")}, check=False)
    assert result.returncode != 0 and "is also the zalo_oa_id of province hn" in result.stderr


def test_migration_0004_keeps_rows_and_puts_them_in_the_default_province(cli):
    cli("db", "upgrade", "0003")
    engine = database.make_engine(cli.database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO conversation (channel, external_id, created_at, updated_at) "
                             "VALUES ('zalo', 'old-citizen', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
        conn.exec_driver_sql("INSERT INTO parameter_value (key, label, unit, value, effective_from, legal_basis, "
                             "verified, source, note) VALUES ('luong_co_so', 'L', 'dong', '2340000', '2024-07-01', "
                             "'NĐ 73/2024', true, '', '')")
    cli("db", "upgrade")
    with Session(engine) as session:
        conv = session.exec(select(models.Conversation)).one()
        assert conv.province == "default"
        param = session.exec(select(models.ParameterValueRow)).one()
        assert (param.key, param.province, param.value) == ("luong_co_so", "", "2340000")
        # the new key allows a province's own value on the same day as the national one
        session.add(models.ParameterValueRow(key="luong_co_so", label="L", unit="dong", value="1",
                                             effective_from=param.effective_from, legal_basis="x", province="hn"))
        session.commit()
    assert cli("db", "check").returncode == 0


@pytest.mark.e2e
def test_an_all_province_admin_changes_a_users_province_and_their_session_follows(app, fake2, cli, tmp_path):
    env = province_env(tmp_path, fake2.url)
    for email, role, province in (("a@hn.example.vn", "staff", "hn"), ("boss@bo.example.vn", "admin", None),
                                  ("qt@dn.example.vn", "admin", "dn")):
        cli(*(["users", "add", "--role", role, email] + (["--province", province] if province else [])),
            env=env, input="mat-khau-dai-du-12\n")
    post_zalo(app, fp.zalo_user_text("cho tôi gặp cán bộ", "u-hn"), fp.ZALO_OA_SECRET_KEY)
    post_fb(app, fp.messenger_text("cho tôi gặp cán bộ", "p-dn", page_id=DN_PAGE))
    wait_for(lambda: sent(fake2, "u-hn") and sent(fake2, "p-dn"))
    with db(app) as session:
        ids = {c.province: c.id for c in session.exec(select(models.Conversation))}

    def province_of(email: str):
        with db(app) as session:
            return session.exec(select(models.User).where(models.User.email == email)).one().province

    staff, boss, dn_admin = (ConsoleClient(app.url) for _ in range(3))
    try:
        for client, email in ((staff, "a@hn.example.vn"), (boss, "boss@bo.example.vn"), (dn_admin, "qt@dn.example.vn")):
            assert client.login(email, "mat-khau-dai-du-12").status_code == 303
        users = {u["email"]: u for u in boss.get("/console/api/users").json()}
        assert users["a@hn.example.vn"]["province"] == "hn" and users["boss@bo.example.vn"]["province"] is None
        target = f"/console/users/{users['a@hn.example.vn']['id']}"
        page = boss.get("/console/users").text
        assert 'name="province" aria-label="Tỉnh"' in page
        assert '<option value="hn" selected>BHXH tỉnh mẫu A (dữ liệu mẫu)</option>' in page
        wait_for(lambda: staff.get("/console/api/escalations").json())
        assert staff.get(f"/console/conversations/{ids['hn']}").status_code == 200
        assert staff.get(f"/console/conversations/{ids['dn']}").status_code == 404

        # a province's admin may not change anyone's province; an unknown code changes nothing
        refused = dn_admin.post(target, {"role": "staff", "active": "1", "province": "dn"})
        assert refused.status_code == 403 and "cấp toàn quốc" in refused.text
        bad = boss.post(target, {"role": "staff", "active": "1", "province": "xx"})
        assert bad.status_code == 400 and "Không có tỉnh &#39;xx&#39; trong danh sách tỉnh đã cấu hình (hn, dn)" in bad.text
        assert province_of("a@hn.example.vn") == "hn"
        # a form without the field (another change) leaves the province as it is
        assert boss.post(target, {"role": "staff", "active": "1"}).status_code == 303
        assert province_of("a@hn.example.vn") == "hn"

        # hn -> dn: the staff member's open session sees dn's conversations at once, and no longer hn's
        moved = boss.post(target, {"role": "staff", "active": "1", "province": "dn"})
        assert moved.status_code == 303, moved.text
        assert province_of("a@hn.example.vn") == "dn"
        assert staff.get(f"/console/conversations/{ids['dn']}").status_code == 200
        assert staff.get(f"/console/conversations/{ids['hn']}").status_code == 404
        assert {i["province"] for i in staff.get("/console/api/escalations").json()} == {"dn"}
        # dn -> every province (the empty choice)
        assert boss.post(target, {"role": "staff", "active": "1", "province": ""}).status_code == 303
        assert province_of("a@hn.example.vn") is None
        assert {i["province"] for i in staff.get("/console/api/escalations").json()} == {"hn", "dn"}
        assert staff.get(f"/console/conversations/{ids['hn']}").status_code == 200
        # an admin cannot narrow their own account (they would lock themselves out of this page)
        me = f"/console/users/{users['boss@bo.example.vn']['id']}"
        own = boss.post(me, {"role": "admin", "active": "1", "province": "hn"})
        assert own.status_code == 400 and "Không thể tự đổi tỉnh" in own.text
        assert province_of("boss@bo.example.vn") is None

        # the command line: the same rules, written to the same audit log
        ok = cli("users", "set-province", "a@hn.example.vn", "hn", env=env)
        assert "a@hn.example.vn now sees province hn" in ok.stdout
        assert staff.get(f"/console/conversations/{ids['dn']}").status_code == 404
        unknown = cli("users", "set-province", "a@hn.example.vn", "xx", env=env, check=False)
        assert unknown.returncode == 1 and "unknown province 'xx'" in unknown.stderr
        assert province_of("a@hn.example.vn") == "hn"
        nobody = cli("users", "set-province", "ai@x.example.vn", "hn", env=env, check=False)
        assert nobody.returncode == 1 and "Không có người dùng ai@x.example.vn" in nobody.stderr
        everywhere = cli("users", "set-province", "a@hn.example.vn", "--all", env=env)
        assert "now sees every province" in everywhere.stdout
        assert province_of("a@hn.example.vn") is None
        assert "already sees every province" in cli("users", "set-province", "a@hn.example.vn", "--all", env=env).stdout

        log = [r for r in boss.get("/console/api/audit").json()
               if r["action"] == "user.update" and r["target"] == "a@hn.example.vn" and "province" in r["changes"]]
        assert [(r["actor"].split(":")[0], r["changes"]["province"]) for r in reversed(log)] == [
            ("boss@bo.example.vn", ["hn", "dn"]), ("boss@bo.example.vn", ["dn", None]), ("cli", [None, "hn"]),
            ("cli", ["hn", None])]
    finally:
        for client in (staff, boss, dn_admin):
            client.close()


def preview_of(page: str) -> str:
    return html.unescape(re.search(r'<div class="preview" id="preview">(.*?)</div>', page, re.S).group(1))


@pytest.mark.e2e
def test_the_editor_preview_and_the_unanswered_page_render_for_a_province(app, fake2, cli, tmp_path):
    env = province_env(tmp_path, fake2.url)
    for email, role, province in (("boss@bo.example.vn", "admin", None), ("qt@dn.example.vn", "admin", "dn")):
        cli(*(["users", "add", "--role", role, email] + (["--province", province] if province else [])),
            env=env, input="mat-khau-dai-du-12\n")
    boss, dn_admin = ConsoleClient(app.url), ConsoleClient(app.url)
    try:
        for client, email in ((boss, "boss@bo.example.vn"), (dn_admin, "qt@dn.example.vn")):
            assert client.login(email, "mat-khau-dai-du-12").status_code == 303

        # the editor: national by default, with a province selector for an all-province admin
        national = boss.get("/console/kb/hgd-muc-dong")
        assert national.status_code == 200
        assert 'name="province" form="kb-form"' in national.text and '<option value="dn" >' in national.text
        text = preview_of(national.text)
        assert "1.366.200 đồng" in text and "1.092.960" not in text and "(*)" not in text and "số mẫu" not in text
        # province dn: its (sample, unverified) top-up, formatted the Vietnamese way, and its hotline
        dn = boss.get("/console/kb/hgd-muc-dong", params={"province": "dn"})
        assert dn.status_code == 200 and '<option value="dn" selected>' in dn.text
        text = preview_of(dn.text)
        assert "1.092.960 đồng (*)" in text and "20% (*)" in text and "1900 0002 (số mẫu)" in text
        assert "1.366.200" not in text
        # province hn has no top-up: the national amount, with hn's office in an entry that names it
        contact_hn = preview_of(boss.get("/console/kb/chung-lien-he", params={"province": "hn"}).text)
        assert "1900 0001 (số mẫu)" in contact_hn and "tỉnh mẫu A" in contact_hn and "1900 9068" not in contact_hn
        contact = preview_of(boss.get("/console/kb/chung-lien-he").text)
        assert "1900 9068" in contact and "số mẫu" not in contact
        unknown = boss.get("/console/kb/hgd-muc-dong", params={"province": "xx"})
        assert unknown.status_code == 400 and "Không có tỉnh 'xx'" in html.unescape(unknown.text)

        # the live preview while typing (JSON) and the "Xem trước" button take the same choice
        form = {name: html.unescape(value) for name, value in re.findall(
            r'<input type="text" name="(\w+)" value="([^"]*)"', national.text)}
        form.update({name: html.unescape(value) for name, value in re.findall(
            r'<textarea name="(\w+)" rows="\d+"[^>]*>(.*?)</textarea>', national.text, re.S)})
        form.update({name: "1" for name in re.findall(  # related entries: checkboxes by title
            r'<input type="checkbox" name="(related:[\w-]+)" value="1" checked>', national.text)})
        form.update(topic="BHYT hộ gia đình", answer=form["answer"] + "\nGọi tổng đài BHXH Việt Nam {{ office.hotline }}.")
        live = boss.post("/console/api/kb/hgd-muc-dong/preview", {**form, "province": "dn"},
                         headers={"Accept": "application/json"})
        assert live.status_code == 200 and live.json()["errors"] == {}
        assert "1.092.960 đồng (*)" in live.json()["preview"]
        assert "Gọi tổng đài BHXH Việt Nam 1900 0002 (số mẫu)." in live.json()["preview"]
        plain = boss.post("/console/api/kb/hgd-muc-dong/preview", form, headers={"Accept": "application/json"})
        assert "1.366.200 đồng" in plain.json()["preview"] and "Gọi tổng đài BHXH Việt Nam 1900 9068." in plain.json()["preview"]
        button = boss.post("/console/kb/hgd-muc-dong", {**form, "province": "dn", "action": "preview"})
        assert button.status_code == 200 and "Gọi tổng đài BHXH Việt Nam 1900 0002 (số mẫu)." in preview_of(button.text)
        saved = boss.post("/console/kb/hgd-muc-dong", {**form, "province": "dn", "action": "save"})
        assert saved.status_code == 303 and "province=dn" in saved.headers["location"]  # the choice is kept
        assert "Gọi tổng đài BHXH Việt Nam 1900 0002 (số mẫu)." in preview_of(boss.get(saved.headers["location"]).text)

        # the unanswered page: an answer of hgd-muc-dong rated "Chưa đúng" by a citizen of dn
        post_fb(app, fp.messenger_text("bhyt hộ gia đình mua cho 1 người bao nhiêu tiền", "p-dn", page_id=DN_PAGE))
        wait_for(lambda: sent(fake2, "p-dn"))
        post_fb(app, fp.messenger_text("Chưa đúng", "p-dn", page_id=DN_PAGE))
        wait_for(lambda: [m for m in sent(fake2, "p-dn") if "góp ý" in (m["text"] or "")])
        page = boss.get("/console/unanswered")
        assert page.status_code == 200 and 'data-count="1"' in page.text
        text = html.unescape(page.text)
        assert "(giá trị toàn quốc)" in text and "1.366.200 đồng" in text and "1.092.960" not in text
        assert '<select name="province">' in page.text
        dn_page = boss.get("/console/unanswered", params={"province": "dn"})
        text = html.unescape(dn_page.text)
        assert "cho công dân của BHXH tỉnh mẫu B (dữ liệu mẫu)" in text
        assert "1.092.960 đồng (*)" in text and "1900 0002 (số mẫu)" in text and "1.366.200" not in text
        assert boss.get("/console/unanswered", params={"province": "xx"}).status_code == 400

        # both pages stay shared by every province: a province's admin is still refused
        assert dn_admin.get("/console/kb/hgd-muc-dong").status_code == 403
        assert dn_admin.get("/console/unanswered").status_code == 403
    finally:
        boss.close()
        dn_admin.close()
