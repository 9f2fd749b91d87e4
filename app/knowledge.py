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
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from app.calculators import CALCULATORS, Formulas
from app.corpus import HANDOFF_LABEL, SMALLTALK_KINDS, SMALLTALK_PREFIX
from app.parameters import (
    UNVERIFIED_MARK,
    ParameterSet,
    Reference,
    age,
    date_vn,
    dump_parameters,
    merge_references,
    num,
    parse_parameters,
    parse_references,
    pct,
    vnd,
)
from app.text import Normalizer, fold

MESSAGE_LIMIT = 2000
MIN_QUESTIONS = 8
GENERAL_TOPIC = "Chung"  # entries of every product (contacts, VssID, cards, paying online)
TOPICS = ("BHXH tự nguyện", "BHYT hộ gia đình", "BHYT học sinh, sinh viên", "BHXH một lần", GENERAL_TOPIC)
CALCULATOR_NAMES = tuple(CALCULATORS)
REQUIRED = ("id", "topic", "title", "questions", "answer", "legal_basis", "effective_from", "sources",
            "last_reviewed", "related")
# legal_basis may be [] for an entry that states no rule (contacts): its answer then cites only the
# documents of the values it uses, if any; a made-up basis ("thông tin do BHXH tỉnh công bố") is not one.
OPTIONAL_EMPTY = ("legal_basis",)
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
        if name in OPTIONAL_EMPTY and data.get(name) == []:
            continue
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


# The office's contact fields a province fills in (office.yaml or the provinces file). An unfilled one is
# left out of every answer and fixed reply: nothing stands in for it.
OFFICE_CONTACTS = ("name", "address", "phone", "hours", "website", "email")
AGENCY = "cơ quan BHXH"  # what answers call the office when its name is not filled in
NATIONAL_HOTLINE_LABEL = "tổng đài BHXH Việt Nam"  # how every answer names `hotline`


@dataclass
class Office:
    name: str = ""
    address: str = ""
    phone: str = ""
    hours: str = ""
    hotline: str = "1900 9068"  # the national hotline of BHXH Việt Nam, never the office's own phone
    website: str = ""
    email: str = ""

    def missing(self) -> list[str]:
        """The contact fields not filled in."""
        return [name for name in OFFICE_CONTACTS if not getattr(self, name).strip()]

    def namespace(self) -> dict[str, str]:
        """`office.*` in answers: each field as filled in ("" when not, to be tested with `{% if %}`),
        except `name`, which reads "cơ quan BHXH" when the office's own name is not filled in."""
        return {
            "name": self.name or AGENCY,
            "own_name": self.name,
            "address": self.address,
            "phone": self.phone,
            "hours": self.hours,
            "hotline": self.hotline,
            "website": self.website,
            "email": self.email,
        }


_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")
_FIELD_RE = re.compile(r"\{(\w+)\}")


def format_reply(template: str, office: Office) -> str:
    """A fixed reply (intents.yaml) with the office's details: {office_name}, {office_hours}, {hotline}.
    A part in [square brackets] is kept only when every placeholder in it has a value, so that an
    unfilled field leaves no empty "()" behind: "[ trong giờ làm việc ({office_hours})]"."""
    values = {"office_name": office.name or AGENCY, "office_hours": office.hours, "hotline": office.hotline,
              "office_phone": office.phone, "office_address": office.address}

    def segment(match: re.Match) -> str:
        names = _FIELD_RE.findall(match.group(1))
        return match.group(1) if all(values.get(n) for n in names) else ""

    text = _SEGMENT_RE.sub(segment, template)
    text = _FIELD_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
    return re.sub(r" {2,}", " ", text).replace(" .", ".").replace(" ,", ",").strip()


def _texts(value: Any) -> tuple[str, ...]:
    """A list of phrases or examples in intents.yaml, as text ("key:" with nothing is none). An item that is itself a
    list (a YAML alias of another list: `[*lost_card, mất rồi]`) gives its items in its place."""
    return tuple(str(y) for x in value or [] for y in (x if isinstance(x, list) else [x]))


@dataclass(frozen=True)
class OutOfScopeGroup:
    """A group of questions that always go to staff, with the reason staff read."""

    id: str
    reason: str = ""
    examples: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "@" + self.id


@dataclass(frozen=True)
class Handoff:
    """Requests for a person: phrases found anywhere in a message, examples for retrieval, the reply."""

    phrases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    reply: str = ""


@dataclass(frozen=True)
class SmallTalk:
    """Greetings, thanks, goodbyes and acknowledgements: the words a small-talk message is made of,
    each kind's phrases and each kind's reply."""

    filler: tuple[str, ...] = ()
    # words that, with the filler and "hỏi", only ask leave to ask ("cho em hỏi tí được không ạ")
    asking: tuple[str, ...] = ()
    kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    replies: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SiblingCue:
    """A case one entry answers and a close sibling does not, named by its words: "sinh con" makes a voluntary member's
    "được hỗ trợ bao nhiêu" the childbirth allowance (vtn-thai-san), not the support for contributions (vtn-ho-tro)."""

    entry: str
    over: tuple[str, ...]  # the sibling entries it is told apart from
    phrases: tuple[str, ...]  # matched as whole words on folded text
    # matched as whole words with their diacritics, on the message as typed (lower-case): a word whose folded form is
    # a common other word ("đẻ" folds to "de", as "để" does), so it is a cue only when typed with its marks
    marked: tuple[str, ...] = ()
    # when given, one of these words must be in the message as well (whole words on folded text): "online" is a cue for
    # paying online only beside a word of paying ("đóng", "nộp"), not beside "mua" (where to buy, online among the ways)
    needs: tuple[str, ...] = ()
    # when given, none of these words may be in the message (whole words on folded text): "bhxh tự nguyện" is a cue
    # for the support for voluntary contributions only when the message does not also ask about a health card
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intents:
    """knowledge_base/intents.yaml, parsed: what is not a knowledge-base question and the fixed replies.
    `KnowledgeBase.intents` keeps the file's own mapping (stored, exported and fingerprinted as written)."""

    smalltalk: SmallTalk = field(default_factory=SmallTalk)
    handoff: Handoff = field(default_factory=Handoff)
    out_of_scope: tuple[OutOfScopeGroup, ...] = ()
    escalate_reply: str = ""
    clarify_prompt: str = ""
    related_prompt: str = ""
    suggest_prompt: str = ""  # over the entries suggested under an escalation, while the citizen waits for staff
    non_text_reply: str = ""
    unreadable_reply: str = ""
    # entries whose answer gives this province's own office details, and why staff get a message that asks them
    # of another province's office ("sđt bhxh tỉnh Cà Mau": app.places)
    office_entries: tuple[str, ...] = ()
    other_office_reason: str = ""
    sibling_cues: tuple[SiblingCue, ...] = ()

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> Intents:
        data = data or {}
        small = data.get("smalltalk") or {}
        handoff = data.get("handoff") or {}
        other_office = data.get("other_office") or {}
        return cls(
            smalltalk=SmallTalk(
                filler=_texts(small.get("filler")), asking=_texts(small.get("asking")),
                kinds={str(kind): _texts(phrases) for kind, phrases in (small.get("kinds") or {}).items()},
                replies={str(kind): str(text) for kind, text in (small.get("replies") or {}).items()},
            ),
            handoff=Handoff(phrases=_texts(handoff.get("phrases")), examples=_texts(handoff.get("examples")),
                            reply=str(handoff.get("reply") or "")),
            out_of_scope=tuple(OutOfScopeGroup(id=str(g["id"]), reason=str(g.get("reason") or ""),
                                               examples=_texts(g.get("examples")))
                               for g in data.get("out_of_scope") or []),
            office_entries=_texts(other_office.get("entries")),
            other_office_reason=str(other_office.get("reason") or ""),
            sibling_cues=tuple(SiblingCue(entry=str(c.get("entry") or ""), over=_texts(c.get("over")),
                                          phrases=_texts(c.get("phrases")), marked=_texts(c.get("marked")),
                                          needs=_texts(c.get("needs")), unless=_texts(c.get("unless")))
                               for c in data.get("sibling_cues") or [] if isinstance(c, dict)),
            **{name: str(data.get(name) or "") for name in
               ("escalate_reply", "clarify_prompt", "related_prompt", "suggest_prompt", "non_text_reply",
                "unreadable_reply")},
        )


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

    @cached_property
    def parsed_intents(self) -> Intents:
        """`intents`, parsed once (the mapping is not edited in place: an edit is a new KnowledgeBase)."""
        return Intents.parse(self.intents)

    def labelled_texts(self) -> dict[str, list[str]]:
        """What retrieval indexes (and the semantic model is trained on): each entry's title and
        questions under its id; out-of-scope examples under '@<group id>'; requests for a person
        (examples and phrases) under '@handoff'; each kind of small talk's phrases under
        '@smalltalk-<kind>'."""
        intents = self.parsed_intents
        texts = {entry_id: [self.entries[entry_id].title, *self.entries[entry_id].questions]
                 for entry_id in sorted(self.entries)}
        for group in intents.out_of_scope:
            texts[group.label] = list(group.examples)
        texts[HANDOFF_LABEL] = [*intents.handoff.examples, *intents.handoff.phrases]
        kinds = intents.smalltalk.kinds
        for kind in SMALLTALK_KINDS:
            if kinds.get(kind):
                texts[SMALLTALK_PREFIX + kind] = list(kinds[kind])
        return texts

    def known_labels(self) -> set[str]:
        """The labels a training or example text may carry for this knowledge base."""
        return (set(self.entries) | {g.label for g in self.parsed_intents.out_of_scope}
                | {HANDOFF_LABEL} | {SMALLTALK_PREFIX + k for k in SMALLTALK_KINDS})


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

# Limits on what an answer template may do, so that a template typed in the editor's live preview (or
# imported) cannot take the process's memory or time: no loops, macros or variables (answers need none,
# and without them a template runs once through, in time proportional to its length), no string or list
# built beyond MAX_SEQUENCE items, no power beyond MAX_POWER_BITS bits, only filters and string methods
# that cannot make a value longer, and at most MAX_OUTPUT characters rendered.
MAX_OUTPUT = 20_000
MAX_SEQUENCE = 10_000
MAX_POWER_BITS = 4_096
_FORBIDDEN_NODES = {nodes.For: "a {% for %} loop", nodes.Macro: "a macro", nodes.CallBlock: "{% call %}",
                    nodes.Assign: "a {% set %} variable", nodes.AssignBlock: "a {% set %} variable"}
_SAFE_FILTERS = ("int", "float", "round", "abs", "upper", "lower", "capitalize", "title", "trim", "default", "d",
                 "length", "count", "first", "last", "string", "e", "escape")
_SAFE_STR_METHODS = frozenset({"upper", "lower", "capitalize", "title", "strip", "lstrip", "rstrip", "startswith",
                               "endswith", "isdigit"})


class TemplateLimit(SecurityError):
    """A template that goes past the sandbox's limits (a TemplateError, reported like any other)."""


class _BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context, operator, left, right):
        if operator == "%" and isinstance(left, str):
            raise TemplateLimit("string formatting with % is not allowed in answers")
        if operator in ("*", "+"):
            sizes = [len(x) for x in (left, right) if isinstance(x, str | list | tuple)]
            counts = [x for x in (left, right) if isinstance(x, int) and not isinstance(x, bool)]
            if sizes and (sum(sizes) if operator == "+" else sizes[0] * max(counts or [1])) > MAX_SEQUENCE:
                raise TemplateLimit(f"a text or list longer than {MAX_SEQUENCE} items")
        if operator == "**" and isinstance(right, int | float) and isinstance(left, int | float):
            if abs(right) > 64 or (isinstance(left, int) and left.bit_length() * abs(right) > MAX_POWER_BITS):
                raise TemplateLimit(f"a power larger than {MAX_POWER_BITS} bits")
        return super().call_binop(context, operator, left, right)

    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, str | list | tuple | dict) and callable(value) and attr not in _SAFE_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)


_env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_env.filters = {name: _env.filters[name] for name in _SAFE_FILTERS}


class RenderError(ValueError):
    pass


@lru_cache(maxsize=4096)
def _compiled(source: str):
    """Answer templates are compiled once (compiling costs more than rendering); a template using what the
    sandbox forbids is refused (TemplateLimit) before it ever runs."""
    tree = _env.parse(source)
    for node_type, label in _FORBIDDEN_NODES.items():
        if next(tree.find_all(node_type), None) is not None:
            raise TemplateLimit(f"{label} is not allowed in answers")
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
        view = self.view

        def since(key: str) -> str:
            return date_vn(view.value(key).effective_from)

        def basis(key: str) -> str:
            return view.value(key).legal_basis

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
        """One rendering: the parameter values it reads are those `finish` cites."""
        self.view.forget()
        try:
            chunks, size = [], 0
            for chunk in _compiled(source).generate(self.namespace()):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TemplateLimit(f"the answer renders to more than {MAX_OUTPUT} characters")
                chunks.append(chunk)
            text = "".join(chunks)
        except (TemplateError, AttributeError, TypeError, KeyError, ValueError, ArithmeticError) as exc:
            raise RenderError(str(exc)) from exc
        return re.sub(r"\n{3,}", "\n\n", text).strip()

    def caveat(self) -> str:
        return (
            f"(*) Số liệu này chưa được xác nhận chính thức; bạn vui lòng kiểm tra lại với cơ quan BHXH "
            f"hoặc {NATIONAL_HOTLINE_LABEL} {self.office.hotline}."
        )

    def basis_line(self, entry: Entry | None) -> str:
        """The entry's own rule documents, then the documents of the parameter values this rendering
        read (as in force on the renderer's day), one citation per document."""
        texts = list(entry.legal_basis) if entry is not None else []
        for value in self.view.used():
            texts += [str(ref) for ref in parse_references(value.legal_basis)]
        merged = merge_references(texts)
        return "Căn cứ: " + "; ".join(merged) if merged else ""

    def finish(self, body: str, entry: Entry | None) -> str:
        """Body + unverified-figure note + legal basis, as one message. The values read since the
        rendering began (the template, or a calculator through `self.formulas`) are cited."""
        parts = [body.strip()]
        if UNVERIFIED_MARK.strip() in body:
            parts.append(self.caveat())
        line = self.basis_line(entry)
        if line:
            parts.append(line)
        self.view.forget()
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


def dated_references(params: ParameterSet) -> dict[str, list[tuple[str, Reference]]]:
    """Decrees and decisions (not laws) that are the basis of a dated value: a value of a parameter whose
    legal basis changes from one value to the next. By document key: (parameter key, reference)."""
    out: dict[str, list[tuple[str, Reference]]] = {}
    for key, param in params.parameters.items():
        if len({v.legal_basis for v in param.values}) < 2:
            continue
        for value in param.values:
            for ref in parse_references(value.legal_basis):
                if not ref.is_law:
                    out.setdefault(ref.key, []).append((key, ref))
    return out


def typed_value_basis(item: str, dated: dict[str, list[tuple[str, Reference]]]) -> str | None:
    """The parameter whose dated value `item` (one line of an entry's legal_basis) cites by hand, or None.
    A citation of the whole document, or of an article that sets the value, is typed by hand; a citation
    of other articles of the same decree states a rule and is allowed."""
    for ref in parse_references(item):
        for key, value_ref in dated.get(ref.key, []):
            if not ref.articles or set(ref.articles) & set(value_ref.articles):
                return key
    return None


# The citizen is "bạn" and the bot "tôi" everywhere. These address the citizen otherwise: paired forms
# with a slash, "quý khách/vị", and paired kinship words used as a subject ("anh chị vui lòng ...").
# Kinship words naming relatives ("anh chị em ruột", "ông bà nội") are not caught.
_ADDRESS_VERBS = (r"vui lòng|hãy|có thể|cần|nên|liên hệ|muốn|cứ|đã|chưa|đang|nhắn|gọi|hỏi|mang|chuẩn bị|"
                  r"kiểm tra|tham khảo|xem|đến|lưu ý|yên tâm|tra cứu|đóng|nộp|chọn")
_KIN = r"anh|chị|ông|bà|cô|chú|bác|em"
ADDRESS_RE = re.compile(
    rf"(?<!\w)(?:{_KIN})\s*/\s*(?:{_KIN})(?!\w)"
    rf"|(?<!\w)quý (?:khách|vị)(?!\w)"
    rf"|(?<!\w)(?:anh,? chị|ông,? bà|cô,? chú|anh \(chị\)|ông \(bà\))\s+(?:{_ADDRESS_VERBS})(?!\w)",
    re.IGNORECASE,
)


def address_forms(text: str) -> list[str]:
    """The ways `text` addresses the citizen other than "bạn"."""
    return [m.group(0) for m in ADDRESS_RE.finditer(text)]


_HOTLINE_RE = re.compile(r"(\S+(?:\s+\S+){0,6})\s*\{\{\s*office\.hotline\s*\}\}")


def _unnamed_hotline(answer: str) -> bool:
    """`office.hotline` written without naming it as the national hotline."""
    return any(not m.group(1).lower().rstrip(": ").endswith(NATIONAL_HOTLINE_LABEL.lower())
               for m in _HOTLINE_RE.finditer(answer))


# what an empty office field leaves in a sentence: "()", ", ," "Địa chỉ: " at a line's end, "( )"
_OFFICE_GAP_RE = re.compile(r"\(\s*\)|,\s*,|:[ \t]*$|:\s*[;.,]|–\s*\(|\s,\s*\.", re.MULTILINE)


def contact_warnings(office: Office, where: str) -> list[str]:
    """One line per unfilled contact field of an office (left out of every answer until filled in)."""
    missing = office.missing()
    if not missing:
        return []
    return [f"{where}: office contact fields not filled in (left out of answers): {', '.join(missing)}"]


def intent_replies(intents: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) of every fixed reply and prompt the bot sends (not the citizens' examples)."""
    out = []
    for name, value in intents.items():
        if isinstance(value, str) and (name.endswith("_reply") or name.endswith("_prompt")):
            out.append((name, value))
    for kind, text in ((intents.get("smalltalk") or {}).get("replies") or {}).items():
        out.append((f"smalltalk.replies.{kind}", str(text)))
    handoff = (intents.get("handoff") or {}).get("reply")
    if handoff:
        out.append(("handoff.reply", str(handoff)))
    return out


def validate(kb: KnowledgeBase, day: dt.date, topic_ids: list[str] | None = None,
             provinces: list[str] | None = None) -> list[str]:
    """Every problem found, each naming the entry (file) and field. `provinces`: the configured province
    codes other than `default`; a parameter value of any other province is an error."""
    errors: list[str] = []
    for code in sorted(kb.parameters.provinces() - set(provinces or [])):
        errors.append(f"parameters.yaml: provinces.{code}: province '{code}' is not declared in the provinces file"
                      + ("" if provinces else " (PROVINCES_FILE is not set)"))
    renderer = kb.renderer(day)
    bare_renderer = kb.renderer(day, office=Office(name="", hotline=kb.office.hotline))
    full_renderer = kb.renderer(day, office=Office(**{f: "x" for f in OFFICE_CONTACTS}, hotline=kb.office.hotline))
    dated = dated_references(kb.parameters)
    for name, text in intent_replies(kb.intents or {}):
        for form in address_forms(text):
            errors.append(f"intents.yaml: {name}: addresses the citizen as '{form}'; the citizen is 'bạn'")
        if "{hotline}" in text and f"{NATIONAL_HOTLINE_LABEL} {{hotline}}" not in text:
            errors.append(f"intents.yaml: {name}: {{hotline}} must be named as the national hotline: "
                          f"'{NATIONAL_HOTLINE_LABEL} {{hotline}}'")
    for entry_id in kb.parsed_intents.office_entries:
        if entry_id not in kb.entries:
            errors.append(f"intents.yaml: other_office.entries names unknown entry '{entry_id}'")
    for cue in kb.parsed_intents.sibling_cues:
        for entry_id in (cue.entry, *cue.over):
            if entry_id not in kb.entries:
                errors.append(f"intents.yaml: sibling_cues names unknown entry '{entry_id}'")
        if not cue.over or not (cue.phrases or cue.marked):
            errors.append(f"intents.yaml: sibling_cues for '{cue.entry}' needs 'over' and 'phrases' (or 'marked')")
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
        try:  # an office with nothing filled in: each unfilled field must be left out, not leave a gap
            bare = bare_renderer.entry_message(entry)
            full = full_renderer.entry_message(entry)
        except RenderError as exc:
            errors.append(f"{where}: field 'answer': does not render for an office with unfilled fields: {exc}")
        else:
            gaps = _OFFICE_GAP_RE.findall(bare)
            if len(gaps) > len(_OFFICE_GAP_RE.findall(full)):
                errors.append(f"{where}: field 'answer': an unfilled office field leaves '{gaps[-1].strip()}'; "
                              "wrap it in {% if office.<field> %}...{% endif %}")
        if len(message) > MESSAGE_LIMIT:
            errors.append(
                f"{where}: field 'answer': the rendered message is {len(message)} characters, "
                f"the limit is {MESSAGE_LIMIT}"
            )
        if re.search(r"\d{1,3}(?:[.,]\d{3})+\s*(?:đồng|đ\b)", entry.answer):
            errors.append(f"{where}: field 'answer': an amount is typed; use a parameter placeholder")
        for form in address_forms(entry.answer):
            errors.append(f"{where}: field 'answer': addresses the citizen as '{form}'; the citizen is 'bạn'")
        if _unnamed_hotline(entry.answer):
            errors.append(f"{where}: field 'answer': {{{{ office.hotline }}}} must be named as the national hotline: "
                          f"'{NATIONAL_HOTLINE_LABEL} {{{{ office.hotline }}}}'")
        for item in entry.legal_basis:
            param_key = typed_value_basis(item, dated)
            if param_key:
                errors.append(f"{where}: field 'legal_basis': '{item}' is the basis of a dated value of parameter "
                              f"'{param_key}'; an answer that uses the value cites it by itself on each date (remove it)")
    for topic_id in topic_ids or []:
        if topic_id not in kb.entries:
            errors.append(f"kb-topics.tsv: id '{topic_id}' has no entry (entries/{topic_id}.yaml)")
    for key, param in kb.parameters.parameters.items():
        if param.at(day) is None:
            errors.append(f"parameters.yaml: {key}: no value in force on {day.isoformat()}")
    return errors
