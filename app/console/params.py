"""Legal parameters for admins: the list with every dated value, adding a new value (usually with
a future effective date), and a preview of which answers change on that date and how."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app import models
from app.console.auth import audit
from app.knowledge import KnowledgeBase, RenderError
from app.parameters import Parameter, ParameterSet, ParameterValue, format_number

UNITS = {"dong": "đồng", "rate": "tỉ lệ", "months": "tháng", "years": "năm", "count": "số lượng", "days": "ngày"}


class ParamError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors  # field -> Vietnamese message


def show(value: Decimal, unit: str) -> str:
    if unit == "rate":
        return f"{format_number(value * 100)}%"
    text = format_number(value, places=0 if unit == "dong" else 2)
    return f"{text} đồng" if unit == "dong" else text


@dataclass
class ValueRow:
    value: str
    effective_from: dt.date
    legal_basis: str
    verified: bool
    source: str
    note: str
    state: str  # past | current | future
    province: str = ""  # "" national, else the province's own value


@dataclass
class ParamRow:
    key: str
    label: str
    unit: str
    values: list[ValueRow]


def listing(kb: KnowledgeBase, day: dt.date, scope: str | None = None) -> list[ParamRow]:
    """Every parameter's values: the national ones and, for a province's user (`scope`), that province's
    own; for a user of every province (None), every province's. "current" is what that province's
    citizens (or, for None, citizens of provinces without their own value) get today."""
    rows = []
    for key, p in sorted(kb.parameters.parameters.items()):
        current = p.at(day, scope or "")
        values = []
        for v in sorted(p.values, key=lambda v: (v.province, v.effective_from)):
            if scope is not None and v.province not in ("", scope):
                continue
            in_force = v is current or (scope is None and v.province and v is p.at(day, v.province))
            state = "future" if v.effective_from > day else ("current" if in_force else "past")
            values.append(ValueRow(show(v.value, p.unit), v.effective_from, v.legal_basis, v.verified, v.source, v.note,
                                   state, v.province))
        rows.append(ParamRow(key, p.label, UNITS.get(p.unit, p.unit), values))
    return rows


def parse(kb: KnowledgeBase, form: dict[str, str], province: str = "") -> ParameterValue:
    """A new value from the form (a national one, or `province`'s own), or ParamError with a message per field."""
    errors: dict[str, str] = {}
    key = (form.get("key") or "").strip()
    param = kb.parameters.parameters.get(key)
    if param is None:
        errors["key"] = "Chọn một tham số có trong danh sách."
    raw = re.sub(r"\s", "", form.get("value") or "")
    dong = param is not None and param.unit == "dong"
    raw = raw.replace(".", "").replace(",", "") if dong else raw.replace(",", ".")  # 2.800.000 đồng; 0,22
    value = None
    try:
        value = Decimal(raw)
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["value"] = "Giá trị phải là một số không âm (ví dụ 2.800.000 hoặc 0,22)."
    if param is not None and param.unit == "rate" and value is not None and value > 1:
        errors["value"] = "Tỉ lệ ghi dưới dạng số thập phân: 22% là 0,22."
    try:
        day = dt.date.fromisoformat((form.get("effective_from") or "").strip())
    except ValueError:
        day = None
        errors["effective_from"] = "Ngày hiệu lực không hợp lệ; dùng dạng YYYY-MM-DD."
    if param is not None and day is not None and any(v.effective_from == day and v.province == province
                                                     for v in param.values):
        errors["effective_from"] = "Tham số này đã có giá trị từ ngày này."
    legal = (form.get("legal_basis") or "").strip()
    if not legal:
        errors["legal_basis"] = "Cần ghi căn cứ pháp lý."
    if errors or value is None or day is None:
        raise ParamError(errors)
    return ParameterValue(key=key, value=value, effective_from=day, legal_basis=legal[:500],
                          verified=form.get("verified") in ("1", "on", "true"),
                          source=(form.get("source") or "").strip()[:500], note=(form.get("note") or "").strip()[:500],
                          province=province)


def with_value(kb: KnowledgeBase, new: ParameterValue) -> KnowledgeBase:
    params = dict(kb.parameters.parameters)
    old = params[new.key]
    params[new.key] = Parameter(old.key, old.label, old.unit, [*old.values, new])
    return dataclasses.replace(kb, parameters=ParameterSet(params))


@dataclass
class Change:
    entry_id: str
    title: str
    diff: list[tuple[str, str]]


def preview(kb: KnowledgeBase, new: ParameterValue) -> list[Change]:
    """Every answer that reads differently on the new value's first day, with a line diff."""
    after = with_value(kb, new)
    day = new.effective_from
    changes = []
    for entry in sorted(kb.entries.values(), key=lambda e: e.id):
        if not entry.active_on(day):
            continue
        try:
            old_text = kb.renderer(day, new.province).entry_message(entry)
        except RenderError:
            old_text = ""
        try:
            new_text = after.renderer(day, new.province).entry_message(entry)
        except RenderError as exc:
            new_text = f"[không hiển thị được: {exc}]"
        if old_text != new_text:
            lines = [("del" if line.startswith("-") else "add" if line.startswith("+") else "same", line)
                     for line in difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), lineterm="", n=0)
                     if not line.startswith(("---", "+++", "@@"))]
            changes.append(Change(entry.id, entry.title, lines))
    return changes


def add(db: Engine, kb: KnowledgeBase, new: ParameterValue, user: models.User) -> None:
    param = kb.parameters.parameters[new.key]
    with Session(db) as session:
        exists = session.exec(select(models.ParameterValueRow.id).where(
            models.ParameterValueRow.key == new.key, models.ParameterValueRow.province == new.province,
            models.ParameterValueRow.effective_from == new.effective_from)).first()
        if exists is not None:
            raise ParamError({"effective_from": "Tham số này đã có giá trị từ ngày này."})
        session.add(models.ParameterValueRow(key=new.key, label=param.label, unit=param.unit, value=str(new.value),
                                             effective_from=new.effective_from, legal_basis=new.legal_basis,
                                             verified=new.verified, source=new.source, note=new.note,
                                             province=new.province))
        audit(session, user, "parameter.add", new.key,
              {"value": str(new.value), "effective_from": new.effective_from.isoformat(), "verified": new.verified,
               "legal_basis": new.legal_basis, "province": new.province})
        session.commit()
