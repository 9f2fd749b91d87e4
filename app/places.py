"""Vietnam's provinces and centrally run cities by name, to tell when a message asks about another
province's office: "sđt bhxh tỉnh Cà Mau là số nào" must not get this office's contact details.

The 34 provinces and cities since the 2025 reorganisation (Nghị quyết 202/2025/QH15, in force 12/6/2025) and
the 63 of before, which citizens still write, with the usual short forms of Ho Chi Minh City. Names are
matched on folded text (no diacritics, lower case) as whole words.
"""

from __future__ import annotations

import re

from app.text import fold

# names that are also everyday words ("tham gia lại" folds to "tham gia lai", "đóng lại cháu" to
# "dong lai chau", "Huệ" to "hue") count only after "tỉnh", "thành phố", "tp", "bhxh" or "ở"/"tại"
_AMBIGUOUS = ("hue", "gia lai", "lai chau", "ha nam", "long an", "hoa binh", "ben tre", "quang nam", "nam dinh",
              "binh dinh", "phu yen", "an giang", "tay ninh", "son la", "yen bai", "ha tinh", "bac lieu",
              "ha giang", "kon tum", "tien giang", "hau giang", "dong thap", "vinh long")
_PLAIN = (
    "ha noi", "hai phong", "da nang", "can tho", "thua thien hue", "ho chi minh", "tp hcm", "tphcm", "hcm",
    "sai gon", "cao bang", "dien bien", "lang son", "quang ninh", "thanh hoa", "nghe an", "tuyen quang", "lao cai",
    "thai nguyen", "phu tho", "bac ninh", "hung yen", "ninh binh", "quang tri", "quang ngai", "khanh hoa",
    "lam dong", "dak lak", "dac lak", "daklak", "dong nai", "ca mau", "bac kan", "bac can", "bac giang",
    "vinh phuc", "hai duong", "thai binh", "quang binh", "ninh thuan", "binh thuan", "dak nong", "dac nong",
    "binh duong", "ba ria vung tau", "ba ria", "vung tau", "binh phuoc", "soc trang", "tra vinh", "kien giang",
)
_PREFIX = r"(?:tinh|thanh pho|tp|bhxh|bao hiem xa hoi|o|tai|ve|quan|huyen)"
_NAME = re.compile(
    r"(?<![a-z])(?:(?P<plain>" + "|".join(sorted(_PLAIN, key=len, reverse=True)) + r")|"
    + _PREFIX + r"\s+(?P<ambiguous>" + "|".join(_AMBIGUOUS) + r"))(?![a-z])")
# the same place under two names: Ho Chi Minh City's short forms, Huế
_SAME = {"tp hcm": "ho chi minh", "tphcm": "ho chi minh", "hcm": "ho chi minh", "sai gon": "ho chi minh",
         "thua thien hue": "hue", "dac lak": "dak lak", "daklak": "dak lak", "bac can": "bac kan",
         "dac nong": "dak nong"}


def provinces_named(text: str) -> set[str]:
    """The provinces and cities a text names (folded, one name for each place)."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(text)))
    return {_SAME.get(name, name) for m in _NAME.finditer(folded) for name in (m.group("plain") or m.group("ambiguous"),)}


def without_places(text: str) -> str:
    """The folded text with the provinces and cities it names left out ("bao hiem xa hoi tinh lam dong" ->
    "bao hiem xa hoi tinh"): a greeting that addresses an office by its province asks nothing more."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(text)))
    return " ".join(_NAME.sub(" ", folded).split())


def other_province(text: str, own: str) -> str:
    """A province or city the text names that `own` (this office's name and province name) does not, or ""."""
    mine = provinces_named(own)
    return next(iter(sorted(provinces_named(text) - mine)), "")
