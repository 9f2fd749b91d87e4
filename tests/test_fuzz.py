"""Property-based and fuzz tests against the running service (SQLite and PostgreSQL):
hypothesis on the webhooks (random and malformed bodies, valid and invalid signatures) and
schemathesis on every operation of the app's OpenAPI schema. Never a 500; nothing stored
for an invalid signature; the workers keep answering."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlmodel import Session, select

from app import database, models
from tests.conftest import AppServer
from tests.test_channels import app_env, fp, post_zalo, sent, wait_for
from webhooks.base import EventKind

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

TOKEN = "test-admin-token"
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
                derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KINDS = set(EventKind)


@pytest.fixture
def fake():
    with fp.FakePlatformsServer(fp.FakeConfig(zalo_rps=0, messenger_rps=0)) as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, fake):
    server = AppServer(database_url, tmp_path / "app.log", API_RATE_PER_MINUTE="0", **app_env(fake.url)).start()
    server.db = database.make_engine(database_url)
    yield server
    server.db.dispose()
    server.stop()


def stored(app) -> int:
    with app.db.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM inbound_event")).scalar()


# --- strategies --------------------------------------------------------------------------

# text with every code point, lone surrogates and NUL included (valid JSON escapes, not storable as is)
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=50)
scalars = st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.text(max_size=50) | any_text
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                                                inner, max_size=4),
                           max_leaves=12)
ids = st.one_of(st.text(min_size=1, max_size=30), st.integers(0, 10**20).map(str), st.integers(), json_values,
                st.text(min_size=100, max_size=300))
texts = st.one_of(st.text(max_size=300), any_text, st.just(""), st.text(alphabet="0123456789 .", max_size=30), json_values)

zalo_events = st.fixed_dictionaries(
    {"app_id": st.one_of(st.just(fp.ZALO_APP_ID), ids), "sender": st.one_of(st.fixed_dictionaries({"id": ids}), json_values),
     "recipient": st.one_of(st.fixed_dictionaries({"id": st.just(fp.ZALO_OA_ID) | ids}), json_values),
     "event_name": st.sampled_from(["user_send_text", "user_send_image", "follow", "unfollow", "oa_send_text",
                                    "user_send_sticker", "user_seen_message", "anything"]) | st.text(max_size=20),
     "message": st.one_of(st.fixed_dictionaries({"text": texts, "msg_id": ids}), json_values),
     "timestamp": st.one_of(st.integers(0, 2**53).map(str), ids)},
    optional={"user_id_by_app": ids, "follower": json_values})

messenger_messaging = st.fixed_dictionaries(
    {"sender": st.one_of(st.fixed_dictionaries({"id": ids}), json_values),
     "recipient": st.one_of(st.fixed_dictionaries({"id": st.just(fp.FB_PAGE_ID) | ids}), json_values)},
    optional={"timestamp": st.integers() | ids,
              "message": st.one_of(st.fixed_dictionaries(
                  {"mid": ids, "text": texts},
                  optional={"is_echo": st.booleans() | json_values, "app_id": ids,
                            "quick_reply": st.fixed_dictionaries({"payload": texts}),
                            "attachments": st.lists(json_values, max_size=2)}), json_values),
              "postback": st.one_of(st.fixed_dictionaries({"payload": texts, "title": texts}), json_values),
              "read": json_values, "delivery": json_values})
messenger_events = st.fixed_dictionaries(
    {"object": st.just("page") | st.text(max_size=10),
     "entry": st.one_of(st.lists(st.fixed_dictionaries({"id": st.just(fp.FB_PAGE_ID) | ids, "time": st.integers() | ids,
                                                        "messaging": st.lists(messenger_messaging, max_size=3) | json_values}),
                                 max_size=3), json_values)})


def encode(value, ascii_only: bool) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


bodies_zalo = st.one_of(zalo_events.map(lambda v: encode(v, False)), json_values.map(lambda v: encode(v, False)),
                        st.binary(max_size=500))
bodies_messenger = st.one_of(messenger_events.map(lambda v: encode(v, True)), json_values.map(lambda v: encode(v, True)),
                             st.binary(max_size=500))
signature_kinds = st.sampled_from(["valid", "missing", "wrong", "other_body", "garbage"])


def zalo_headers(raw: bytes, kind: str) -> dict[str, str]:
    ts = "1764000000000"
    if kind == "missing":
        return {"Content-Type": "application/json"}
    signed_raw = raw if kind in ("valid", "garbage") else raw + b" "
    sig = "mac=" + fp.zalo_signature(fp.ZALO_APP_ID, signed_raw, ts, fp.ZALO_OA_SECRET_KEY)
    if kind == "wrong":
        sig = "mac=" + "0" * 64
    if kind == "garbage":
        sig = "sha256=" + sig[::-1]
    # the timestamp header lets any JSON body carry a valid signature (the body's own timestamp is tried first)
    return {"Content-Type": "application/json", "X-ZEvent-Signature": sig, "X-ZEvent-Timestamp": ts}


def messenger_headers(raw: bytes, kind: str) -> dict[str, str]:
    if kind == "missing":
        return {"Content-Type": "application/json"}
    signed_raw = raw if kind in ("valid", "garbage") else raw + b" "
    sig = "sha256=" + fp.messenger_signature(fp.FB_APP_SECRET, signed_raw)
    if kind == "wrong":
        sig = "sha256=" + "0" * 64
    if kind == "garbage":
        sig = sig.upper() + "=="
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sig}


def is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def check_webhook(app, path: str, raw: bytes, headers: dict[str, str], valid: bool) -> None:
    before = stored(app)
    r = httpx.post(app.url + path, content=raw, headers=headers, timeout=30)
    assert r.status_code < 500, r.text
    if valid:
        assert r.status_code in (200, 400), (r.status_code, r.text)
    elif path == "/webhooks/zalo" and "x-zevent-signature" not in {k.lower() for k in headers} and raw.strip() in (b"", b"{}"):
        assert r.status_code == 200  # Zalo's unsigned URL check
    else:
        assert r.status_code == 401, (r.status_code, r.text)
    if r.status_code != 200:
        assert stored(app) == before  # nothing stored for a rejected body


def settle_and_check(app, fake) -> None:
    """Everything stored is well formed and gets processed; the workers still answer a citizen."""
    deadline = time.time() + 60
    with Session(app.db) as session:
        while time.time() < deadline and session.exec(select(models.InboundRecord).where(
                models.InboundRecord.status.in_(("pending", "working")))).first():
            time.sleep(0.2)
        rows = session.exec(select(models.InboundRecord)).all()
    for row in rows:
        assert row.channel in ("zalo", "messenger") and row.dedupe_key and row.kind in KINDS
        assert row.status == "done", (row.kind, row.text[:80], row.error)
    assert httpx.get(app.url + "/readyz").status_code == 200
    post_zalo(app, fp.zalo_user_text("bhxh tự nguyện là gì", "fuzz-final"))
    assert wait_for(lambda: sent(fake, "fuzz-final"), timeout=30)


def test_zalo_webhook_fuzz(app, fake):
    @FUZZ
    @given(raw=bodies_zalo, kind=signature_kinds)
    def run(raw, kind):
        # Zalo signs with the body's timestamp, so a body that is not JSON can never carry a valid signature
        check_webhook(app, "/webhooks/zalo", raw, zalo_headers(raw, kind), valid=kind == "valid" and is_json(raw))

    run()
    settle_and_check(app, fake)


def test_messenger_webhook_fuzz(app, fake):
    @FUZZ
    @given(raw=bodies_messenger, kind=signature_kinds)
    def run(raw, kind):
        check_webhook(app, "/webhooks/facebook", raw, messenger_headers(raw, kind), valid=kind == "valid")

    run()
    settle_and_check(app, fake)


# --- schemathesis: every operation of the OpenAPI schema --------------------------------


def test_openapi_operations_never_fail(app):
    schema = schemathesis.openapi.from_url(app.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /api/v1/ask", "POST /api/v1/conversations/{conversation_id}/replies",
        "POST /api/v1/conversations/{conversation_id}/release", "GET /healthz", "POST /webhooks/zalo",
        "POST /webhooks/facebook", "GET /webhooks/facebook"}
    for operation in operations:
        @FUZZ
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(base_url=app.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        run()
    assert httpx.get(app.url + "/readyz").status_code == 200
    asked = httpx.get(app.url + "/metrics").text
    calls = sum(float(line.rsplit(" ", 1)[1]) for line in asked.splitlines()
                if line.startswith('bhxh_http_requests_total{route="/api/v1/ask"'))
    assert calls >= 10  # the operations really were called, with many bodies


def test_hostile_bodies_and_texts_through_the_running_service(app, fake):
    """The cases the fuzzing found or could miss, through the real service: bodies nested past the JSON
    parser's recursion limit (401 for Zalo, which signs with the body's timestamp; 400 for Messenger after a
    valid signature), never a 500; a question with zero-width characters inside its words is answered like the
    plain one; whitespace and 4,000 repeated letters get a request to type the question."""
    nested = b"[" * 50_000
    assert check_status(app, "/webhooks/zalo", nested, zalo_headers(nested, "valid")) == 401
    assert check_status(app, "/webhooks/facebook", nested, messenger_headers(nested, "valid")) == 400
    plain = "bhxh tự nguyện là gì"
    hidden = "bhxh t\u200bự ngu\u200cyện l\u2060à gì"
    for user, text in [("fz-plain", plain), ("fz-hidden", hidden), ("fz-space", "   \n  "), ("fz-aaaa", "a" * 4000)]:
        assert post_zalo(app, fp.zalo_user_text(text, user)).status_code == 200
    replies = {u: wait_for(lambda u=u: sent(fake, u), timeout=60) for u in ("fz-plain", "fz-hidden", "fz-space", "fz-aaaa")}
    assert replies["fz-hidden"][0]["text"] == replies["fz-plain"][0]["text"]
    for user in ("fz-space", "fz-aaaa"):
        assert "gõ câu hỏi" in replies[user][0]["text"], replies[user]


def check_status(app, path: str, raw: bytes, headers: dict[str, str]) -> int:
    before = stored(app)
    r = httpx.post(app.url + path, content=raw, headers=headers, timeout=30)
    assert stored(app) == before  # nothing stored for a refused body
    return r.status_code
