"""Personal numbers: citizen ID (12 digits), social insurance code (10 digits), health insurance card code
(2 letters and 13 digits, the last 10 being the social insurance code), phone numbers.

Staff see messages as written; everything logged or exported goes through `mask`.
"""

from __future__ import annotations

import logging
import re

# digits possibly separated by spaces, dots or dashes ("0905 123 456", "0905.123.456")
_DIGITS = r"(?<![\d])(?:\+?84[\s.-]?)?\d(?:[\s.-]?\d){8,11}(?![\d])"
_RUN_RE = re.compile(_DIGITS)
_BHXH_CONTEXT = re.compile(r"(?:ma|mã|so|số)\s*(?:so\s*|số\s*)?(?:bhxh|bhyt|bảo hiểm|bao hiem|sổ|so)\W*$", re.I)
_PHONE_PREFIX = re.compile(r"^(?:0[35789]|84[35789])")
# a health insurance card code: 2 letters (the group), 1 digit (benefit level), 2 (province), 10 (the BHXH code)
_CARD_RE = re.compile(r"(?<![^\W\d_])[A-Za-z]{2}[\s.-]?\d(?:[\s.-]?\d){12}(?![\d])")


def classify(digits: str, before: str = "") -> str | None:
    """'cccd', 'bhxh' or 'phone' for a run of digits, or None when it is not personal (a health insurance card
    code, letters and digits, is found by _CARD_RE in `_personal`)."""
    if len(digits) == 12 and not digits.startswith("84"):
        return "cccd"
    if len(digits) == 10 and _BHXH_CONTEXT.search(before[-30:]):
        return "bhxh"
    if (len(digits) == 10 and _PHONE_PREFIX.match(digits)) or (len(digits) == 11 and digits.startswith("84")):
        return "phone"
    if len(digits) == 10:
        return "bhxh"
    return None


_LABELS = {"cccd": "CCCD", "bhxh": "mã BHXH", "bhyt": "mã thẻ BHYT", "phone": "SĐT"}


def _personal(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, digits) of each personal number in `text`, in order. A card code is found first, and a
    run of digits inside it ("hs 4 79 7912345601") is not read again as an ID or a code."""
    found = [(m.start(), m.end(), "bhyt", re.sub(r"\D", "", m.group(0))) for m in _CARD_RE.finditer(text)]
    cards = [(start, end) for start, end, _, _ in found]
    for m in _RUN_RE.finditer(text):
        if any(start < m.end() and m.start() < end for start, end in cards):
            continue
        digits = re.sub(r"\D", "", m.group(0))
        kind = classify(digits, text[: m.start()])
        if kind:
            found.append((m.start(), m.end(), kind, digits))
    return sorted(found)


def find_personal_numbers(text: str) -> list[tuple[str, str]]:
    """(kind, digits) of each personal number in `text`: 'cccd', 'bhxh', 'bhyt' or 'phone'."""
    return [(kind, digits) for _, _, kind, digits in _personal(text)]


def mask(text: str | None) -> str:
    """Replace personal numbers by a label and their last 3 digits: '[SĐT ***456]'."""
    if not text:
        return text or ""
    out, at = [], 0
    for start, end, kind, digits in _personal(text):
        out += [text[at:start], f"[{_LABELS[kind]} ***{digits[-3:]}]"]
        at = end
    return "".join(out) + text[at:]


class MaskingFilter(logging.Filter):
    """Masks personal numbers in every log record that passes through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if record.args:
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        return True
