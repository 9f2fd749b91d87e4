"""Legal parameters with dated values, and numbers that remember whether they are verified.

A `Quantity` is a Decimal that carries a `verified` flag through arithmetic: a
figure computed from an unverified value is itself unverified, and the
formatters mark it so that no answer states it as fact.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

UNITS = {"dong", "rate", "months", "years", "count", "days"}


def _dec(value: Any) -> Decimal:
    if isinstance(value, Quantity):
        return value.value
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


class Quantity:
    """A number from the parameters; arithmetic keeps the weakest verification."""

    __slots__ = ("value", "verified")

    def __init__(self, value: Any, verified: bool = True):
        self.value = _dec(value)
        self.verified: bool = verified and not (isinstance(value, Quantity) and not value.verified)

    def _op(self, other: Any, fn) -> Quantity:
        verified = self.verified and (other.verified if isinstance(other, Quantity) else True)
        return Quantity(fn(self.value, _dec(other)), verified)

    def __add__(self, o):
        return self._op(o, lambda a, b: a + b)

    def __radd__(self, o):
        return self._op(o, lambda a, b: b + a)

    def __sub__(self, o):
        return self._op(o, lambda a, b: a - b)

    def __rsub__(self, o):
        return self._op(o, lambda a, b: b - a)

    def __mul__(self, o):
        return self._op(o, lambda a, b: a * b)

    def __rmul__(self, o):
        return self._op(o, lambda a, b: b * a)

    def __truediv__(self, o):
        return self._op(o, lambda a, b: a / b)

    def __rtruediv__(self, o):
        return self._op(o, lambda a, b: b / a)

    def __neg__(self):
        return Quantity(-self.value, self.verified)

    def _cmp(self, o) -> int:
        a, b = self.value, _dec(o)
        return (a > b) - (a < b)

    def __lt__(self, o):
        return self._cmp(o) < 0

    def __le__(self, o):
        return self._cmp(o) <= 0

    def __gt__(self, o):
        return self._cmp(o) > 0

    def __ge__(self, o):
        return self._cmp(o) >= 0

    def __eq__(self, o):
        try:
            return self._cmp(o) == 0
        except (TypeError, ArithmeticError, ValueError):
            return NotImplemented

    def __hash__(self):
        return hash(self.value)

    def __int__(self):
        return int(self.value)

    def __float__(self):
        return float(self.value)

    def __bool__(self):
        return bool(self.value)

    def __str__(self):
        return num(self)

    def __repr__(self):
        return f"Quantity({self.value}, verified={self.verified})"


def as_quantity(value: Any) -> Quantity:
    return value if isinstance(value, Quantity) else Quantity(value)


# --- Vietnamese formatting ---------------------------------------------------

UNVERIFIED_MARK = " (*)"


def _group(digits: str) -> str:
    out: list[str] = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return ".".join(out)


def format_number(value: Any, places: int = 2) -> str:
    """1366200 -> '1.366.200'; 1.5 -> '1,5' (Vietnamese separators)."""
    d = _dec(value)
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    text = f"{abs(q):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return sign + _group(whole) + ("," + frac if frac else "")


def _mark(value: Any) -> str:
    return UNVERIFIED_MARK if isinstance(value, Quantity) and not value.verified else ""


def num(value: Any) -> str:
    return format_number(value) + _mark(value)


def vnd(value: Any) -> str:
    """An amount in đồng, rounded to the đồng: '1.366.200 đồng'."""
    return format_number(_dec(value), places=0) + " đồng" + _mark(value)


def pct(value: Any) -> str:
    """A rate as a percentage: 0.045 -> '4,5%'."""
    return format_number(_dec(value) * 100) + "%" + _mark(value)


def age(months: Any) -> str:
    """Age in months -> '61 tuổi 6 tháng'."""
    total = int(_dec(months))
    years, rest = divmod(total, 12)
    text = f"{years} tuổi" + (f" {rest} tháng" if rest else "")
    return text + _mark(months)


def date_vn(value: dt.date | str) -> str:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return f"{value.day}/{value.month}/{value.year}"


# --- Parameters ---------------------------------------------------------------


@dataclass(frozen=True)
class ParameterValue:
    key: str
    value: Decimal
    effective_from: dt.date
    legal_basis: str
    verified: bool
    source: str = ""
    note: str = ""
    province: str = ""  # "" for the national value, else the province whose own value this is

    @property
    def quantity(self) -> Quantity:
        return Quantity(self.value, self.verified)


@dataclass
class Parameter:
    key: str
    label: str
    unit: str
    values: list[ParameterValue]

    def scoped(self, province: str = "") -> list[ParameterValue]:
        """The national values (province "") or one province's own values, oldest first."""
        return sorted((v for v in self.values if v.province == province), key=lambda v: v.effective_from)

    def at(self, day: dt.date, province: str = "") -> ParameterValue | None:
        """The value in force on `day`: the province's own value once one is in force, else the national one."""
        for scope in ([province] if province else []) + [""]:
            current = None
            for value in self.scoped(scope):
                if value.effective_from <= day:
                    current = value
            if current is not None:
                return current
        return None

    def upcoming(self, day: dt.date, province: str = "") -> ParameterValue | None:
        later = [v for v in self.values if v.effective_from > day and v.province in ("", province)]
        return min(later, key=lambda v: (v.effective_from, v.province == "")) if later else None


class ParameterError(ValueError):
    pass


class ParameterSet:
    """All parameters; `view(day)` gives what answers see on that day."""

    def __init__(self, parameters: dict[str, Parameter]):
        self.parameters = parameters

    def __contains__(self, key: str) -> bool:
        return key in self.parameters

    def get(self, key: str) -> Parameter:
        try:
            return self.parameters[key]
        except KeyError:
            raise ParameterError(f"unknown parameter '{key}'") from None

    def value_at(self, key: str, day: dt.date, province: str = "") -> ParameterValue:
        value = self.get(key).at(day, province)
        if value is None:
            raise ParameterError(f"parameter '{key}' has no value in force on {day.isoformat()}")
        return value

    def view(self, day: dt.date, province: str = "") -> ParameterView:
        return ParameterView(self, day, province)

    def provinces(self) -> set[str]:
        """The provinces that have values of their own."""
        return {v.province for p in self.parameters.values() for v in p.values if v.province}


class ParameterView:
    """Attribute access to the values in force on one day, for one province (or nationally): `p.luong_co_so`.

    Every value read is recorded (`used`), so that an answer can name the legal basis of exactly the
    values it used (`app.knowledge.Renderer.finish`). Templates and `app.calculators.Formulas` read
    parameters only through a view."""

    def __init__(self, params: ParameterSet, day: dt.date, province: str = ""):
        self._params = params
        self.day = day
        self.province = province
        self._used: dict[str, ParameterValue] = {}

    def value(self, key: str) -> ParameterValue:
        """The value in force (ParameterError if none), recorded as used."""
        value = self._params.value_at(key, self.day, self.province)
        self._used[key] = value
        return value

    def __getattr__(self, key: str) -> Quantity:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self.value(key).quantity
        except ParameterError as exc:
            raise AttributeError(str(exc)) from None

    def __getitem__(self, key: str) -> Quantity:
        return self.value(key).quantity

    def since(self, key: str) -> dt.date:
        """The day the value of `key` in force took effect (a rule's own start date, e.g. a law's), recorded as used."""
        return self.value(key).effective_from

    def used(self) -> list[ParameterValue]:
        """The values read since the last `forget()`, in the order first read."""
        return list(self._used.values())

    def forget(self) -> None:
        self._used.clear()


# --- Legal bases ---------------------------------------------------------------------

# A reference names a document, optionally with articles: "Nghị định 188/2025/NĐ-CP, Điều 6";
# several are joined with ";". Only a text that starts with a document type is a document: a value
# whose legal_basis is an explanation ("Mức chung toàn quốc: ...") is never cited.
_DOC_TYPES = ("Luật", "Bộ luật", "Nghị định", "Nghị quyết", "Quyết định", "Thông tư", "Hiến pháp")
_NUMBER_RE = re.compile(r"\b\d+/\d{4}/[A-ZĐa-zđ0-9\-]+")
_ARTICLE_RE = re.compile(r",?\s*Điều\s+(\d+[a-zđ]?(?:\(\d+\))*(?:\([a-zđ]\))*(?:[–-]\d+)?)")


@dataclass(frozen=True)
class Reference:
    """One document with the articles cited (empty: the document as a whole)."""

    document: str
    articles: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The document's identity: its number ("73/2024/NĐ-CP"), or its name when it has no number of its
        own ("Luật BHYT (sửa đổi bởi Luật 51/2024/QH15)": the number in brackets is another document's)."""
        found = _NUMBER_RE.search(self.document.split("(")[0])
        return found.group(0) if found else " ".join(self.document.lower().split())

    @property
    def is_law(self) -> bool:
        """A law (Luật, Bộ luật) states rules; values are set by decrees and decisions."""
        return self.document.startswith(("Luật", "Bộ luật"))

    def __str__(self) -> str:
        return self.document + "".join(f", Điều {a}" for a in self.articles)


def _article_order(article: str) -> tuple[int, str]:
    digits = re.match(r"\d+", article)
    return (int(digits.group(0)) if digits else 0, article)


def parse_references(text: str) -> list[Reference]:
    """The documents a legal-basis text names; texts that name no document give none."""
    refs = []
    for part in text.split(";"):
        part = part.strip()
        if not part.startswith(_DOC_TYPES):
            continue
        articles = tuple(_ARTICLE_RE.findall(part))
        document = _ARTICLE_RE.sub("", part).strip().rstrip(",").strip()
        refs.append(Reference(document, articles))
    return refs


def merge_references(texts: list[str]) -> list[str]:
    """One citation per document, in first-mention order, with the union of the articles; texts that
    name no document are kept as they are. A decree or decision also cited as a whole (a value whose article
    is not known) is cited as a whole, so that no article is named for a value it does not set; a law
    keeps its articles (its other citations add no article)."""
    order: list[str] = []
    merged: dict[str, tuple[str, set[str] | None]] = {}
    whole: set[str] = set()  # decrees and decisions cited as a whole somewhere: cited as a whole
    for text in texts:
        refs = parse_references(text)
        if not refs:
            if text not in order:
                order.append(text)
                merged[text] = (text, None)
            continue
        for ref in refs:
            if not ref.articles and not ref.is_law:
                whole.add(ref.key)
            if ref.key not in merged:
                order.append(ref.key)
                merged[ref.key] = (ref.document, set(ref.articles))
            else:
                document, articles = merged[ref.key]
                if articles is not None:
                    articles.update(ref.articles)
    out = []
    for key in order:
        document, articles = merged[key]
        if articles is None or key in whole:
            out.append(document)
        else:
            # a whole article covers its clauses: "Điều 70" and "Điều 70(1)" cite "Điều 70"
            kept = {a for a in articles if a.split("(")[0] == a or a.split("(")[0] not in articles}
            out.append(str(Reference(document, tuple(sorted(kept, key=_article_order)))))
    return out

    def since(self, key: str) -> dt.date:
        """The day the value of `key` in force took effect (a rule's own start date, e.g. a law's)."""
        return self._params.value_at(key, self.day, self.province).effective_from


PROVINCES_KEY = "provinces"  # parameters.yaml: `provinces: {code: {parameter key: [dated values]}}`


def _parse_values(raw_values: Any, key: str, where: str, province: str, errors: list[str]) -> list[ParameterValue]:
    values = []
    seen_dates = set()
    if not isinstance(raw_values, list):
        errors.append(f"{where}: expected a list of dated values")
        return []
    for i, raw in enumerate(raw_values):
        vwhere = f"{where}[{i}]"
        if not isinstance(raw, dict):
            errors.append(f"{vwhere}: expected a mapping with value, from, legal_basis, verified")
            continue
        try:
            value = _dec(raw["value"])
        except (KeyError, TypeError, ArithmeticError, ValueError):
            errors.append(f"{vwhere}.value: missing or not a number")
            continue
        day = raw.get("from")
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, dt.date):
            errors.append(f"{vwhere}.from: missing or not a date (YYYY-MM-DD)")
            continue
        if day in seen_dates:
            errors.append(f"{vwhere}.from: two values take effect on {day.isoformat()}")
        seen_dates.add(day)
        if not raw.get("legal_basis"):
            errors.append(f"{vwhere}.legal_basis: missing")
        if not isinstance(raw.get("verified"), bool):
            errors.append(f"{vwhere}.verified: must be true or false")
        values.append(
            ParameterValue(
                key=key,
                value=value,
                effective_from=day,
                legal_basis=str(raw.get("legal_basis") or ""),
                verified=bool(raw.get("verified")),
                source=str(raw.get("source") or ""),
                note=str(raw.get("note") or ""),
                province=province,
            )
        )
    return values


def parse_parameters(data: dict[str, Any], origin: str = "parameters.yaml") -> tuple[ParameterSet, list[str]]:
    """Build a ParameterSet from the YAML mapping; returns it with a list of errors. Province codes in the
    `provinces:` section are checked against the configured provinces elsewhere (app.provinces)."""
    errors: list[str] = []
    parameters: dict[str, Parameter] = {}
    if not isinstance(data, dict):
        return ParameterSet({}), [f"{origin}: expected a mapping of parameter keys"]
    local = data.get(PROVINCES_KEY) or {}
    data = {k: v for k, v in data.items() if k != PROVINCES_KEY}
    for key, spec in data.items():
        where = f"{origin}: {key}"
        if not isinstance(spec, dict):
            errors.append(f"{where}: expected a mapping with label, unit, values")
            continue
        unit = spec.get("unit")
        if unit not in UNITS:
            errors.append(f"{where}.unit: must be one of {sorted(UNITS)}, got {unit!r}")
        if not spec.get("label"):
            errors.append(f"{where}.label: missing")
        values = _parse_values(spec.get("values") or [], key, f"{where}.values", "", errors)
        if not values:
            errors.append(f"{where}.values: at least one dated value is required")
        parameters[key] = Parameter(key=key, label=str(spec.get("label") or ""), unit=str(unit), values=values)
    if not isinstance(local, dict):
        errors.append(f"{origin}: {PROVINCES_KEY}: expected a mapping of province codes")
        local = {}
    for province, keys in local.items():
        where = f"{origin}: {PROVINCES_KEY}.{province}"
        if not isinstance(keys, dict):
            errors.append(f"{where}: expected a mapping of parameter keys to dated values")
            continue
        for key, raw_values in keys.items():
            if key not in parameters:
                errors.append(f"{where}.{key}: no national parameter '{key}' (a province value replaces one)")
                continue
            parameters[key].values.extend(_parse_values(raw_values, key, f"{where}.{key}", str(province), errors))
    return ParameterSet(parameters), errors


def dump_parameters(params: ParameterSet) -> dict[str, Any]:
    """The YAML mapping for a ParameterSet (inverse of parse_parameters)."""
    def dump(values: list[ParameterValue]) -> list[dict[str, Any]]:
        out = []
        for v in values:
            number = int(v.value) if v.value == v.value.to_integral_value() else float(v.value)
            item: dict[str, Any] = {
                "value": number,
                "from": v.effective_from,
                "legal_basis": v.legal_basis,
                "verified": v.verified,
            }
            if v.source:
                item["source"] = v.source
            if v.note:
                item["note"] = v.note
            out.append(item)
        return out

    out: dict[str, Any] = {}
    for key, param in params.parameters.items():
        out[key] = {"label": param.label, "unit": param.unit, "values": dump(param.scoped(""))}
    local: dict[str, Any] = {}
    for province in sorted(params.provinces()):
        local[province] = {key: dump(param.scoped(province)) for key, param in params.parameters.items()
                           if param.scoped(province)}
    if local:
        out[PROVINCES_KEY] = local
    return out
