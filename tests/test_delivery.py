"""The outbox in process, on a controllable clock, against the fake platforms (issue 14 items 1, 2, 3, 5):
outages of hours, messaging windows, no head-of-line blocking, claims taken back from a slow worker.

Nothing here waits for real time to pass: the clock is moved by the test, the fake platform holds a
call until the test releases it, and a worker is stopped at an injection point until the test lets it go.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading

import httpx
import pytest
from sqlmodel import Session, func, select

from app import models
from app.delivery import Delivery
from app.service import Runtime
from app.settings import Settings
from app.windows import aware
from tests.conftest import ROOT
from tests.test_channels import wait_for
from webhooks.base import EventKind, InboundEvent, OutgoingMessage
from webhooks.registry import build_channels

sys.path.insert(0, str(ROOT / "scripts"))
import fake_platforms as fp  # noqa: E402

HOUR = dt.timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.t = models.utcnow()

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, delta: dt.timedelta) -> None:
        self.t += delta


def settings(database_url: str, fake_url: str, **extra) -> Settings:
    values = dict(
        database_url=database_url, semantic_model="off", run_workers=False, kb_poll_seconds=0,
        zalo_app_id=fp.ZALO_APP_ID, zalo_oa_secret_key=fp.ZALO_OA_SECRET_KEY, zalo_app_secret=fp.ZALO_APP_SECRET,
        zalo_access_token="zalo-at-0", zalo_refresh_token="zalo-rt-0", zalo_api_base=fake_url,
        zalo_oauth_base=fake_url, fb_app_id=fp.FB_APP_ID, fb_app_secret=fp.FB_APP_SECRET,
        fb_page_access_token=fp.FB_PAGE_ACCESS_TOKEN, fb_graph_base=fake_url, fb_graph_version=fp.FB_GRAPH_VERSION,
        http_timeout_seconds=30.0, provinces_file=None,
    )
    values.update(extra)
    return Settings(**values)


@pytest.fixture
def make(database_url, fake):
    made: list[Delivery] = []

    def build(clock=None, **extra) -> Delivery:
        """`semantic_model="auto"` in `extra`: answer with the bundled model (the engine's scores as shipped), not
        the lexical signals alone."""
        model = extra.get("semantic_model", "off") != "off"
        runtime = Runtime.start(settings(database_url, fake.url, **extra), load_model=model)
        delivery = Delivery(runtime, build_channels(runtime), clock=clock)
        made.append(delivery)
        return delivery

    yield build
    for delivery in made:
        delivery.stop()
        delivery.wait_idle(30)
        delivery.db.dispose()


def conversation(delivery: Delivery, channel: str, user: str, last_inbound: dt.datetime) -> int:
    with Session(delivery.db) as session:
        conv = models.Conversation(channel=channel, external_id=user, last_inbound_at=last_inbound)
        session.add(conv)
        session.flush()
        session.add(models.Message(conversation_id=conv.id, direction="in", author="citizen", text="câu hỏi"))
        session.commit()
        return conv.id


def queue(delivery: Delivery, conversation_id: int, text: str) -> None:
    """A bot reply queued for the conversation, as the inbound worker queues one."""
    with Session(delivery.db) as session:
        conv = session.get(models.Conversation, conversation_id)
        delivery.outbox.queue(session, conv, OutgoingMessage(text), models.Author.BOT)
        session.commit()


def outbox(delivery: Delivery) -> list[models.OutboxMessage]:
    with Session(delivery.db) as session:
        return session.exec(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).all()


def fake_sent(fake, recipient: str) -> list[dict]:
    return httpx.get(fake.url + "/_fake/sent", params={"recipient": recipient}).json()


def attempts_at_fake(fake, recipient: str) -> list[str]:
    texts = []
    for r in httpx.get(fake.url + "/_fake/requests").json():
        body = r.get("body") if isinstance(r.get("body"), dict) else {}
        to = body.get("recipient") or {}
        if recipient in (to.get("user_id"), to.get("id")):
            texts.append((body.get("message") or {}).get("text"))
    return texts


def run_until(delivery: Delivery, clock: Clock, until: dt.datetime) -> list[float]:
    """Send whatever is due, then move the clock to the next due row; until `until` or nothing is left.
    Returns the waits the outbox chose between attempts (seconds)."""
    waits = []
    while clock.t < until:
        delivery.send_due()
        assert delivery.wait_idle(60)
        heads: dict[int, models.OutboxMessage] = {}
        for r in outbox(delivery):
            if r.status in ("pending", "sending"):
                heads.setdefault(r.conversation_id, r)  # later rows wait for their conversation's first
        if not heads:
            break
        due = min(aware(r.next_attempt_at) for r in heads.values())
        if due > clock.t:
            waits.append((due - clock.t).total_seconds())
            clock.t = min(due, until)
    return waits


def test_a_two_hour_outage_delays_replies_in_order_and_loses_none(make, fake):
    clock = Clock()
    delivery = make(clock)
    zalo = conversation(delivery, "zalo", "outage-z", clock.t)
    fb = conversation(delivery, "messenger", "outage-m", clock.t)
    for conv in (zalo, fb):
        for i in (1, 2, 3):
            queue(delivery, conv, f"tin {i}")
    httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": True})
    start = clock.t
    waits = run_until(delivery, clock, start + 2 * HOUR)
    rows = outbox(delivery)
    assert all(r.status == "pending" for r in rows), "nothing is given up inside the window"
    heads = [r for r in rows if r.payload["text"] == "tin 1"]
    assert all(r.attempts >= 20 for r in heads)  # retried all along, not 8 times
    # capped exponential backoff with jitter: never more than the cap, and it reached the cap's range
    assert max(waits) <= 300 and max(waits) >= 150 and min(waits) < 5
    # order within a conversation: while the first reply fails, the later ones are never tried
    for user in ("outage-z", "outage-m"):
        assert set(attempts_at_fake(fake, user)) == {"tin 1"}
    httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": False})
    run_until(delivery, clock, clock.t + HOUR)
    for user in ("outage-z", "outage-m"):
        assert [m["text"] for m in fake_sent(fake, user)] == ["tin 1", "tin 2", "tin 3"]
    assert all(r.status == "sent" for r in outbox(delivery))
    assert clock.t - start <= 2 * HOUR + dt.timedelta(seconds=300)  # out within one capped wait of the recovery
    with Session(delivery.db) as session:
        assert session.exec(select(func.count()).select_from(models.Escalation)).one() == 0


@pytest.mark.parametrize("channel,age,window", [("messenger", 23, 24), ("zalo", 47, 48)])
def test_an_outage_past_the_window_goes_to_staff_in_vietnamese_with_the_code(make, fake, channel, age, window):
    clock = Clock()
    delivery = make(clock)
    last = clock.t - age * HOUR
    conv = conversation(delivery, channel, f"late-{channel}", last)
    queue(delivery, conv, "trả lời")
    httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": True})
    run_until(delivery, clock, clock.t + 3 * HOUR)
    [row] = outbox(delivery)
    assert row.status == "failed" and row.error_code == "http_503" and row.attempts > 10
    assert clock.t <= last + window * HOUR  # given up when the window closed, not before
    assert "<" not in row.last_error and "not JSON" in row.last_error
    with Session(delivery.db) as session:
        esc = session.get(models.Escalation, row.escalation_id)
    platform = "Zalo" if channel == "zalo" else "Messenger"
    assert esc.status == "open"
    assert esc.reason.startswith(f"Không gửi được tin qua {platform}: nền tảng báo lỗi máy chủ (HTTP 503) "
                                 "(mã lỗi http_503). Đã thử ")
    assert "cho đến khi hết khung thời gian nhắn tin" in esc.reason and "<" not in esc.reason


def test_a_staff_reply_outlives_the_24_hours_with_human_agent(make, fake):
    clock = Clock()
    delivery = make(clock, fb_human_agent_approved=True)
    conv = conversation(delivery, "messenger", "staff-late", clock.t - 23 * HOUR)
    delivery.staff_reply(conv, "Cán bộ trả lời")
    httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": True})
    run_until(delivery, clock, clock.t + 3 * HOUR)  # 26 h after the citizen's message
    [row] = outbox(delivery)
    assert row.status == "pending"
    httpx.post(fake.url + "/_fake/down", json={"platform": "all", "down": False})
    run_until(delivery, clock, clock.t + HOUR)
    [sent] = fake_sent(fake, "staff-late")
    assert sent["text"] == "Cán bộ trả lời" and sent["tag"] == "HUMAN_AGENT"  # the window's tag at send time


def test_one_held_call_delays_only_its_own_conversation(make, fake):
    delivery = make(send_concurrency=4)
    now = models.utcnow()
    slow = conversation(delivery, "messenger", "slowpoke", now)
    queue(delivery, slow, "chậm 1")
    queue(delivery, slow, "chậm 2")
    others = [f"quick{i:02d}" for i in range(20)]
    for i, user in enumerate(others):
        queue(delivery, conversation(delivery, "zalo" if i % 2 else "messenger", user, now), "nhanh")
    httpx.post(fake.url + "/_fake/hold", json={"platform": "all", "requests": True, "recipient": "slowpoke"})
    delivery.start(inbound=False)

    def others_sent() -> bool:
        return all(fake_sent(fake, u) for u in others)

    assert wait_for(others_sent, timeout=60), "the other citizens waited for the held call"
    held = httpx.get(fake.url + "/_fake/held").json()["requests"]
    assert [h["recipient"] for h in held] == ["slowpoke"]  # still held all along
    assert attempts_at_fake(fake, "slowpoke") == ["chậm 1"]  # its second reply waits for the first
    httpx.post(fake.url + "/_fake/hold", json={"platform": "all", "requests": False, "recipient": "slowpoke"})
    httpx.post(fake.url + "/_fake/release", json={"platform": "all"})
    assert wait_for(lambda: len(fake_sent(fake, "slowpoke")) == 2, timeout=60)
    assert [m["text"] for m in fake_sent(fake, "slowpoke")] == ["chậm 1", "chậm 2"]


def test_events_taken_back_from_a_slow_worker_are_answered_once(make, fake):
    """Issue 14 item 5: instance A is slow between answering and committing; past CLAIM_TIMEOUT_SECONDS
    instance B takes its claims back and answers them. A's commit then finds the claims gone and stores
    nothing, where before it stored a second reply."""
    clock_a, clock_b = Clock(), Clock()
    a, b = make(clock_a), make(clock_b)
    users = [f"taken{i}" for i in range(3)]
    stored = a.submit([InboundEvent(channel="zalo", dedupe_key=f"taken-{u}", kind=EventKind.TEXT, user_id=u,
                                    text="bhxh tự nguyện đóng bao nhiêu", platform_message_id=f"taken-{u}")
                       for u in users]).result()
    assert stored.new == 3
    reached, go = threading.Event(), threading.Event()

    def stall(_claimed) -> None:
        reached.set()
        assert go.wait(60)

    a.checkpoints["before_inbound_commit"] = stall
    worker = threading.Thread(target=a.process_pending)
    worker.start()
    try:
        assert reached.wait(60)
        clock_b.t = clock_a.t + dt.timedelta(seconds=a.settings.claim_timeout_seconds + 1)
        assert b.recover(b.settings.claim_timeout_seconds) == 3
        assert b.process_pending() == 3
    finally:
        go.set()
        worker.join(60)
    with Session(a.db) as session:
        for user in users:
            conv = session.exec(select(models.Conversation).where(models.Conversation.external_id == user)).one()
            citizen = session.exec(select(func.count()).select_from(models.Message)
                                   .where(models.Message.conversation_id == conv.id,
                                          models.Message.author == "citizen")).one()
            replies = session.exec(select(models.OutboxMessage.payload)
                                   .where(models.OutboxMessage.conversation_id == conv.id)).all()
            assert citizen == 1
            texts = [p["text"] for p in replies]
            assert texts and len(set(texts)) == len(texts), f"{user} would get a reply twice"
        statuses = session.exec(select(models.InboundRecord.status)).all()
        assert statuses == ["done"] * 3


def citizen_says(delivery: Delivery, channel: str, user: str, n: int, text: str, payload: str | None = None) -> None:
    """The citizen's `n`-th message (a tap when `payload` is given), answered and its reply sent, before returning."""
    event = InboundEvent(channel=channel, dedupe_key=f"{user}-{n}", kind=EventKind.TEXT, user_id=user, text=text,
                         payload=payload, platform_message_id=f"{user}-{n}")
    assert delivery.submit([event]).result().new == 1
    assert delivery.process_pending() == 1
    delivery.send_due()
    assert delivery.wait_idle(60)


def test_the_greeting_offers_staff_in_one_tap_on_messenger_and_the_tap_reaches_staff(make, fake):
    """The greeting (also the reply to "ad là người hay máy vậy") says to write "gặp cán bộ" to reach staff; on
    Messenger it carries those words as a quick reply, and tapping it (Messenger sends the title as the text, with
    the payload) hands the conversation to staff. An answer carries no such button, and Zalo, which has none, keeps
    the words in the text."""
    delivery = make()

    def say(channel: str, user: str, n: int, text: str, payload: str | None = None) -> None:
        citizen_says(delivery, channel, user, n, text, payload)

    say("messenger", "greet-fb", 1, "xin chào ad")
    greeting = fake_sent(fake, "greet-fb")[-1]
    assert "gặp cán bộ" in greeting["text"]
    staff_button = {"content_type": "text", "title": "Gặp cán bộ", "payload": "ASK_STAFF"}
    assert staff_button in greeting["quick_replies"]
    say("messenger", "greet-fb", 2, "bhxh tự nguyện đóng thấp nhất bao nhiêu 1 tháng")
    answer = fake_sent(fake, "greet-fb")[-1]
    assert answer["quick_replies"] and staff_button not in answer["quick_replies"]
    say("messenger", "greet-fb", 3, staff_button["title"], payload=staff_button["payload"])
    with Session(delivery.db) as session:
        conv = session.exec(select(models.Conversation).where(models.Conversation.external_id == "greet-fb")).one()
        kinds = session.exec(select(models.Escalation.kind).where(models.Escalation.conversation_id == conv.id)).all()
    assert kinds == ["handoff"]
    say("zalo", "greet-zalo", 1, "xin chào ad")
    zalo = fake_sent(fake, "greet-zalo")[-1]
    assert "gặp cán bộ" in zalo["text"] and not zalo.get("quick_replies")


def test_a_suggestion_under_an_escalation_is_answered_while_staff_hold_the_conversation(make, fake):
    """A question the bot is not sure of goes to staff with the nearest entries suggested; picking one (its number on
    Zalo, a tap on Messenger) is answered although staff hold the conversation, and the request stays open for staff.
    Anything else the citizen writes is for staff, and once a person has replied a number is for staff too."""
    delivery = make(semantic_model="auto")
    question = "co nen chot so lay tien ko hay doi 60 tuoi lanh luong"

    def conversation(user: str) -> tuple[models.Conversation, list[models.Message], list[models.Escalation]]:
        with Session(delivery.db) as session:
            conv = session.exec(select(models.Conversation).where(models.Conversation.external_id == user)).one()
            messages = session.exec(select(models.Message).where(models.Message.conversation_id == conv.id)
                                    .order_by(models.Message.id)).all()
            escalations = session.exec(select(models.Escalation)
                                       .where(models.Escalation.conversation_id == conv.id)).all()
            return conv, list(messages), list(escalations)

    citizen_says(delivery, "zalo", "wait-zalo", 1, question)
    conv, messages, escalations = conversation("wait-zalo")
    assert messages[-2].outcome == "escalated" and [e.status for e in escalations] == ["open"]
    suggested = list(conv.last_choices or [])
    assert suggested and suggested[0] == "bhxh1l-so-sanh"
    sent = fake_sent(fake, "wait-zalo")
    assert "Trong lúc chờ cán bộ" in sent[-1]["text"] and "\n1. " in sent[-1]["text"]
    citizen_says(delivery, "zalo", "wait-zalo", 2, "1")
    conv, messages, escalations = conversation("wait-zalo")
    assert (messages[-2].outcome, messages[-2].entry_id) == ("answered", "bhxh1l-so-sanh")
    assert messages[-1].author == "bot" and len(fake_sent(fake, "wait-zalo")) == len(sent) + 1
    assert [e.status for e in escalations] == ["open"]  # staff still answer the question
    assert aware(conv.bot_paused_until) > dt.datetime.now(dt.UTC)
    citizen_says(delivery, "zalo", "wait-zalo", 3, "em muốn hỏi thêm về trường hợp của em")
    conv, messages, _ = conversation("wait-zalo")
    assert messages[-1].author == "citizen" and messages[-1].outcome is None  # for staff, unanswered
    assert len(fake_sent(fake, "wait-zalo")) == len(sent) + 1

    # Messenger: the suggestions are quick replies; a person replies from the Page's inbox, and after that a tap on
    # an earlier suggestion is a message for staff
    citizen_says(delivery, "messenger", "wait-fb", 1, question)
    sent = fake_sent(fake, "wait-fb")
    taps = sent[-1]["quick_replies"]
    assert [t["payload"] for t in taps] == suggested
    citizen_says(delivery, "messenger", "wait-fb", 2, taps[1]["title"], payload=taps[1]["payload"])
    _, messages, _ = conversation("wait-fb")
    assert (messages[-2].outcome, messages[-2].entry_id) == ("answered", suggested[1])
    echo = InboundEvent(channel="messenger", dedupe_key="wait-fb-staff", kind=EventKind.STAFF_ECHO, user_id="wait-fb",
                        text="Chào bạn, cán bộ BHXH đây ạ.", platform_message_id="wait-fb-staff")
    assert delivery.submit([echo]).result().new == 1
    assert delivery.process_pending() == 1
    conv, _, _ = conversation("wait-fb")
    assert not conv.last_choices
    before = len(fake_sent(fake, "wait-fb"))
    citizen_says(delivery, "messenger", "wait-fb", 3, taps[0]["title"], payload=taps[0]["payload"])
    _, messages, _ = conversation("wait-fb")
    assert messages[-1].author == "citizen" and messages[-1].outcome is None
    assert len(fake_sent(fake, "wait-fb")) == before


def test_not_the_right_answer_offers_the_entries_that_came_next_and_staff(make, fake):
    """"Chưa đúng" after an answer: the feedback is stored, and the reply offers the entries that came after the
    answered one for that question (its stored candidates, best first), picked by a tap on Messenger or a digit on
    Zalo, with the button that asks for staff on Messenger."""
    delivery = make()

    def say(channel: str, user: str, n: int, text: str, payload: str | None = None) -> None:
        citizen_says(delivery, channel, user, n, text, payload)

    def asked(user: str) -> list[models.Message]:
        with Session(delivery.db) as session:
            conv = session.exec(select(models.Conversation).where(models.Conversation.external_id == user)).one()
            return session.exec(select(models.Message).where(models.Message.conversation_id == conv.id,
                                                             models.Message.direction == "in")
                                .order_by(models.Message.id)).all()

    question = "bhxh tự nguyện đóng thấp nhất bao nhiêu 1 tháng"
    say("messenger", "wrong-fb", 1, question)
    first = asked("wrong-fb")[0]
    assert first.outcome == "answered"
    others = [c for c in first.candidates if c != first.entry_id][:3]
    assert len(others) == 3
    say("messenger", "wrong-fb", 2, "Chưa đúng", payload="FEEDBACK_WRONG")
    sent = fake_sent(fake, "wrong-fb")[-1]
    assert sent["text"].startswith("Cảm ơn bạn đã góp ý.")
    assert [q["payload"] for q in sent["quick_replies"]] == others + ["ASK_STAFF"]
    with Session(delivery.db) as session:
        feedback = session.exec(select(models.Feedback)).all()
    assert [(f.entry_id, f.helpful) for f in feedback] == [(first.entry_id, False)]
    tap = sent["quick_replies"][1]
    say("messenger", "wrong-fb", 3, tap["title"], payload=tap["payload"])
    assert (asked("wrong-fb")[-1].outcome, asked("wrong-fb")[-1].entry_id) == ("answered", others[1])

    say("zalo", "wrong-zalo", 1, question)
    say("zalo", "wrong-zalo", 2, "chưa đúng")
    text = fake_sent(fake, "wrong-zalo")[-1]["text"]
    assert "Hay bạn muốn hỏi một trong các nội dung dưới đây?" in text and "\n3. " in text
    say("zalo", "wrong-zalo", 3, "2")
    assert (asked("wrong-zalo")[-1].outcome, asked("wrong-zalo")[-1].entry_id) == ("answered", others[1])
