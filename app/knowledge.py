"""The knowledge base: entries, parameters, synonyms, intents and office details.

`KnowledgeBase` is the in-memory form used by the answering engine. It is read
from the `knowledge_base/` files (`load_directory`) or from the database
(`app.storage`), validated by `validate`, and written back by `write_directory`.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from app.calculators import Formulas
from app.parameters import (
    UNVERIFIED_MARK,
    ParameterSet,
    age,
    date_vn,
    dump_parameters,
    num,
    parse_parameters,
    pct,
    vnd,
)
from app.text import Normalizer, fold

MESSAGE_LIMIT = 2000
MIN_QUESTIONS = 8
TOPICS = ("BHXH tự nguyện", "BHYT hộ gia đình", "BHYT học sinh, sinh viên", "BHXH một lần", "Chung")
CALCULATOR_NAMES = ("vtn", "bhyt_household", "hssv", "lump_sum", "lump_sum_vs_pension")
REQUIRED = ("id", "topic", "title", "questions", "answer", "legal_basis", "effective_from", "sources",
            "last_reviewed", "related")
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class Entry:
    id: str
    topic: str
    title: str
    questions: list[str]
    answer: str
    legal_basis: list[str]
    effective_from: dt.date | None
    effective_to: dt.date | None
    sources: list[str]
    last_reviewed: dt.date | None
    related: list[str]
    short_title: str = ""
    calculator: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "topic": self.topic,
            "title": self.title,
        }
        if self.short_title:
            data["short_title"] = self.short_title
        data.update(
            questions=list(self.questions),
            answer=self.answer,
            legal_basis=list(self.legal_basis),
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            sources=list(self.sources),
            last_reviewed=self.last_reviewed,
            related=list(self.related),
        )
        if self.calculator:
            data["calculator"] = self.calculator
        return data

    def active_on(self, day: dt.date) -> bool:
        if self.effective_from and self.effective_from > day:
            return False
        return not (self.effective_to and self.effective_to < day)


def _as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def entry_from_dict(data: dict[str, Any], origin: str) -> tuple[Entry | None, list[str]]:
    """Parse one entry mapping; errors name the file and the field."""
    errors = []
    if not isinstance(data, dict):
        return None, [f"{origin}: expected a mapping of entry fields"]
    for name in REQUIRED:
        if data.get(name) in (None, "", []):
            errors.append(f"{origin}: field '{name}' is missing or empty")
    dates = {}
    for name in ("effective_from", "effective_to", "last_reviewed"):
        try:
            dates[name] = _as_date(data.get(name))
        except ValueError:
            errors.append(f"{origin}: field '{name}' is not a date (YYYY-MM-DD): {data.get(name)!r}")
            dates[name] = None
    if errors and any("'id'" in e for e in errors):
        return None, errors
    entry = Entry(
        id=str(data.get("id") or ""),
        topic=str(data.get("topic") or ""),
        title=str(data.get("title") or "").strip(),
        short_title=str(data.get("short_title") or "").strip(),
        questions=[q.strip() for q in _as_list(data.get("questions")) if q.strip()],
        answer=str(data.get("answer") or "").strip(),
        legal_basis=_as_list(data.get("legal_basis")),
        effective_from=dates["effective_from"],
        effective_to=dates["effective_to"],
        sources=_as_list(data.get("sources")),
        last_reviewed=dates["last_reviewed"],
        related=_as_list(data.get("related")),
        calculator=data.get("calculator") or None,
    )
    return entry, errors


@dataclass
class Office:
    name: str = "Bảo hiểm xã hội tỉnh"
    address: str = ""
    phone: str = ""
    hours: str = ""
    hotline: str = "1900 9068"
    website: str = "https://baohiemxahoi.gov.vn"
    email: str = ""

    def namespace(self) -> dict[str, str]:
        return {
            "name": self.name,
            "address": self.address or "trụ sở BHXH tỉnh hoặc BHXH cơ sở nơi bạn cư trú",
            "phone": self.phone or self.hotline,
            "hours": self.hours or "giờ hành chính các ngày làm việc",
            "hotline": self.hotline,
            "website": self.website,
            "email": self.email,
        }


@dataclass
class KnowledgeBase:
    entries: dict[str, Entry]
    parameters: ParameterSet
    synonyms: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    intents: dict[str, Any] = field(default_factory=dict)
    office: Office = field(default_factory=Office)

    def normalizer(self) -> Normalizer:
        return Normalizer.from_sections(self.synonyms)

    def renderer(self, day: dt.date, province: str = "", office: Office | None = None) -> Renderer:
        """Answers as on `day` for a citizen of `province` ("" = national values) with its `office`
        (None: this knowledge base's office.yaml)."""
        return Renderer(self, day, province, office)


def fingerprint(kb: KnowledgeBase) -> str:
    """One hash of everything in a knowledge base: equal for the files and the database copy
    imported from them, different as soon as either is edited."""
    import hashlib
    import json

    content = {
        "entries": {k: e.to_dict() for k, e in sorted(kb.entries.items())},
        "parameters": dump_parameters(kb.parameters),
        "synonyms": kb.synonyms,
        "intents": kb.intents,
        "office": vars(kb.office),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


# --- Rendering ------------------------------------------------------------------

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class RenderError(ValueError):
    pass


@lru_cache(maxsize=4096)
def _compiled(source: str):
    """Answer templates are compiled once (compiling costs more than rendering)."""
    return _env.from_string(source)


class Renderer:
    """Renders answers with the parameters in force on one day, for one province (its own values
    where it has them, else the national ones) and with its office's details."""

    def __init__(self, kb: KnowledgeBase, day: dt.date, province: str = "", office: Office | None = None):
        self.kb = kb
        self.day = day
        self.province = province
        self.office = office or kb.office
        self.view = kb.parameters.view(day, province)
        self.formulas = Formulas(self.view)

    def namespace(self) -> dict[str, Any]:
        params = self.kb.parameters

        def since(key: str) -> str:
            return date_vn(params.value_at(key, self.day, self.province).effective_from)

        def basis(key: str) -> str:
            return params.value_at(key, self.day, self.province).legal_basis

        def upcoming(key: str):
            nxt = params.get(key).upcoming(self.day, self.province)
            if nxt is None:
                return None
            return {"value": nxt.quantity, "effective_from": nxt.effective_from, "legal_basis": nxt.legal_basis}

        names: dict[str, Any] = {
            "p": self.view,
            "since": since,
            "basis": basis,
            "upcoming": upcoming,
            "vnd": vnd,
            "num": num,
            "pct": pct,
            "age": age,
            "date": date_vn,
            "today": self.day,
            "office": self.office.namespace(),
        }
        names.update(self.formulas.template_names())
        return names

    def render_template(self, source: str) -> str:
        try:
            text = _compiled(source).render(self.namespace())
        except (TemplateError, AttributeError, TypeError, KeyError, ValueError, ArithmeticError) as exc:
            raise RenderError(str(exc)) from exc
        return re.sub(r"\n{3,}", "\n\n", text).strip()

    def caveat(self) -> str:
        return (
            f"(*) Số liệu này chưa được xác nhận chính thức; bạn vui lòng kiểm tra lại với cơ quan BHXH "
            f"hoặc tổng đài {self.office.hotline}."
        )

    def finish(self, body: str, entry: Entry | None) -> str:
        """Body + unverified-figure note + legal basis, as one message."""
        parts = [body.strip()]
        if UNVERIFIED_MARK.strip() in body:
            parts.append(self.caveat())
        if entry is not None and entry.legal_basis:
            parts.append("Căn cứ: " + "; ".join(entry.legal_basis))
        return "\n\n".join(parts)

    def entry_message(self, entry: Entry) -> str:
        return self.finish(self.render_template(entry.answer), entry)


# --- Files ----------------------------------------------------------------------


# libyaml's loader when PyYAML was built with it (about 15 times faster on the knowledge base: every
# process start, `kb validate` and test reads it); the pure-Python loader gives the same data otherwise
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """yaml.safe_load with the C loader where available."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader


def _read_yaml(path: Path) -> tuple[Any, str | None]:
    try:
        return load_yaml(path.read_text(encoding="utf-8")), None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, f"{path}: not valid YAML: {exc}"


def load_directory(root: Path) -> tuple[KnowledgeBase, list[str]]:
    """Read a knowledge_base/ directory; returns the KB and every error found while reading."""
    errors: list[str] = []
    entries: dict[str, Entry] = {}
    files = sorted((root / "entries").glob("*.yaml")) + sorted((root / "entries").glob("*.yml"))
    if not files:
        errors.append(f"{root / 'entries'}: no entry files found")
    for path in files:
        data, err = _read_yaml(path)
        if err:
            errors.append(err)
            continue
        entry, entry_errors = entry_from_dict(data, str(path))
        errors.extend(entry_errors)
        if entry is None:
            continue
        if entry.id and path.stem != entry.id:
            errors.append(f"{path}: field 'id' is '{entry.id}' but the file name says '{path.stem}'")
        if entry.id in entries:
            errors.append(f"{path}: field 'id': '{entry.id}' is already used by another entry")
            continue
        entries[entry.id] = entry
    params_path = root / "parameters.yaml"
    data, err = _read_yaml(params_path) if params_path.exists() else ({}, f"{params_path}: file missing")
    if err:
        errors.append(err)
    parameters, perrors = parse_parameters(data or {}, str(params_path))
    errors.extend(perrors)
    synonyms: dict[str, dict[str, list[str]]] = {}
    syn_path = root / "synonyms.yaml"
    if syn_path.exists():
        data, err = _read_yaml(syn_path)
        if err:
            errors.append(err)
        for section, groups in (data or {}).items() if isinstance(data, dict) else []:
            if section == "stopwords" and isinstance(groups, list):
                synonyms[section] = [str(w) for w in groups]  # type: ignore[assignment]
                continue
            if not isinstance(groups, dict):
                errors.append(f"{syn_path}: section '{section}' must map canonical phrases to lists of variants")
                continue
            synonyms[str(section)] = {str(c): _as_list(v) for c, v in groups.items()}
    intents: dict[str, Any] = {}
    int_path = root / "intents.yaml"
    if int_path.exists():
        data, err = _read_yaml(int_path)
        if err:
            errors.append(err)
        elif isinstance(data, dict):
            intents = data
    office = Office()
    off_path = root / "office.yaml"
    if off_path.exists():
        data, err = _read_yaml(off_path)
        if err:
            errors.append(err)
        elif isinstance(data, dict):
            office = Office(**{k: str(v) for k, v in data.items() if k in Office.__dataclass_fields__ and v})
    kb = KnowledgeBase(entries=entries, parameters=parameters, synonyms=synonyms, intents=intents, office=office)
    return kb, errors


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110)


def write_directory(kb: KnowledgeBase, root: Path) -> list[Path]:
    """Write entries and parameters as reviewed text files; returns the files written."""
    (root / "entries").mkdir(parents=True, exist_ok=True)
    written = []
    keep = set()
    for entry in kb.entries.values():
        path = root / "entries" / f"{entry.id}.yaml"
        path.write_text(dump_yaml(entry.to_dict()), encoding="utf-8")
        written.append(path)
        keep.add(path.name)
    for stale in (root / "entries").glob("*.yaml"):
        if stale.name not in keep:
            stale.unlink()
    params_path = root / "parameters.yaml"
    params_path.write_text(dump_yaml(dump_parameters(kb.parameters)), encoding="utf-8")
    written.append(params_path)
    return written


# --- Validation -----------------------------------------------------------------


def read_topic_ids(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [row["id"] for row in csv.DictReader(fh, delimiter="\t") if row.get("id")]


def validate(kb: KnowledgeBase, day: dt.date, topic_ids: list[str] | None = None,
             provinces: list[str] | None = None) -> list[str]:
    """Every problem found, each naming the entry (file) and field. `provinces`: the configured province
    codes other than `default`; a parameter value of any other province is an error."""
    errors: list[str] = []
    for code in sorted(kb.parameters.provinces() - set(provinces or [])):
        errors.append(f"parameters.yaml: provinces.{code}: province '{code}' is not declared in the provinces file"
                      + ("" if provinces else " (PROVINCES_FILE is not set)"))
    renderer = kb.renderer(day)
    owner: dict[str, str] = {}
    for entry in kb.entries.values():
        where = f"entries/{entry.id}.yaml"
        if not ID_RE.match(entry.id):
            errors.append(f"{where}: field 'id' must be lower-case letters, digits and dashes")
        if entry.topic not in TOPICS:
            errors.append(f"{where}: field 'topic' must be one of {', '.join(TOPICS)}")
        if len(entry.questions) < MIN_QUESTIONS:
            errors.append(f"{where}: field 'questions' has {len(entry.questions)}, at least {MIN_QUESTIONS} needed")
        if entry.short_title and len(entry.short_title) > 20:
            errors.append(f"{where}: field 'short_title' is longer than 20 characters")
        if entry.calculator and entry.calculator not in CALCULATOR_NAMES:
            errors.append(f"{where}: field 'calculator' must be one of {', '.join(CALCULATOR_NAMES)}")
        for rel in entry.related:
            if rel not in kb.entries:
                errors.append(f"{where}: field 'related' names unknown entry '{rel}'")
            elif rel == entry.id:
                errors.append(f"{where}: field 'related' names the entry itself")
        for question in entry.questions:
            key = " ".join(fold(question).split())
            other = owner.get(key)
            if other and other != entry.id:
                errors.append(f"{where}: field 'questions': '{question}' is also a question of entry '{other}'")
            elif other == entry.id:
                errors.append(f"{where}: field 'questions': '{question}' appears twice")
            owner[key] = entry.id
        try:
            message = renderer.entry_message(entry)
        except RenderError as exc:
            errors.append(f"{where}: field 'answer': a placeholder does not resolve: {exc}")
            continue
        if len(message) > MESSAGE_LIMIT:
            errors.append(
                f"{where}: field 'answer': the rendered message is {len(message)} characters, "
                f"the limit is {MESSAGE_LIMIT}"
            )
        if re.search(r"\d{1,3}(?:[.,]\d{3})+\s*(?:đồng|đ\b)", entry.answer):
            errors.append(f"{where}: field 'answer': an amount is typed; use a parameter placeholder")
    for topic_id in topic_ids or []:
        if topic_id not in kb.entries:
            errors.append(f"kb-topics.tsv: id '{topic_id}' has no entry (entries/{topic_id}.yaml)")
    for key, param in kb.parameters.parameters.items():
        if param.at(day) is None:
            errors.append(f"parameters.yaml: {key}: no value in force on {day.isoformat()}")
    return errors
