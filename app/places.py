"""Vietnam's provinces and centrally run cities by name, to tell when a message asks about another
province's office: "sđt bhxh tỉnh Cà Mau là số nào" must not get this office's contact details.

The 34 provinces and cities since the 2025 reorganisation (Nghị quyết 202/2025/QH15, in force 12/6/2025) and
the 63 of before, which citizens still write, with the usual short forms of Ho Chi Minh City. Names are
matched on folded text (no diacritics, lower case) as whole words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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
    # cities inside a province that people name as if they were one ("bhxh thành phố Thủ Đức", "bhxh Thủ Dầu Một")
    "thu duc", "thu dau mot",
)
_PREFIX = r"(?:tinh|thanh pho|tp|bhxh|bao hiem xa hoi|o|tai|ve|quan|huyen)"
_NAME = re.compile(
    r"(?<![a-z])(?:(?P<plain>" + "|".join(sorted(_PLAIN, key=len, reverse=True)) + r")|"
    + _PREFIX + r"\s+(?P<ambiguous>" + "|".join(_AMBIGUOUS) + r"))(?![a-z])")
# the same place under two names: Ho Chi Minh City's short forms, Huế, a city inside a province
_SAME = {"tp hcm": "ho chi minh", "tphcm": "ho chi minh", "hcm": "ho chi minh", "sai gon": "ho chi minh",
         "thua thien hue": "hue", "dac lak": "dak lak", "daklak": "dak lak", "bac can": "bac kan",
         "dac nong": "dak nong", "thu duc": "ho chi minh", "thu dau mot": "binh duong"}


# the provinces merged in 2025 (Nghị quyết 202/2025/QH15): each new province's name first, then the provinces it took in.
# An office of the new province serves them all, so a citizen who still names the old province ("bhxh Bắc Giang ở
# đâu" to the office of Bắc Ninh) asks about this office. The eleven provinces and cities left as they were are not listed.
_MERGED = (
    ("tuyen quang", "ha giang"), ("lao cai", "yen bai"), ("thai nguyen", "bac kan"),
    ("phu tho", "vinh phuc", "hoa binh"), ("bac ninh", "bac giang"), ("hung yen", "thai binh"),
    ("hai phong", "hai duong"), ("ninh binh", "ha nam", "nam dinh"), ("quang tri", "quang binh"),
    ("da nang", "quang nam"), ("quang ngai", "kon tum"), ("gia lai", "binh dinh"), ("khanh hoa", "ninh thuan"),
    ("lam dong", "dak nong", "binh thuan"), ("dak lak", "phu yen"),
    ("ho chi minh", "binh duong", "ba ria vung tau", "ba ria", "vung tau"), ("dong nai", "binh phuoc"),
    ("tay ninh", "long an"), ("can tho", "soc trang", "hau giang"), ("vinh long", "ben tre", "tra vinh"),
    ("dong thap", "tien giang"), ("ca mau", "bac lieu"), ("an giang", "kien giang"),
)
_PROVINCE_OF = {name: group for group in _MERGED for name in group}


def _folded_words(text: str) -> str:
    """The text folded (no diacritics, lower case) to its words and numbers, one space apart: what names are matched on."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def same_province(names: set[str]) -> set[str]:
    """`names` with every province merged with one of them in 2025, before or after ("bac ninh" -> {"bac ninh",
    "bac giang"}): the places one provincial office serves."""
    return {other for name in names for other in _PROVINCE_OF.get(name, (name,))}


def provinces_named(text: str) -> set[str]:
    """The provinces and cities a text names (folded, one name for each place)."""
    folded = _folded_words(text)
    return {_SAME.get(name, name) for m in _NAME.finditer(folded) for name in (m.group("plain") or m.group("ambiguous"),)}


def without_places(text: str) -> str:
    """The folded text with the provinces and cities it names left out ("bao hiem xa hoi tinh lam dong" ->
    "bao hiem xa hoi tinh"): a greeting that addresses an office by its province asks nothing more."""
    folded = _folded_words(text)
    return " ".join(_NAME.sub(" ", folded).split())


def other_province(text: str, own: str) -> str:
    """A province or city the text names that `own` (this office's name and province name) does not, or "". The
    provinces merged into this office's in 2025 are its own ("trụ sở chuyển sang Bắc Giang à" to the office of Bắc Ninh)."""
    mine = same_province(provinces_named(own))
    return next(iter(sorted(provinces_named(text) - mine)), "")


# an office named by its province ("bhxh tỉnh Thái Nguyên", "bảo hiểm xã hội TP.HCM") beside a question where it is or how
# to reach it: the message asks about that office, whatever else it asks
_OFFICE_OF = re.compile(r"(?<![a-z])(?:bhxh|bao hiem xa hoi)(?: (?:tinh|thanh pho|tp))?((?: [a-z0-9]+){1,4})")
_WHERE = re.compile(r"(?<![a-z])(?:o dau|dia chi|cho nao|so dien thoai|sdt|hotline|tong dai|gio lam viec)(?![a-z])")
_NEAR = 12  # characters between the office's name and the question ("BHXH Thái Nguyên ở đâu", "sđt của bhxh tỉnh Cà Mau")


def _offices(folded: str) -> Iterator[tuple[int, str, int]]:
    """(start, province, end) for each office the folded text names by its province ("bhxh tỉnh Thái Nguyên", "bảo hiểm
    xã hội TP.HCM"): where its mention starts, the province (one name for each place) and where the name ends."""
    for m in _OFFICE_OF.finditer(folded):
        # the office's name is the words right after "bhxh (tỉnh)" ("bhxh ở Hà Nội" is where, not whose)
        words = m.group(1).lstrip()
        # a name that is also an everyday word counts only after a prefix: read it as if "tỉnh" came first
        plain = _NAME.match(words)
        found = plain or _NAME.match("tinh " + words)
        if not found:
            continue
        name = found.group("plain") or found.group("ambiguous")
        yield m.start(), _SAME.get(name, name), m.end() - len(words) + found.end() - (0 if plain else len("tinh "))


def names_office_of(text: str, own: str) -> bool:
    """Whether the text names this office (`own`: its name and province name) by its province: "muốn gọi điện hỏi
    BHXH tỉnh Thanh Hóa nhưng không biết số nào" to the office of Thanh Hóa asks about this office, whatever other
    province the writer lives or works in."""
    mine = same_province(provinces_named(own))
    return bool(mine) and any(name in mine for _, name, _ in _offices(_folded_words(text)))


def asks_for_office_of(text: str, own: str) -> str:
    """A province other than `own` whose office the text names right beside a question where it is or how to reach
    it ("BHXH Thái Nguyên ở đâu ạ, em cần nộp hồ sơ ở đấy", "sđt bhxh tỉnh Cà Mau"), or "". A province named only
    as where one lives ("tôi ở Thái Nguyên, bhxh tự nguyện đăng ký ở đâu") or an office a letter is addressed to,
    far from its question ("Kính gửi BHXH tỉnh …"), is not asked about."""
    folded = _folded_words(text)
    wheres = [(w.start(), w.end()) for w in _WHERE.finditer(folded)]
    if not wheres:
        return ""
    mine = same_province(provinces_named(own))
    for start, name, end in _offices(folded):
        if name not in mine and any(-_NEAR <= ws - end <= _NEAR or 0 <= start - we <= _NEAR for ws, we in wheres):
            return name
    return ""
