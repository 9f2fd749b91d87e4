"""What staff read instead of codes: the audit log as Vietnamese sentences. Code and comments in
English; every returned string is Vietnamese."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app import models
from app.console.kbedit import LABELS

ROLES = {"staff": "cán bộ", "admin": "quản trị viên"}
FIELD_NAMES = {name: label.split(" (")[0].lower() for name, label in LABELS.items()}


def actor_name(actor: str) -> str:
    """The audit log's actor: an e-mail, or the command line on the server ("cli", "cli:<login>")."""
    if actor == "cli" or actor.startswith("cli:"):
        login = actor[4:]
        return "Dòng lệnh trên máy chủ" + (f" (tài khoản {login})" if login else "")
    return actor


def _date(value: Any) -> str:
    try:
        return dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def _fields(names: Any) -> str:
    names = [FIELD_NAMES.get(str(n), str(n)) for n in (names or [])]
    return ", ".join(names)


def _entry(target: str, titles: dict[str, str]) -> str:
    title = titles.get(target)
    return f"“{title}” (mã {target})" if title else f"mã {target}"


def _province(value: Any, provinces: dict[str, str]) -> str:
    return provinces.get(str(value), str(value)) if value else "mọi tỉnh"


def _user_changes(changes: dict[str, Any], provinces: dict[str, str]) -> str:
    said = []
    if "role" in changes:
        said.append(f"vai trò thành {ROLES.get(str(changes['role'][-1]), changes['role'][-1])}")
    if "active" in changes:
        said.append("mở khoá tài khoản" if changes["active"][-1] else "khoá tài khoản")
    if "province" in changes:
        said.append(f"tỉnh thành {_province(changes['province'][-1], provinces)}")
    if "password" in changes:
        said.append("đặt mật khẩu mới")
    return ", ".join(said)


def audit_sentence(row: models.AuditLog, titles: dict[str, str], provinces: dict[str, str] | None = None) -> str:
    """One audit record as a sentence: who did what to which thing. `titles`: entry id -> title."""
    provinces = provinces or {}
    who, c, target = actor_name(row.actor), row.changes or {}, row.target
    action = row.action
    if action == "user.create":
        return (f"{who} đã tạo người dùng {target} (vai trò {ROLES.get(str(c.get('role')), c.get('role'))}, "
                f"{_province(c.get('province'), provinces)}).")
    if action == "user.update":
        what = _user_changes(c, provinces)
        return f"{who} đã thay đổi người dùng {target}" + (f": {what}." if what else ".")
    if action == "user.unlock":
        return f"{who} đã mở khoá đăng nhập cho {target} (xoá {c.get('failures', 0)} lần đăng nhập sai)."
    if action == "kb.draft":
        fields = _fields(c.get("fields"))
        return f"{who} đã lưu bản nháp của mục {_entry(target, titles)}" + (f" (sửa {fields})." if fields else ".")
    if action == "kb.discard":
        return f"{who} đã bỏ bản nháp số {c.get('version')} của mục {_entry(target, titles)}."
    if action == "kb.publish":
        fields = _fields(c.get("fields"))
        return (f"{who} đã xuất bản mục {_entry(target, titles)} (bản {c.get('version')}"
                + (f"; sửa {fields}" if fields else "") + ").")
    if action == "kb.rollback":
        return (f"{who} đã khôi phục mục {_entry(target, titles)} về nội dung bản {c.get('from_version')} "
                f"(thành bản {c.get('version')}).")
    if action == "kb.create":
        return f"{who} đã tạo mục mới {_entry(target, titles)}."
    if action == "kb.add_question":
        return (f"{who} đã thêm câu hỏi “{c.get('question', '')}” vào mục {_entry(target, titles)} và xuất bản "
                f"(bản {c.get('version')}).")
    if action == "unanswered.dismissed":
        return f"{who} đã bỏ qua nhóm câu hỏi chưa trả lời được “{target}” ({c.get('questions', 1)} cách hỏi)."
    if action == "unanswered.snoozed":
        return f"{who} đã để sau {c.get('days')} ngày nhóm câu hỏi chưa trả lời được “{target}”."
    if action == "unanswered.handled":
        return (f"{who} đã xử lý nhóm câu hỏi chưa trả lời được “{target}” bằng cách thêm vào mục "
                f"{_entry(str(c.get('entry_id') or ''), titles)}.")
    if action == "unanswered.undo":
        what = {"dismissed": "bỏ qua", "snoozed": "để sau", "handled": "đã xử lý"}.get(str(c.get("state")), "")
        return f"{who} đã hoàn tác ({what}) nhóm câu hỏi “{target}”: nhóm hiện lại trong danh sách chưa trả lời được."
    if action == "kb.import_csv":
        return (f"{who} đã nhập kho kiến thức từ tệp CSV: {len(c.get('added') or [])} mục mới, "
                f"{len(c.get('changed') or [])} mục cập nhật, {c.get('unchanged', 0)} mục không đổi.")
    if action == "kb.import_files":
        return (f"{who} đã nhập toàn bộ kho kiến thức từ tệp .zip ({target}): {len(c.get('added') or [])} mục mới, "
                f"{len(c.get('changed') or [])} mục thay đổi, {len(c.get('removed') or [])} mục bị bỏ.")
    if action == "kb.import":
        return (f"{who} đã nhập toàn bộ kho kiến thức từ thư mục {target} ({c.get('entries', '?')} mục, "
                f"{c.get('parameters', '?')} tham số).")
    if action == "parameter.add":
        where = f" cho {_province(c.get('province'), provinces)}" if c.get("province") else ""
        checked = "đã xác minh" if c.get("verified") else "chưa xác minh"
        return (f"{who} đã thêm giá trị {c.get('value')} cho tham số {target}{where}, áp dụng từ ngày "
                f"{_date(c.get('effective_from'))} ({checked}; căn cứ: {c.get('legal_basis', '')}).")
    return f"{who} đã thực hiện một thay đổi khác với {target or 'hệ thống'}."
