"""Knowledge-base editing for admins: drafts, validation per field (in Vietnamese), a preview
rendered exactly as a citizen reads it, publishing, version history with diffs, rollback.

The bot answers only from `knowledge_entry`; a draft lives in `entry_version` until it is
published. Publishing and rollback write the audit log in the same transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models
from app.console.auth import audit
from app.console.inbox import render_entry
from app.knowledge import ID_RE, TOPICS, KnowledgeBase, RenderError, entry_from_dict, validate
from app.models import utcnow
from app.text import fold

FIELDS = ("title", "short_title", "topic", "questions", "answer", "legal_basis", "effective_from", "effective_to",
          "sources", "last_reviewed", "related")
LIST_FIELDS = ("questions", "legal_basis", "sources", "related")
DATE_FIELDS = ("effective_from", "effective_to", "last_reviewed")
LABELS = {"title": "Tiêu đề", "short_title": "Tiêu đề ngắn (nút bấm, tối đa 20 ký tự)", "topic": "Chủ đề",
          "questions": "Các cách hỏi (mỗi dòng một câu)", "answer": "Câu trả lời (mẫu, có tham số)",
          "legal_basis": "Căn cứ pháp lý (mỗi dòng một văn bản)", "effective_from": "Hiệu lực từ ngày",
          "effective_to": "Hết hiệu lực ngày", "sources": "Nguồn (mỗi dòng một nguồn)",
          "last_reviewed": "Ngày rà soát gần nhất", "related": "Mục liên quan"}
# what publishing needs (app.knowledge.REQUIRED; legal_basis may be empty): marked (*) on the form from the start
REQUIRED_FIELDS = ("title", "topic", "questions", "answer", "effective_from", "sources", "last_reviewed", "related")
DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
BAD_DATE = "Ngày không hợp lệ; nhập theo dạng ngày/tháng/năm, ví dụ 01/07/2026."
STATES = {"draft": "Bản nháp", "published": "Đang dùng", "archived": "Bản cũ"}


class EditError(ValueError):
    """Cannot do this; the message is Vietnamese."""


# --- validation messages, in Vietnamese -------------------------------------------------------

_ERROR = re.compile(r"^entries/(?P<where>[^/]+)\.yaml: field '(?P<field>\w+)'(?::)? (?P<msg>.*)$", re.S)
_VI = [
    (re.compile(r"is missing or empty"), lambda m, w: "Không được để trống."),
    (re.compile(r"is not a date"), lambda m, w: BAD_DATE),
    (re.compile(r"has (\d+), at least (\d+) needed"), lambda m, w: f"Cần ít nhất {m[2]} câu hỏi (hiện có {m[1]})."),
    (re.compile(r"longer than (\d+) characters"), lambda m, w: f"Tối đa {m[1]} ký tự."),
    (re.compile(r"names unknown entry '([^']*)'"), lambda m, w: f"Không có mục '{m[1]}'."),
    (re.compile(r"names the entry itself"), lambda m, w: "Không được liên kết tới chính mục này."),
    (re.compile(r"'(.*)' is also a question of entry '([^']*)'"),
     lambda m, w: f"Câu hỏi '{m[1]}' trùng với một câu hỏi của mục '{w if w != '__self__' else m[2]}'."),
    (re.compile(r"'(.*)' appears twice"), lambda m, w: f"Câu hỏi '{m[1]}' bị lặp."),
    (re.compile(r"a placeholder does not resolve: '(\w+)' is undefined"), lambda m, w: f"Không có tham số '{m[1]}'."),
    (re.compile(r"is not allowed in answers|longer than \d+ items|larger than \d+ bits|renders to more than (\d+)|"
                r"attribute '\w+' of '\w+' object is unsafe|No filter named '(\w+)'"),
     lambda m, w: "Câu trả lời dùng thứ mẫu không cho phép (vòng lặp, biến, bộ lọc hay phép tính tạo chuỗi quá dài); "
                  "chỉ dùng tham số, hàm tính và {% if %}."),
    (re.compile(r"a placeholder does not resolve: (.*)", re.S), lambda m, w: f"Có tham số không hợp lệ: {m[1]}"),
    (re.compile(r"the rendered message is (\d+) characters, the limit is (\d+)"),
     lambda m, w: f"Câu trả lời sau khi điền tham số dài {m[1]} ký tự, tối đa {m[2]}."),
    (re.compile(r"an amount is typed"),
     lambda m, w: "Không gõ số tiền trực tiếp; hãy dùng tham số, ví dụ {{ vnd(bhyt_member(1)) }}."),
    (re.compile(r"must be one of"), lambda m, w: "Chủ đề phải là một trong: " + ", ".join(TOPICS) + "."),
    (re.compile(r"must be lower-case"), lambda m, w: "Mã mục chỉ gồm chữ thường, số và dấu gạch ngang."),
]


def _vietnamese(msg: str, other: str) -> str:
    for pattern, build in _VI:
        m = pattern.search(msg)
        if m:
            return build(m, other)
    return msg


def check(kb: KnowledgeBase, entry_id: str, content: dict[str, Any], day: dt.date,
          province=None) -> tuple[dict[str, list[str]], str]:
    """Errors by field, and the answer as a citizen of `province` (app.provinces.Province; None: national
    values and office.yaml) would read it on `day` (empty if it cannot render). The checks are the
    national ones whatever `province` is: the entry is shared by every province."""
    errors: dict[str, list[str]] = {}
    entry, parse_errors = entry_from_dict(content, f"entries/{entry_id}.yaml")
    problems = list(parse_errors)
    preview = ""
    if entry is not None:
        trial = dataclasses.replace(kb, entries={**kb.entries, entry_id: entry})
        mine = f"entries/{entry_id}.yaml:"
        problems += [e for e in validate(trial, day) if e.startswith(mine) or f"entry '{entry_id}'" in e]
        try:
            preview = render_entry(trial, entry, day, province)
        except RenderError:
            preview = ""
    for problem in dict.fromkeys(problems):
        m = _ERROR.match(problem)
        if m is None:
            errors.setdefault("_", []).append(problem)
            continue
        other = m["where"] if m["where"] != entry_id else "__self__"
        errors.setdefault(m["field"], []).append(_vietnamese(m["msg"], other))
    return errors, preview


# --- forms ---------------------------------------------------------------------------------------


def date_to_form(value: Any) -> str:
    """A stored date (ISO) as staff read and type it: dd/mm/yyyy; anything else as it is."""
    if value is None or value == "":
        return ""
    try:
        return dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def date_from_form(raw: str) -> str | None:
    """dd/mm/yyyy (day first, as Vietnamese write it; 1/7/2026 too) as the stored ISO date. An ISO date pasted
    from a file is kept. Anything else, or a day that does not exist (31/02/2026), is kept as typed so that the
    checks report it (BAD_DATE) and the draft keeps what was typed."""
    raw = " ".join(raw.split())
    if not raw:
        return None
    m = DATE_RE.match(raw)
    if m:
        try:
            return dt.date(int(m[3]), int(m[2]), int(m[1])).isoformat()
        except ValueError:
            return raw
    return raw


def to_form(content: dict[str, Any]) -> dict[str, str]:
    form = {}
    for name in FIELDS:
        value = content.get(name)
        if name in DATE_FIELDS:
            form[name] = date_to_form(value)
        elif name in LIST_FIELDS:
            form[name] = "\n".join(str(v) for v in (value or []))
        else:
            form[name] = "" if value is None else str(value)
    return form


def from_form(base: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The entry's content with the form's fields; id and calculator are kept from `base`."""
    content = dict(base)
    for name in FIELDS:
        raw = (form.get(name) or "").replace("\r\n", "\n")
        if name == "related" and "related" not in form:  # the editor's list of titles: one checkbox per entry
            content[name] = [k.split(":", 1)[1] for k, v in form.items() if k.startswith("related:") and v]
        elif name in LIST_FIELDS:
            content[name] = [line.strip() for line in raw.split("\n") if line.strip()]
        elif name in DATE_FIELDS:
            content[name] = date_from_form(raw)
        else:
            content[name] = raw.strip()
    if not content.get("short_title"):
        content.pop("short_title", None)
    return content


def related_choices(kb: KnowledgeBase, entry_id: str, chosen: str) -> list[tuple[str, str, bool]]:
    """(id, title, chosen) for every other entry, the chosen ones first, then by title: the editor picks
    related entries by title and stores their ids. `chosen`: the form's ids, one a line."""
    picked = [i for i in chosen.split("\n") if i.strip()]
    titles = {e.id: e.title for e in kb.entries.values() if e.id != entry_id}
    rows = [(i, titles.get(i, i), True) for i in dict.fromkeys(picked)]
    rows += sorted(((i, t, False) for i, t in titles.items() if i not in picked), key=lambda r: fold(r[1]))
    return rows


def related_form(form: dict[str, str]) -> dict[str, str]:
    """The form as the editor shows it: the related entries' checkboxes (`related:ID`) as ids, one a line."""
    if "related" in form:
        return form
    return {**form, "related": "\n".join(k.split(":", 1)[1] for k, v in form.items() if k.startswith("related:") and v)}


@dataclass
class Insert:
    label: str  # Vietnamese, what staff look for
    code: str  # what goes into the answer
    value: str  # what it reads today (national values)


# the calculators answers may use, in Vietnamese, with a typical call (app.calculators.Formulas.template_names)
CALCULATOR_INSERTS = (
    ("Số tiền đóng BHXH tự nguyện mỗi tháng, sau hỗ trợ (mức thu nhập thấp nhất, người thuộc nhóm khác)",
     "{{ vnd(vtn_pay(p.vtn_thu_nhap_toi_thieu, 'khac')) }}"),
    ("Số tiền đóng BHXH tự nguyện mỗi tháng, chưa trừ hỗ trợ (mức thu nhập thấp nhất)",
     "{{ vnd(vtn_gross(p.vtn_thu_nhap_toi_thieu)) }}"),
    ("Tiền Nhà nước và địa phương hỗ trợ đóng BHXH tự nguyện mỗi tháng (nhóm khác)", "{{ vnd(vtn_support('khac')) }}"),
    ("Tiền ngân sách nhà nước hỗ trợ đóng BHXH tự nguyện mỗi tháng (nhóm khác)", "{{ vnd(vtn_state_support('khac')) }}"),
    ("Tiền địa phương hỗ trợ thêm đóng BHXH tự nguyện mỗi tháng", "{{ vnd(vtn_local_support()) }}"),
    ("Thu nhập tháng cao nhất được chọn để đóng BHXH tự nguyện", "{{ vnd(vtn_max_income()) }}"),
    ("Mức đóng BHYT hộ gia đình một năm của người thứ nhất", "{{ vnd(bhyt_member(1)) }}"),
    ("Tổng mức đóng BHYT một năm cho hộ 3 người", "{{ vnd(bhyt_household(3)) }}"),
    ("Mức đóng BHYT học sinh, sinh viên một năm (sau hỗ trợ)", "{{ vnd(hssv_year()) }}"),
    ("Chi phí khám chữa bệnh thấp được BHYT trả đủ (dưới mức này)", "{{ vnd(bhyt_low_cost()) }}"),
)
OFFICE_INSERTS = (("Tên cơ quan BHXH", "{{ office.name }}"), ("Số điện thoại tổng đài", "{{ office.hotline }}"),
                  ("Địa chỉ cơ quan", "{{ office.address }}"), ("Giờ làm việc", "{{ office.hours }}"))


def picker(kb: KnowledgeBase, day: dt.date) -> dict[str, list[Insert]]:
    """What the editor's picker offers, by group: every parameter by its Vietnamese name with today's national
    value, the calculators and the office's details, each with the template code it inserts."""
    renderer_day = day

    def today(code: str) -> str:
        try:
            return kb.renderer(renderer_day).render_template(code)
        except RenderError:
            return ""

    fmt = {"dong": "vnd", "rate": "pct"}
    params = [Insert(p.label, f"{{{{ {fmt.get(p.unit, 'num')}(p.{key}) }}}}", "")
              for key, p in sorted(kb.parameters.parameters.items(), key=lambda kv: fold(kv[1].label))]
    groups = {"Tham số": params,
              "Hàm tính": [Insert(label, code, "") for label, code in CALCULATOR_INSERTS],
              "Thông tin cơ quan BHXH": [Insert(label, code, "") for label, code in OFFICE_INSERTS]}
    for items in groups.values():
        for item in items:
            item.value = today(item.code)
    return groups


def editor_context(kb: KnowledgeBase, entry_id: str, form: dict[str, str], day: dt.date) -> dict[str, Any]:
    """What the editor page shows beside the form's fields: the required ones, the related entries by title and
    the picker."""
    return {"required": REQUIRED_FIELDS, "related_choices": related_choices(kb, entry_id, related_form(form)["related"]),
            "picker": picker(kb, day)}


# --- storage ---------------------------------------------------------------------------------------


@dataclass
class EntryRow:
    id: str
    topic: str
    title: str
    has_draft: bool


def search(db: Engine, query: str = "") -> list[EntryRow]:
    q = " ".join(fold(query).split())
    with Session(db) as session:
        drafts = set(session.exec(select(models.EntryVersion.entry_id).where(models.EntryVersion.state == "draft")))
        rows = []
        live_ids = set(session.exec(select(models.KnowledgeEntry.id)))
        for v in session.exec(select(models.EntryVersion).where(models.EntryVersion.state == "draft")
                              .order_by(models.EntryVersion.entry_id)):
            text = " ".join(fold(f"{v.entry_id} {v.content.get('title', '')}").split())
            if v.entry_id not in live_ids and (not q or q in text):
                rows.append(EntryRow(v.entry_id, str(v.content.get("topic") or ""), str(v.content.get("title") or ""), True))
        for e in session.exec(select(models.KnowledgeEntry).order_by(models.KnowledgeEntry.topic, models.KnowledgeEntry.id)):
            if q:
                haystack = fold(" ".join([e.id, e.title, e.topic, *[str(x) for x in e.content.get("questions") or []]]))
                if q not in " ".join(haystack.split()):
                    continue
            rows.append(EntryRow(e.id, e.topic, e.title, e.id in drafts))
        return rows


def live_content(session: Session, entry_id: str) -> dict[str, Any]:
    row = session.get(models.KnowledgeEntry, entry_id)
    if row is None:
        raise EditError("Không có mục kiến thức này.")
    return dict(row.content)


def base_content(session: Session, entry_id: str) -> dict[str, Any]:
    """The live entry, or for a new entry not yet published its draft."""
    row = session.get(models.KnowledgeEntry, entry_id)
    if row is not None:
        return dict(row.content)
    draft = _draft(session, entry_id)
    if draft is None:
        raise EditError("Không có mục kiến thức này.")
    return dict(draft.content)


def _draft(session: Session, entry_id: str) -> models.EntryVersion | None:
    return session.exec(select(models.EntryVersion).where(models.EntryVersion.entry_id == entry_id,
                                                          models.EntryVersion.state == "draft")).first()


def _next_number(session: Session, entry_id: str) -> int:
    top = session.exec(select(func.max(models.EntryVersion.number)).where(models.EntryVersion.entry_id == entry_id)).one()
    return (top or 0) + 1


def _baseline(session: Session, entry_id: str) -> None:
    """The first edit of an entry records what was live before it, so it can be rolled back to."""
    exists = session.exec(select(models.EntryVersion.id).where(models.EntryVersion.entry_id == entry_id)).first()
    if exists is None and session.get(models.KnowledgeEntry, entry_id) is not None:
        session.add(models.EntryVersion(entry_id=entry_id, number=1, state="published", note="Bản trước khi sửa trên giao diện",
                                        content=live_content(session, entry_id), published_at=utcnow()))
        session.flush()


@dataclass
class Editing:
    form: dict[str, str]
    draft: bool  # the form shows a saved draft (not the live version)
    draft_number: int | None = None


def editing(db: Engine, entry_id: str) -> Editing:
    with Session(db) as session:
        live = base_content(session, entry_id)
        draft = _draft(session, entry_id)
        if draft is not None:
            return Editing(to_form(draft.content), True, draft.number)
        return Editing(to_form(live), False)


def save_draft(db: Engine, entry_id: str, form: dict[str, str], user: models.User) -> dict[str, Any]:
    """Keep the form as the entry's draft (even with errors: a draft is work in progress)."""
    with Session(db) as session:
        live = base_content(session, entry_id)
        content = from_form(live, form)
        _baseline(session, entry_id)
        draft = _draft(session, entry_id)
        if draft is None:
            draft = models.EntryVersion(entry_id=entry_id, number=_next_number(session, entry_id), state="draft",
                                        content=content, author_id=user.id)
        else:
            draft.content, draft.author_id, draft.created_at = content, user.id, utcnow()
        session.add(draft)
        audit(session, user, "kb.draft", entry_id, {"fields": changed_fields(live, content)})
        session.commit()
        return content


def discard_draft(db: Engine, entry_id: str, user: models.User) -> None:
    with Session(db) as session:
        draft = _draft(session, entry_id)
        if draft is None:
            raise EditError("Mục này không có bản nháp.")
        session.delete(draft)
        audit(session, user, "kb.discard", entry_id, {"version": draft.number})
        session.commit()


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [name for name in FIELDS if (old.get(name) or None) != (new.get(name) or None)]


def _make_live(session: Session, kb: KnowledgeBase, entry_id: str, content: dict[str, Any], day: dt.date) -> list[str]:
    errors, _ = check(kb, entry_id, content, day)
    if errors:
        raise EditError("Chưa xuất bản được: còn lỗi ở " + ", ".join(LABELS.get(f, f) for f in errors) + ".")
    row = session.get(models.KnowledgeEntry, entry_id)
    if row is None:  # a new entry's first publication
        row = models.KnowledgeEntry(id=entry_id, topic=content["topic"], title=content["title"], content={})
    before = dict(row.content)
    row.content, row.title, row.topic, row.updated_at = content, content["title"], content["topic"], utcnow()
    session.add(row)
    session.exec(update(models.EntryVersion).where(col(models.EntryVersion.entry_id) == entry_id,
                                                   col(models.EntryVersion.state) == "published").values(state="archived"))
    return changed_fields(before, content)


def publish(db: Engine, kb: KnowledgeBase, entry_id: str, user: models.User, day: dt.date) -> int:
    """The draft becomes the live entry (if it is valid). Returns its version number."""
    with Session(db) as session:
        draft = _draft(session, entry_id)
        if draft is None:
            raise EditError("Mục này không có bản nháp để xuất bản.")
        fields = _make_live(session, kb, entry_id, dict(draft.content), day)
        draft.state, draft.published_at = "published", utcnow()
        session.add(draft)
        audit(session, user, "kb.publish", entry_id, {"version": draft.number, "fields": fields})
        session.commit()
        return draft.number


def rollback(db: Engine, kb: KnowledgeBase, entry_id: str, version_id: int, user: models.User, day: dt.date) -> int:
    """Publish an earlier version's content again, as a new version."""
    with Session(db) as session:
        old = session.get(models.EntryVersion, version_id)
        if old is None or old.entry_id != entry_id:
            raise EditError("Không có phiên bản này.")
        if _draft(session, entry_id) is not None:
            raise EditError("Mục đang có bản nháp; hãy xuất bản hoặc bỏ bản nháp trước khi khôi phục.")
        fields = _make_live(session, kb, entry_id, dict(old.content), day)
        number = _next_number(session, entry_id)
        session.add(models.EntryVersion(entry_id=entry_id, number=number, state="published", content=dict(old.content),
                                        note=f"Khôi phục bản {old.number}", author_id=user.id, published_at=utcnow()))
        audit(session, user, "kb.rollback", entry_id, {"version": number, "from_version": old.number, "fields": fields})
        session.commit()
        return number


@dataclass
class VersionView:
    id: int
    number: int
    state: str
    state_label: str
    note: str
    author: str
    at: dt.datetime
    diff: list[FieldDiff]  # against the version before it


def history(db: Engine, entry_id: str) -> list[VersionView]:
    with Session(db) as session:
        base_content(session, entry_id)
        emails = {u.id: u.email for u in session.exec(select(models.User))}
        versions = list(session.exec(select(models.EntryVersion).where(models.EntryVersion.entry_id == entry_id)
                                     .order_by(col(models.EntryVersion.number))))
    views, previous = [], None
    for v in versions:
        views.append(VersionView(models.saved_id(v), v.number, v.state, STATES.get(v.state, v.state), v.note,
                                 emails.get(v.author_id, "") if v.author_id else "", v.created_at,
                                 diff(previous, v.content) if previous is not None else []))
        previous = v.content
    return list(reversed(views))


@dataclass
class FieldDiff:
    label: str  # the field's Vietnamese name
    parts: list[tuple[str, str]]  # ("same" | "add" | "del", text), in reading order


_TOKEN = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """The words removed ("del") and added ("add") between two texts, with what stayed ("same") around them."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    parts: list[tuple[str, str]] = []

    def put(kind: str, text: str) -> None:
        if not text:
            return
        if parts and parts[-1][0] == kind:
            parts[-1] = (kind, parts[-1][1] + text)
        else:
            parts.append((kind, text))

    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    removed, added = "", ""  # a change runs on across the spaces between changed words: "thấp nhất" → "tối thiểu"
    for n, (op, i1, i2, j1, j2) in enumerate(ops):
        same = "".join(a[i1:i2])
        between = 0 < n < len(ops) - 1 and not same.strip()
        if op == "equal" and not between:
            put("del", removed)
            put("add", added)
            removed, added = "", ""
            put("same", same)
        elif op == "equal":
            removed, added = removed + same, added + same
        else:
            removed, added = removed + same, added + "".join(b[j1:j2])
    put("del", removed)
    put("add", added)
    return parts


def _field_text(name: str, value: Any) -> str:
    if name in DATE_FIELDS:
        return date_to_form(value)
    if name in LIST_FIELDS:
        return "\n".join(str(v) for v in value or [])
    return "" if value is None else str(value)


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """What changed between two versions, field by field in Vietnamese, word by word."""
    out = []
    for name in FIELDS:
        a, b = _field_text(name, old.get(name)), _field_text(name, new.get(name))
        if a != b:
            out.append(FieldDiff(LABELS[name].split(" (")[0], word_diff(a, b)))
    return out


def rollback_preview(db: Engine, entry_id: str, version_id: int) -> tuple[int, list[FieldDiff]]:
    """The version's number and what restoring it would change in the live entry."""
    with Session(db) as session:
        old = session.get(models.EntryVersion, version_id)
        if old is None or old.entry_id != entry_id:
            raise EditError("Không có phiên bản này.")
        return old.number, diff(live_content(session, entry_id), dict(old.content))


def create_draft(db: Engine, form: dict[str, str], user: models.User) -> str:
    """A new entry, as a draft (published from the editor like any other)."""
    entry_id = (form.get("id") or "").strip().lower()
    if not ID_RE.match(entry_id) or len(entry_id) > 80:
        raise EditError("Mã mục chỉ gồm chữ thường không dấu, số và dấu gạch ngang (ví dụ: vtn-ho-kinh-doanh).")
    with Session(db) as session:
        if session.get(models.KnowledgeEntry, entry_id) is not None or _draft(session, entry_id) is not None:
            raise EditError(f"Đã có mục '{entry_id}'.")
        content = from_form({"id": entry_id}, form)
        session.add(models.EntryVersion(entry_id=entry_id, number=_next_number(session, entry_id), state="draft",
                                        content=content, note="Mục mới", author_id=user.id))
        audit(session, user, "kb.create", entry_id, {"fields": [f for f in FIELDS if content.get(f)]})
        session.commit()
    return entry_id


def add_question(db: Engine, kb: KnowledgeBase, entry_id: str, question: str, user: models.User, day: dt.date) -> int:
    """Publish the entry again with one more alternative question."""
    question = " ".join((question or "").split())
    if not question:
        raise EditError("Câu hỏi trống.")
    with Session(db) as session:
        if _draft(session, entry_id) is not None:
            raise EditError(f"Mục '{entry_id}' đang có bản nháp; hãy xuất bản hoặc bỏ bản nháp trước.")
        content = live_content(session, entry_id)
        if any(fold(q) == fold(question) for q in content.get("questions") or []):
            raise EditError(f"Mục '{entry_id}' đã có câu hỏi này.")
        content["questions"] = [*(content.get("questions") or []), question]
        _baseline(session, entry_id)
        errors, _ = check(kb, entry_id, content, day)
        if errors:
            raise EditError(" ".join(m for msgs in errors.values() for m in msgs))
        _make_live(session, kb, entry_id, content, day)
        number = _next_number(session, entry_id)
        session.add(models.EntryVersion(entry_id=entry_id, number=number, state="published", content=content,
                                        note="Thêm câu hỏi công dân chưa được trả lời", author_id=user.id,
                                        published_at=utcnow()))
        audit(session, user, "kb.add_question", entry_id, {"version": number, "question": question})
        session.commit()
        return number
