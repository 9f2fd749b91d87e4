"""The whole knowledge base in the `knowledge_base/` file format, as a zip: export, and import with
a dry-run report (the same checks as `bhxh-bot kb import`). A file with any error changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models, storage
from app.console import kbedit
from app.console.auth import audit
from app.knowledge import load_directory, read_topic_ids, validate, write_directory
from app.models import utcnow

ALLOWED = (".yaml", ".yml", ".tsv", ".md")
MAX_FILES = 20_000
MAX_UNPACKED = 50 * 1024 * 1024


def export_zip(db: Engine) -> bytes:
    with Session(db) as session:
        kb = storage.load_kb(session)
    out = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        root = Path(tmp) / "knowledge_base"
        write_directory(kb, root)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, str(PurePosixPath("knowledge_base") / path.relative_to(root).as_posix()))
    return out.getvalue()


@dataclass
class FilesReport:
    entries: int = 0
    parameters: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _unpack(data: bytes, target: Path) -> list[str]:
    """Extract a zip safely (no absolute paths, no '..', only knowledge-base files, bounded size);
    a single top-level folder is stripped."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return ["Tệp không phải tệp nén .zip."]
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_FILES or sum(m.file_size for m in members) > MAX_UNPACKED:
        return ["Tệp nén quá lớn."]
    errors = []
    paths = []
    for m in members:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            errors.append(f"Đường dẫn không hợp lệ trong tệp nén: {m.filename}")
            continue
        if path.suffix.lower() not in ALLOWED:
            continue
        paths.append((m, path))
    tops = {p.parts[0] for _, p in paths if len(p.parts) > 1}
    strip = len(tops) == 1 and all(len(p.parts) > 1 for _, p in paths)
    for m, path in paths:
        rel = PurePosixPath(*path.parts[1:]) if strip else path
        dest = target.joinpath(*rel.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(archive.read(m))
    if not errors and not (target / "entries").is_dir():
        errors.append("Tệp nén không có thư mục entries/ của kho kiến thức.")
    return errors


def _vietnamese(error: str) -> str:
    m = kbedit._ERROR.match(error)
    if m is None:
        return error
    label = kbedit.LABELS.get(m["field"], m["field"]).split(" (")[0]
    return f"entries/{m['where']}.yaml, {label}: {kbedit._vietnamese(m['msg'], '__self__')}"


def check(db: Engine, data: bytes, day: dt.date, topics_file: Path | None):
    report = FilesReport()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report.errors += _unpack(data, root)
        if report.errors:
            return report, None
        kb, errors = load_directory(root)
        topics = root / "topics.tsv" if (root / "topics.tsv").exists() else topics_file
        errors += validate(kb, day, read_topic_ids(topics) if topics else None)
    report.errors += [_vietnamese(e) for e in errors]
    report.entries, report.parameters = len(kb.entries), len(kb.parameters.parameters)
    with Session(db) as session:
        live = {row.id: dict(row.content) for row in session.exec(select(models.KnowledgeEntry))}
    for entry_id, entry in kb.entries.items():
        content = storage._jsonable(entry.to_dict())
        if entry_id not in live:
            report.added.append(entry_id)
        elif kbedit.changed_fields(live[entry_id], content) or live[entry_id].get("calculator") != content.get("calculator"):
            report.changed.append(entry_id)
    report.removed = sorted(set(live) - set(kb.entries))
    return report, kb


def apply(db: Engine, data: bytes, day: dt.date, topics_file: Path | None, user: models.User) -> FilesReport:
    """Replace the live knowledge base (entries, parameters, synonyms, intents, office) with the
    files, if they have no error; changed entries get a new version."""
    report, kb = check(db, data, day, topics_file)
    if not report.ok:
        return report
    with Session(db) as session:
        drafts = session.exec(select(models.EntryVersion.entry_id).where(models.EntryVersion.state == "draft")).all()
        if drafts:
            report.errors.append("Các mục đang có bản nháp, hãy xuất bản hoặc bỏ bản nháp trước: " + ", ".join(sorted(drafts)))
            return report
        now = utcnow()
        for entry_id in report.changed:
            kbedit._baseline(session, entry_id)
        for entry_id in report.added + report.changed:
            session.exec(update(models.EntryVersion).where(col(models.EntryVersion.entry_id) == entry_id,
                                                           col(models.EntryVersion.state) == "published")
                         .values(state="archived"))
            session.add(models.EntryVersion(entry_id=entry_id, number=kbedit._next_number(session, entry_id),
                                            state="published", content=storage._jsonable(kb.entries[entry_id].to_dict()),
                                            note="Nhập từ tệp kho kiến thức", author_id=user.id, published_at=now))
            session.flush()
        audit(session, user, "kb.import_files", f"{report.entries} mục, {report.parameters} tham số",
              {"added": report.added, "changed": report.changed, "removed": report.removed})
        storage.save_kb(session, kb, source="console upload")  # one transaction with the versions and the audit record
    report.applied = True
    return report
