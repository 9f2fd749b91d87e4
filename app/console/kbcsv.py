"""The knowledge base as a spreadsheet-friendly CSV: export, and import with a dry-run report.

One row per entry; list fields (questions, legal basis, sources, related) are one item per line
inside the cell. Import adds and updates entries (entries missing from the file are kept); a file
with any error changes nothing and the report names each wrong row and field."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models
from app.console import kbedit
from app.console.auth import audit
from app.knowledge import KnowledgeBase, entry_from_dict, validate
from app.models import utcnow

COLUMNS = ["id", "topic", "title", "short_title", "questions", "answer", "legal_basis", "effective_from", "effective_to",
           "sources", "last_reviewed", "related", "calculator"]
LIST_COLUMNS = ("questions", "legal_basis", "sources", "related")
REQUIRED_COLUMNS = ("id", "topic", "title", "questions", "answer", "legal_basis", "effective_from", "sources",
                    "last_reviewed", "related")
MAX_ROWS = 20_000


def export_csv(db: Engine) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    with Session(db) as session:
        for row in session.exec(select(models.KnowledgeEntry).order_by(models.KnowledgeEntry.id)):
            c = row.content
            writer.writerow({name: "\n".join(str(v) for v in c.get(name) or []) if name in LIST_COLUMNS
                             else ("" if c.get(name) is None else str(c.get(name))) for name in COLUMNS})
    return "\ufeff" + out.getvalue()  # BOM: spreadsheets then read the file as UTF-8


@dataclass
class Report:
    rows: int = 0
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # id -> changed fields
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)  # Vietnamese, each naming the row
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _content(row: dict[str, str]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for name in COLUMNS:
        raw = (row.get(name) or "").replace("\r\n", "\n").strip()
        if name in LIST_COLUMNS:
            content[name] = [line.strip() for line in raw.split("\n") if line.strip()]
        elif raw:
            content[name] = raw
    return content


def check(db: Engine, kb: KnowledgeBase, data: bytes, day: dt.date) -> tuple[Report, dict[str, dict[str, Any]]]:
    report = Report()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append("Tệp không phải UTF-8. Hãy lưu lại dưới dạng CSV UTF-8.")
        return report, {}
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        report.errors.append("Thiếu cột: " + ", ".join(missing) + ". Hãy dùng tệp xuất từ trang này làm mẫu.")
        return report, {}
    contents: dict[str, dict[str, Any]] = {}
    line_of: dict[str, int] = {}
    entries = {}
    for n, row in enumerate(reader, start=2):  # row 1 is the header
        if n > MAX_ROWS:
            report.errors.append(f"Tệp có quá {MAX_ROWS} dòng.")
            break
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        report.rows += 1
        content = _content(row)
        entry_id = content.get("id", "")
        if entry_id in contents:
            report.errors.append(f"Dòng {n}: mã mục '{entry_id}' đã có ở dòng {line_of[entry_id]}.")
            continue
        entry, errors = entry_from_dict(content, f"entries/{entry_id}.yaml")
        for e in errors:
            report.errors.append(_row_error(n, e))
        if entry is None:
            continue
        contents[entry_id], line_of[entry_id], entries[entry_id] = content, n, entry
    if report.rows == 0 and not report.errors:
        report.errors.append("Tệp không có dòng dữ liệu nào.")
    trial = dataclasses.replace(kb, entries={**kb.entries, **entries})
    for e in validate(trial, day):
        for entry_id, n in line_of.items():
            if e.startswith(f"entries/{entry_id}.yaml:"):
                report.errors.append(_row_error(n, e))
                break
    with Session(db) as session:
        live = {row.id: dict(row.content) for row in session.exec(select(models.KnowledgeEntry))}
    for entry_id, content in contents.items():
        if entry_id not in live:
            report.added.append(entry_id)
            continue
        merged = {**content, **({"calculator": live[entry_id]["calculator"]}
                                if "calculator" in live[entry_id] and "calculator" not in content else {})}
        fields = kbedit.changed_fields(live[entry_id], merged)
        if fields:
            report.changed[entry_id] = [kbedit.LABELS.get(f, f).split(" (")[0] for f in fields]
        else:
            report.unchanged += 1
    return report, contents


def _row_error(n: int, message: str) -> str:
    m = kbedit._ERROR.match(message)
    if m is None:
        return f"Dòng {n}: {message}"
    label = kbedit.LABELS.get(m["field"], m["field"]).split(" (")[0]
    return f"Dòng {n} ({m['where']}), {label}: {kbedit._vietnamese(m['msg'], '__self__')}"


def apply(db: Engine, kb: KnowledgeBase, data: bytes, day: dt.date, user: models.User) -> Report:
    """Check the file; if it has no error, add and update its entries as new published versions."""
    report, contents = check(db, kb, data, day)
    if not report.ok:
        return report
    ids = report.added + list(report.changed)
    with Session(db) as session:
        drafts = session.exec(select(models.EntryVersion.entry_id).where(
            models.EntryVersion.state == "draft", col(models.EntryVersion.entry_id).in_(ids))).all() if ids else []
        if drafts:
            report.errors.append("Các mục đang có bản nháp, hãy xuất bản hoặc bỏ bản nháp trước: " + ", ".join(sorted(drafts)))
            return report
        now = utcnow()
        for entry_id in ids:
            content = contents[entry_id]
            row = session.get(models.KnowledgeEntry, entry_id)
            if row is None:
                row = models.KnowledgeEntry(id=entry_id, topic=content["topic"], title=content["title"], content=content)
            else:
                if "calculator" in row.content and "calculator" not in content:
                    content = {**content, "calculator": row.content["calculator"]}
                kbedit._baseline(session, entry_id)
                row.content, row.topic, row.title, row.updated_at = content, content["topic"], content["title"], now
            session.add(row)
            session.exec(update(models.EntryVersion).where(col(models.EntryVersion.entry_id) == entry_id,
                                                           col(models.EntryVersion.state) == "published")
                         .values(state="archived"))
            session.add(models.EntryVersion(entry_id=entry_id, number=kbedit._next_number(session, entry_id),
                                            state="published", content=content, note="Nhập từ tệp CSV", author_id=user.id,
                                            published_at=now))
            session.flush()
        audit(session, user, "kb.import_csv", f"{len(ids)} mục",
              {"added": report.added, "changed": report.changed, "unchanged": report.unchanged})
        session.commit()
    report.applied = True
    return report
