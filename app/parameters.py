"""Legal parameters with dated values, and numbers that remember whether they are verified.

A `Quantity` is a Decimal that carries a `verified` flag through arithmetic: a
figure computed from an unverified value is itself unverified, and the
formatters mark it so that no answer states it as fact.
"""

from __future__ import annotations

import datetime as dt
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
        self.verified = verified and not (isinstance(value, Quantity) and not value.verified)

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
    out = []
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

    @property
    def quantity(self) -> Quantity:
        return Quantity(self.value, self.verified)


@dataclass
class Parameter:
    key: str
    label: str
    unit: str
    values: list[ParameterValue]

    def at(self, day: dt.date) -> ParameterValue | None:
        current = None
        for value in sorted(self.values, key=lambda v: v.effective_from):
            if value.effective_from <= day:
                current = value
        return current

    def upcoming(self, day: dt.date) -> ParameterValue | None:
        later = [v for v in self.values if v.effective_from > day]
        return min(later, key=lambda v: v.effective_from) if later else None


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

    def value_at(self, key: str, day: dt.date) -> ParameterValue:
        value = self.get(key).at(day)
        if value is None:
            raise ParameterError(f"parameter '{key}' has no value in force on {day.isoformat()}")
        return value

    def view(self, day: dt.date) -> ParameterView:
        return ParameterView(self, day)


class ParameterView:
    """Attribute access to the values in force on one day: `p.luong_co_so`."""

    def __init__(self, params: ParameterSet, day: dt.date):
        self._params = params
        self.day = day

    def __getattr__(self, key: str) -> Quantity:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._params.value_at(key, self.day).quantity
        except ParameterError as exc:
            raise AttributeError(str(exc)) from None

    def __getitem__(self, key: str) -> Quantity:
        return self._params.value_at(key, self.day).quantity


def parse_parameters(data: dict[str, Any], origin: str = "parameters.yaml") -> tuple[ParameterSet, list[str]]:
    """Build a ParameterSet from the YAML mapping; returns it with a list of errors."""
    errors: list[str] = []
    parameters: dict[str, Parameter] = {}
    if not isinstance(data, dict):
        return ParameterSet({}), [f"{origin}: expected a mapping of parameter keys"]
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
        values = []
        seen_dates = set()
        for i, raw in enumerate(spec.get("values") or []):
            vwhere = f"{where}.values[{i}]"
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
                )
            )
        if not values:
            errors.append(f"{where}.values: at least one dated value is required")
        parameters[key] = Parameter(key=key, label=str(spec.get("label") or ""), unit=str(unit), values=values)
    return ParameterSet(parameters), errors


def dump_parameters(params: ParameterSet) -> dict[str, Any]:
    """The YAML mapping for a ParameterSet (inverse of parse_parameters)."""
    out: dict[str, Any] = {}
    for key, param in params.parameters.items():
        values = []
        for v in sorted(param.values, key=lambda v: v.effective_from):
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
            values.append(item)
        out[key] = {"label": param.label, "unit": param.unit, "values": values}
    return out
