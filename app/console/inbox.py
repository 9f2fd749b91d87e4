"""The escalation inbox and the conversation view: queries and staff actions, shared by the console
pages and its JSON API. Everything returned for display is Vietnamese."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models, storage
from app.conversation import FOLLOWUP_REASON, ConversationPolicy, find
from app.delivery import NO_RECIPIENT, Delivery, NoSuchConversation, WindowClosed, failure_reason
from app.engine import ANSWERED
from app.knowledge import Entry, KnowledgeBase
from app.models import Author, EscalationStatus, OutboxStatus, utcnow
from app.privacy import mask
from app.settings import Settings
from app.windows import aware, decide

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # Vietnam: UTC+7, no daylight saving time
MAX_REPLY = 4000
STATUSES = {EscalationStatus.OPEN: "Đang mở", "mine": "Của tôi", EscalationStatus.RESOLVED: "Đã xử lý"}
CHANNELS = {"zalo": "Zalo", "messenger": "Messenger", "api": "API", "cli": "Dòng lệnh"}
KINDS = {"escalated": "Trợ lý tự động không trả lời được", "handoff": "Muốn gặp cán bộ", "followup": "Công dân nhắn thêm"}
OUTCOMES = {"answered": "Đã trả lời", "clarify": "Hỏi lại", "escalated": "Chuyển cán bộ", "handoff": "Gặp cán bộ",
            "smalltalk": "Chào hỏi"}
# keyed by str: message.author is stored as a plain string (an Author value)
AUTHORS: dict[str, str] = {Author.CITIZEN: "Công dân", Author.BOT: "Trợ lý tự động", Author.STAFF: "Cán bộ"}
# reasons the engine stores in English, shown to staff in Vietnamese
REASONS = {"citizen asked for a person": "Công dân yêu cầu gặp cán bộ",
           FOLLOWUP_REASON: "Công dân nhắn thêm khi cán bộ đang giữ hoặc đã đóng cuộc trò chuyện"}
TEST_NOTE = NO_RECIPIENT  # the reply form's place on a test conversation
OUT_OF_SCOPE = "Ngoài phạm vi"
PAGE_SIZE = 25  # inbox rows per page
SHORT = 300  # characters of a message shown in lists before "xem thêm"
# a staff message's delivery, from its outbox rows
DELIVERY = {OutboxStatus.PENDING: "Đang chờ gửi", OutboxStatus.SENDING: "Đang gửi", OutboxStatus.SENT: "Đã gửi",
            OutboxStatus.FAILED: "Không gửi được"}
WINDOW_CODES = {"window", "-230", "-232", "10"}  # the platforms' "outside the messaging window"


def send_error(channel: str, code: str | None) -> str:
    """Why a reply was not delivered, for staff: the platform, Vietnamese and the error code, never the
    platform's raw answer (an outage's HTML page stays out of the console). The worker's own wording
    (app.delivery.failure_reason), without its "Không gửi được tin qua " (the state says it)."""
    return failure_reason(channel, code, (code or "") in WINDOW_CODES).removeprefix("Không gửi được tin qua ")


_RAW_FAILURE = re.compile(r"^Không gửi được tin \(mã lỗi (?P<code>[^)]*)\):")


def reason_of(reason: str, channel: str) -> str:
    """A request's reason for staff: the engine's English ones in Vietnamese, and a failed send's without
    the platform's own words (older records kept them: "Không gửi được tin (mã lỗi -227): User is ...")."""
    raw = _RAW_FAILURE.match(reason or "")
    if raw:
        return "Không gửi được tin qua " + send_error(channel, raw.group("code") or None)
    return REASONS.get(reason, reason)


def short(text: str, limit: int = SHORT) -> str:
    """The start of a long message for a list; the whole text goes behind "xem thêm"."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.7 else cut).rstrip() + "…"
OTHER = "Khác"


class ActionError(ValueError):
    """A staff action that cannot be done; the message is Vietnamese."""


def hours_label(hours: float) -> str:
    """12 -> "12", 0.5 -> "0,5": a number of hours as staff read it."""
    return f"{hours:g}".replace(".", ",")


def returned_note(settings: Settings) -> str:
    return (f"Đã trả lại cho trợ lý tự động vì quá {hours_label(settings.bot_quiet_hours)} giờ "
            "không có cán bộ xử lý")


def handed_back(conv: models.Conversation, now: dt.datetime) -> bool:
    """The bot's pause ran out with no staff action (not released by staff: that clears it)."""
    paused = aware(conv.bot_paused_until)
    return paused is not None and paused <= now


def local(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return aware(value).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def duration(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    if hours:
        return f"{hours} giờ {mins} phút" if mins else f"{hours} giờ"
    return f"{mins} phút"


@dataclass
class Window:
    state: str  # free | paid | human_agent | closed | unknown | none
    label: str
    left: str = ""
    reason: str = ""

    @property
    def can_reply(self) -> bool:
        return self.state in ("free", "paid", "human_agent", "none")


def window_of(conv: models.Conversation, settings: Settings, now: dt.datetime) -> Window:
    if conv.channel not in ("zalo", "messenger"):
        return Window("none", "Không qua nền tảng nhắn tin")
    w = decide(conv.channel, conv.last_inbound_at, now, Author.STAFF, settings.fb_human_agent_approved)
    left = duration(aware(w.closes_at) - now) if w.closes_at else ""
    if not w.allowed:
        return Window(w.state, "Không gửi được", reason=w.reason)
    label = {"free": "Miễn phí", "paid": "Trả phí (tin tư vấn Zalo)",
             "human_agent": "Cán bộ trả lời muộn (Messenger, trong 7 ngày)"}[w.state]
    return Window(w.state, label, left=left)


def topic_of(kb: KnowledgeBase, msg: models.Message | None) -> str:
    if msg is None:
        return OTHER
    # the closest thing retrieval found, out-of-scope groups ("@...") included
    details = (msg.scores or {}).get("details") or []
    closest = details[0].get("label") if details and isinstance(details[0], dict) else None
    label = msg.entry_id or closest or (msg.candidates[0] if msg.candidates else None)
    if not label:
        return OTHER
    if label.startswith("@"):
        return OUT_OF_SCOPE
    entry = kb.entries.get(label)
    return entry.topic if entry else OTHER


def topics(kb: KnowledgeBase) -> list[str]:
    return sorted({e.topic for e in kb.entries.values()}) + [OUT_OF_SCOPE, OTHER]


@dataclass
class InboxItem:
    province: str
    escalation_id: int
    conversation_id: int
    channel: str
    channel_label: str
    kind: str
    kind_label: str
    status: str
    question: str  # masked
    outcome: str
    topic: str
    created_at: str
    waiting: str
    window: Window
    assigned_to: str = ""
    latest: str = ""  # masked: the citizen's latest message, when it came after the question
    latest_at: str = ""
    # the title of the entry the bot answered that latest message with: a suggestion the citizen picked while staff
    # hold the conversation, or a question after the bot took it back
    latest_answer: str = ""
    returned: str = ""  # why the bot answers again while the request is open
    is_test: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["window"] = vars(self.window)
        return data


def inbox(db: Engine, kb: KnowledgeBase, settings: Settings, user_id: int, status: str = EscalationStatus.OPEN, channel: str = "",
          topic: str = "", limit: int = 200, scope: str | None = None, province: str = "",
          tests: bool = False, offset: int = 0) -> list[InboxItem]:
    """Escalations and handoffs, the latest citizen activity first; personal numbers masked. `scope`: the
    user's province (None: every province); `province`: a filter an all-province user chose; `tests`:
    include the command line's and the API's test conversations (left out by default); `offset`: rows
    to skip (paging)."""
    now = utcnow()
    esc, conv_t, msg_t = models.Escalation, models.Conversation, models.Message
    query = (select(esc, conv_t, msg_t).join(conv_t, col(conv_t.id) == esc.conversation_id)
             .join(msg_t, col(msg_t.id) == esc.message_id))
    if not tests:
        query = query.where(col(conv_t.is_test).is_(False))
    if status == EscalationStatus.RESOLVED:
        query = query.where(esc.status == EscalationStatus.RESOLVED).order_by(col(esc.created_at).desc(), col(esc.id).desc())
    else:
        # a citizen who writes again brings the conversation to the top
        activity = func.coalesce(conv_t.last_inbound_at, esc.created_at)
        query = query.where(esc.status == EscalationStatus.OPEN).order_by(activity.desc(), col(esc.id).desc())
        if status == "mine":
            query = query.where(esc.assigned_to == user_id)
    if channel:
        query = query.where(conv_t.channel == channel)
    if scope is not None:
        query = query.where(esc.province == scope)
    if province:
        query = query.where(esc.province == province)
    items = []
    returned = returned_note(settings)
    with Session(db) as session:
        emails = {u.id: u.email for u in session.exec(select(models.User))}
        rows = session.exec(query.limit((offset + limit) * 5) if topic else query.offset(offset).limit(limit)).all()
        skip = offset if topic else 0  # the topic is worked out here, so its rows are skipped here
        latest = _latest_citizen_messages(session, {models.saved_id(c) for _, c, _ in rows})
        for e, c, m in rows:
            last = latest.get(models.saved_id(c))
            newer = last if last is not None and models.saved_id(last) > models.saved_id(m) else None
            item_topic = topic_of(kb, m)
            if topic and item_topic != topic:
                continue
            if skip:
                skip -= 1
                continue
            end = aware(e.resolved_at) if e.status == EscalationStatus.RESOLVED and e.resolved_at else now
            items.append(InboxItem(
                province=e.province, escalation_id=models.saved_id(e),
                conversation_id=models.saved_id(c), channel=c.channel, channel_label=CHANNELS.get(c.channel, c.channel),
                kind=e.kind, kind_label=KINDS.get(e.kind, e.kind), status=e.status, question=mask(m.text),
                outcome=OUTCOMES.get(m.outcome or "", m.outcome or ""), topic=item_topic,
                created_at=local(e.created_at), waiting=duration(end - aware(e.created_at)),
                window=window_of(c, settings, now), assigned_to=emails.get(e.assigned_to, "") if e.assigned_to else "",
                latest=mask(newer.text) if newer is not None else "",
                latest_at=local(newer.created_at) if newer is not None else "",
                latest_answer=_answered_title(kb, newer),
                returned=returned if e.status == EscalationStatus.OPEN and handed_back(c, now) else "", is_test=c.is_test,
            ))
            if len(items) >= limit:
                break
    return items


def _answered_title(kb: KnowledgeBase, msg: models.Message | None) -> str:
    """The title of the entry the bot answered a citizen's message with; empty when it did not answer it."""
    entry = kb.entries.get(msg.entry_id or "") if msg is not None and msg.outcome == ANSWERED else None
    return entry.title if entry is not None else ""


def _latest_citizen_messages(session: Session, conversation_ids: set[int]) -> dict[int, models.Message]:
    """Each conversation's latest message from the citizen, in one query."""
    if not conversation_ids:
        return {}
    msg = models.Message
    newest = (select(func.max(msg.id)).where(col(msg.conversation_id).in_(sorted(conversation_ids)),
                                             msg.author == Author.CITIZEN)
              .group_by(col(msg.conversation_id)))
    return {m.conversation_id: m for m in session.exec(select(msg).where(col(msg.id).in_(newest)))}


def open_count(db: Engine, scope: str | None = None) -> int:
    query = (select(models.Escalation.id).join(models.Conversation)
             .where(models.Escalation.status == EscalationStatus.OPEN, col(models.Conversation.is_test).is_(False)))
    if scope is not None:
        query = query.where(models.Escalation.province == scope)
    with Session(db) as session:
        return len(session.exec(query).all())


def check_access(db: Engine, conversation_id: int, scope: str | None) -> str:
    """The conversation's province, if a user of `scope` (None: every province) may see and act on it;
    otherwise NoSuchConversation (a 404: another province's conversations are not even confirmed to exist)."""
    with Session(db) as session:
        conv = session.get(models.Conversation, conversation_id)
        if conv is None or (scope is not None and conv.province != scope):
            raise NoSuchConversation(f"no conversation {conversation_id}")
        return conv.province


# --- the conversation view ------------------------------------------------------------------


@dataclass
class Line:
    author: str
    author_label: str
    text: str  # as written: staff see personal numbers here
    at: str
    outcome: str = ""
    entry: str = ""
    id: int = 0
    delivery: str = ""  # a staff message's state (DELIVERY), from its outbox rows
    delivery_state: str = ""  # pending | sending | sent | failed
    failure: str = ""  # why it was not delivered (Vietnamese, with the error code)
    can_retry: bool = False


@dataclass
class EscalationView:
    id: int
    kind_label: str
    status: str
    reason: str
    created_at: str
    assigned_to: str
    resolved_at: str


@dataclass
class ConversationView:
    province: str
    id: int
    channel: str
    channel_label: str
    external_id: str
    lines: list[Line]
    escalations: list[EscalationView]
    notes: list[tuple[str, str, str]]  # author, at, text
    window: Window
    bot_paused_until: str
    has_open: bool
    assigned_to_me: bool
    is_test: bool = False
    returned: str = ""  # the bot's pause ran out while a request is open
    entries: list[tuple[str, str]] = field(default_factory=list)  # for canned replies: (id, "topic — title")
    # the bot's top candidates for the message staff answer: (id, title), best first
    suggested: list[tuple[str, str]] = field(default_factory=list)
    # every entry for the picker's search: {"id", "title", "topic", "questions"}
    picker: list[dict[str, Any]] = field(default_factory=list)


def conversation(db: Engine, kb: KnowledgeBase, settings: Settings, conversation_id: int, user_id: int,
                 scope: str | None = None) -> ConversationView:
    now = utcnow()
    with Session(db) as session:
        conv = session.get(models.Conversation, conversation_id)
        if conv is None or (scope is not None and conv.province != scope):
            raise NoSuchConversation(f"no conversation {conversation_id}")
        emails = {u.id: u.email for u in session.exec(select(models.User))}
        lines = []
        sends = _sends(session, conversation_id)
        messages = storage.conversation_messages(session, conversation_id)
        for m in messages:
            entry = kb.entries.get(m.entry_id) if m.entry_id else None
            line = Line(m.author, AUTHORS.get(m.author, m.author), m.text, local(m.created_at),
                        outcome=OUTCOMES.get(m.outcome or "", "") if m.author == Author.CITIZEN else "",
                        entry=entry.title if entry and m.author == Author.CITIZEN else "", id=models.saved_id(m))
            if m.id in sends:
                _delivery(line, sends[m.id], conv.channel)
            lines.append(line)
        escs = list(session.exec(select(models.Escalation).where(models.Escalation.conversation_id == conversation_id)
                                 .order_by(col(models.Escalation.id).desc())))
        notes = [(emails.get(n.author_id, "?"), local(n.created_at), n.text) for n in session.exec(
            select(models.ConversationNote).where(models.ConversationNote.conversation_id == conversation_id)
            .order_by(col(models.ConversationNote.id)))]
        paused = aware(conv.bot_paused_until)
        open_escs = [e for e in escs if e.status == EscalationStatus.OPEN]
        suggested = _suggestions(kb, session, open_escs or escs, messages)
        return ConversationView(
            province=conv.province, id=models.saved_id(conv), channel=conv.channel,
            channel_label=CHANNELS.get(conv.channel, conv.channel), external_id=conv.external_id, lines=lines,
            escalations=[EscalationView(models.saved_id(e), KINDS.get(e.kind, e.kind), e.status,
                                        reason_of(e.reason, conv.channel), local(e.created_at),
                                        emails.get(e.assigned_to, "") if e.assigned_to else "", local(e.resolved_at))
                         for e in escs],
            notes=notes, window=window_of(conv, settings, now),
            bot_paused_until=local(paused) if paused and paused > now else "",
            has_open=bool(open_escs), assigned_to_me=bool(open_escs) and all(e.assigned_to == user_id for e in open_escs),
            is_test=conv.is_test, returned=returned_note(settings) if open_escs and handed_back(conv, now) else "",
            entries=sorted(((e.id, f"{e.topic} — {e.title}") for e in kb.entries.values()), key=lambda x: x[1]),
            suggested=suggested, picker=picker_entries(kb),
        )


def _sends(session: Session, conversation_id: int) -> dict[int, list[models.OutboxMessage]]:
    """The outbox rows of the conversation's staff messages, by message."""
    t = models.OutboxMessage
    found: dict[int, list[models.OutboxMessage]] = {}
    for row in session.exec(select(t).where(t.conversation_id == conversation_id, col(t.message_id).is_not(None))
                            .order_by(col(t.id))):
        if row.message_id is not None:  # always: the query reads only rows with a message
            found.setdefault(row.message_id, []).append(row)
    return found


def _delivery(line: Line, rows: list[models.OutboxMessage], channel: str) -> None:
    """A staff message's delivery state: failed if a part failed, else the least advanced part's."""
    states = {r.status for r in rows}
    state = next(s for s in (OutboxStatus.FAILED, OutboxStatus.SENDING, OutboxStatus.PENDING, OutboxStatus.SENT)
                 if s in states or s == OutboxStatus.SENT)
    line.delivery_state, line.delivery = state, DELIVERY[state]
    failed = [r for r in rows if r.status == OutboxStatus.FAILED]
    if failed:
        line.failure = send_error(channel, failed[0].error_code)
        line.can_retry = True
    elif state == OutboxStatus.PENDING and any(r.attempts and r.error_code for r in rows):
        waiting = next(r for r in rows if r.attempts and r.error_code)
        line.delivery = "Đang chờ gửi lại"
        line.failure = "Lần gửi trước chưa được: " + send_error(channel, waiting.error_code)


def _suggestions(kb: KnowledgeBase, session: Session, escs: list, messages: list) -> list[tuple[str, str]]:
    """The bot's top candidates (entries, best first) for the message of the conversation's latest
    request, or for the citizen's latest message the bot weighed."""
    by_id = {m.id: m for m in messages}
    chosen = [by_id.get(e.message_id) for e in escs] + [m for m in reversed(messages) if m.author == Author.CITIZEN]
    for m in chosen:
        if m is None:
            continue
        ids = [i for i in ([m.entry_id] if m.entry_id else []) + list(m.candidates or []) if i in kb.entries]
        if ids:
            return [(i, kb.entries[i].title) for i in dict.fromkeys(ids)][:5]
    return []


def picker_entries(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Every entry for the canned-reply picker's search by title and question, sorted by title."""
    return sorted(({"id": e.id, "title": e.title, "topic": e.topic, "questions": list(e.questions)}
                   for e in kb.entries.values()), key=lambda x: x["title"])


def render_entry(kb: KnowledgeBase, entry: Entry, day: dt.date, province=None) -> str:
    """`entry`'s answer as a citizen of `province` (app.provinces.Province; None: national values and
    office.yaml) reads it on `day`: its top-ups and its office details. Every answer the console shows
    (canned replies, the editor's preview, the unanswered page) is rendered here. RenderError if it
    cannot be rendered."""
    scope, office = (province.scope, province.office) if province is not None else ("", None)
    return kb.renderer(day, scope, office).entry_message(entry)


def canned(kb: KnowledgeBase, settings: Settings, entry_id: str, province=None) -> str:
    """An entry's answer as a citizen of `province` would read it today, as a starting point for a reply."""
    entry = kb.entries.get(entry_id)
    if entry is None:
        raise ActionError("Không có mục kiến thức này.")
    return render_entry(kb, entry, settings.today(), province)


# --- actions ----------------------------------------------------------------------------------


def _open_escalations(session: Session, conversation_id: int) -> tuple[ColumnElement[bool], ...]:
    find(session, conversation_id)
    return (col(models.Escalation.conversation_id) == conversation_id,
            col(models.Escalation.status) == EscalationStatus.OPEN)


def _staff_acted(session: Session, conversation_id: int, quiet_hours: float | None, hold: bool) -> None:
    """A staff action on the conversation (ConversationPolicy.staff_acted); nothing with no `quiet_hours`."""
    if quiet_hours is None:
        return
    conv = find(session, conversation_id)
    ConversationPolicy(quiet_hours).staff_acted(conv, hold)
    session.add(conv)


def assign(db: Engine, conversation_id: int, user_id: int, only_unassigned: bool = False,
           quiet_hours: float | None = None) -> int:
    """Take the conversation's open escalations; returns how many. With `quiet_hours`, taking it holds
    the conversation for staff that long (the bot stays silent)."""
    with Session(db) as session:
        where = _open_escalations(session, conversation_id)
        if only_unassigned:
            where = (*where, col(models.Escalation.assigned_to).is_(None))
        n = session.exec(update(models.Escalation).where(*where).values(assigned_to=user_id, assigned_at=utcnow())).rowcount
        if n:
            _staff_acted(session, conversation_id, quiet_hours, hold=True)
        session.commit()
        return n


def resolve(db: Engine, conversation_id: int, user_id: int, keep: bool = False, quiet_hours: float = 24.0) -> int:
    """Close the conversation's open requests and hand it back to the bot, or with `keep` hold it for
    staff for another `quiet_hours` (a citizen who writes meanwhile reopens it in the inbox)."""
    with Session(db) as session:
        conv = find(session, conversation_id)
        n = ConversationPolicy(quiet_hours).resolve(session, conv, user_id, keep)
        session.add(conv)
        session.commit()
    if not n:
        raise ActionError("Cuộc trò chuyện này không còn yêu cầu nào đang mở.")
    return n


def add_note(db: Engine, conversation_id: int, user_id: int, text: str, quiet_hours: float | None = None) -> None:
    text = (text or "").strip()
    if not text:
        raise ActionError("Ghi chú trống.")
    if len(text) > MAX_REPLY:
        raise ActionError(f"Ghi chú dài quá {MAX_REPLY} ký tự.")
    with Session(db) as session:
        _open_escalations(session, conversation_id)
        session.add(models.ConversationNote(conversation_id=conversation_id, author_id=user_id, text=text))
        _staff_acted(session, conversation_id, quiet_hours, hold=False)
        session.commit()


def reply(delivery: Delivery, conversation_id: int, user: models.User, text: str) -> list[int]:
    """Send a staff reply through the conversation's channel (the outbox), within its window.
    Raises ActionError (bad text) or WindowClosed (the platform would refuse: the reason says why)."""
    text = (text or "").strip()
    if not text:
        raise ActionError("Nội dung trả lời trống.")
    if len(text) > MAX_REPLY:
        raise ActionError(f"Nội dung trả lời dài {len(text)} ký tự, tối đa {MAX_REPLY}.")
    ids = delivery.staff_reply(conversation_id, text, user.email)  # holds the conversation for staff
    assign(delivery.db, conversation_id, models.saved_id(user), only_unassigned=True)  # whoever answers first takes it
    return ids


def release(delivery: Delivery, conversation_id: int) -> None:
    delivery.release(conversation_id)


def retry(delivery: Delivery, conversation_id: int, message_id: int) -> int:
    """Send a staff message that failed again ("Gửi lại"), if the conversation's window allows it now.
    Returns how many parts go out again; ActionError if none failed, WindowClosed if the platform would
    refuse."""
    n = delivery.resend_failed(conversation_id, message_id)
    if not n:
        raise ActionError("Tin nhắn này không có phần nào gửi không được.")
    return n


__all__ = ["ActionError", "NoSuchConversation", "WindowClosed", "inbox", "conversation", "canned", "assign", "resolve",
           "add_note", "reply", "release", "retry", "topics", "STATUSES", "CHANNELS"]
