"""Exact amounts from the parameters in force: the functions answers use, and the
calculators that answer a message carrying the citizen's own numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from app.letters import fold_employer
from app.parameters import ParameterView, Quantity, age, date_vn, num, pct, vnd
from app.text import _replace_money, extract_counts, extract_money, fold, nfc

VTN_GROUPS = {
    "ngheo": ("vtn_ho_tro_ngheo", "hộ nghèo"),
    "can_ngheo": ("vtn_ho_tro_can_ngheo", "hộ cận nghèo"),
    "dtts": ("vtn_ho_tro_dtts", "người dân tộc thiểu số"),
    "khac": ("vtn_ho_tro_khac", "đối tượng khác"),
}
_MEMBER_KEYS = {2: "bhyt_hgd_nguoi_2", 3: "bhyt_hgd_nguoi_3", 4: "bhyt_hgd_nguoi_4"}


class Formulas:
    """Derived amounts for one day; exposed to answer templates by name."""

    def __init__(self, p: ParameterView):
        self.p = p

    def vtn_gross(self, income) -> Quantity:
        return Quantity(income) * self.p.vtn_ty_le_dong

    def vtn_state_support(self, group: str = "khac") -> Quantity:
        key = VTN_GROUPS[group][0]
        return self.p[key] * self.p.vtn_ty_le_dong * self.p.vtn_thu_nhap_toi_thieu

    def vtn_local_support(self) -> Quantity:
        """The province's own top-up (0 nationally), on the same base as the state's support."""
        return self.p.vtn_ho_tro_dia_phuong * self.p.vtn_ty_le_dong * self.p.vtn_thu_nhap_toi_thieu

    def vtn_support(self, group: str = "khac") -> Quantity:
        return self.vtn_state_support(group) + self.vtn_local_support()

    def vtn_pay(self, income, group: str = "khac") -> Quantity:
        return self.vtn_gross(income) - self.vtn_support(group)

    def vtn_max_income(self) -> Quantity:
        return self.p.vtn_he_so_tran * self.p.luong_co_so

    def bhyt_first_monthly(self) -> Quantity:
        return self.p.luong_co_so * self.p.bhyt_ty_le

    def bhyt_member(self, n: int) -> Quantity:
        n = int(n)
        factor = Quantity(1) if n <= 1 else self.p[_MEMBER_KEYS.get(n, "bhyt_hgd_nguoi_5")]
        # the province's own support for household BHYT (0 nationally) lowers every member's share
        return self.bhyt_first_monthly() * 12 * factor * (1 - self.p.bhyt_hgd_ho_tro_dia_phuong)

    def bhyt_household(self, n: int) -> Quantity:
        total = Quantity(0)
        for i in range(1, int(n) + 1):
            total = total + self.bhyt_member(i)
        return total

    def hssv_year(self) -> Quantity:
        return self.bhyt_first_monthly() * 12 * (1 - self.p.hssv_ho_tro)

    def bhyt_low_cost(self) -> Quantity:
        return self.p.luong_co_so * self.p.bhyt_nguong_chi_phi_thap

    def pension_rate(self, years, male: bool) -> Quantity:
        """Pension rate for whole contribution years, at least the minimum (Luật BHXH 2024, Art. 66/99):
        women 45% at 15 years; men 45% at 20 years, 40% at 15 years + 1% a year below 20; +2% a
        year above; at most 75%."""
        p = self.p
        years = Quantity(years)
        if male and years < p.huu_so_nam_co_ban_nam:
            rate = p.huu_ty_le_nam_15 + p.huu_tang_moi_nam_nam_15 * (years - p.so_nam_dong_huong_huu)
        else:
            base_years = p.huu_so_nam_co_ban_nam if male else p.so_nam_dong_huong_huu
            rate = p.huu_ty_le_co_ban + p.huu_tang_moi_nam * (years - base_years)
        return rate if rate < p.huu_ty_le_toi_da else p.huu_ty_le_toi_da

    def retirement_extra_years(self, years, male: bool) -> Quantity:
        """Whole years above the threshold (men 35, women 30) that earn the one-time extra payment."""
        p = self.p
        threshold = p.huu_tc1l_so_nam_nam if male else p.huu_tc1l_so_nam_nu
        above = Quantity(years) - threshold
        return above if above > 0 else above * 0

    def retirement_extra(self, years, male: bool, average) -> Quantity:
        """The one-time payment at retirement: 0.5 month of the average income per year above the threshold."""
        return self.retirement_extra_years(years, male) * self.p.huu_tc1l_thang_moi_nam * average

    def lump_sum(self, years_before_2014, years_from_2014, average) -> Quantity:
        p = self.p
        return (p.bhxh1l_thang_truoc_2014 * years_before_2014 + p.bhxh1l_thang_tu_2014 * years_from_2014) * average

    def template_names(self) -> dict[str, object]:
        return {
            "vtn_gross": self.vtn_gross,
            "vtn_support": self.vtn_support,
            "vtn_state_support": self.vtn_state_support,
            "vtn_local_support": self.vtn_local_support,
            "vtn_pay": self.vtn_pay,
            "vtn_max_income": self.vtn_max_income,
            "bhyt_member": self.bhyt_member,
            "bhyt_household": self.bhyt_household,
            "hssv_year": self.hssv_year,
            "bhyt_low_cost": self.bhyt_low_cost,
        }


# --- The citizen's facts, each with its role --------------------------------------


@dataclass
class Facts:
    """What a message says about the citizen, each quantity by what it refers to (not by its position).

    Years are contribution years (months as twelfths). `split_year` is the calendar year a
    "N năm trước/từ YYYY" count was given against (the lump-sum boundary year, normally)."""

    total: Decimal | None = None  # total contribution time, years
    before: Decimal | None = None  # years before the boundary year
    after: Decimal | None = None  # years from the boundary year
    split_year: int | None = None
    start_year: int | None = None
    start_month: int | None = None
    end_year: int | None = None
    end_month: int | None = None
    end_now: bool = False  # "đến nay", "đến giờ"
    stop_year: int | None = None  # stopped contributing / left work
    stop_month: int | None = None
    out_months: int | None = None  # time out of work given as a length ("nghỉ việc được 8 tháng")
    months: Decimal | None = None  # a count of months on its own ("đóng 6 tháng")
    male: bool | None = None
    age: int | None = None
    birth_year: int | None = None
    income: Decimal | None = None
    members: int | None = None
    group: str | None = None
    voluntary: bool | None = None
    joined_before: tuple[int, int] | None = None  # "tham gia trước 1/7/2025": (year, month)
    quit: bool = False  # left work / stopped contributing
    ground: str | None = None  # a lump-sum ground other than leaving work: "dinh_cu", "benh", "suy_giam"
    number: Decimal | None = None  # a bare number (an answer to a question: "4", "6")

    def over(self, earlier: Facts) -> Facts:
        """These facts, completed with an earlier message's where this one says nothing."""
        return Facts(**{f.name: getattr(self if self._said(f) else earlier, f.name) for f in fields(self)})

    def without(self, names: tuple[str, ...]) -> Facts:
        """These facts with some of them forgotten (the ones a question asked again)."""
        defaults: dict[str, Any] = {f.name: f.default for f in fields(self)}
        return replace(self, **{n: defaults[n] for n in names})

    def _said(self, f) -> bool:
        value = getattr(self, f.name)
        return value is not None and not (value is False and f.default is False)

    @property
    def empty(self) -> bool:
        return not any(self._said(f) for f in fields(self))

    @property
    def has_years(self) -> bool:
        return any(v is not None for v in (self.total, self.before, self.after, self.start_year))




def _surface(text: str) -> str:
    """Folded text, a clause's end written ';'; a number's own '.', ',' and '/' kept ("1,5", "3/2025")."""
    folded = fold(text)
    folded = re.sub(r"(?<!\d)[.,;:!?()\n]+|[.,;:!?()\n]+(?!\d)", " ; ", folded)  # a clause ends: no role crosses it
    folded = re.sub(r"[^a-z0-9.,/; ]+", " ", folded)
    folded = re.sub(r"(?<!\d)/|/(?!\d)", " ", folded)
    return re.sub(r"\s+", " ", folded).strip(" ;")

_YEAR = r"(?:19[4-9]\d|20[0-6]\d)"
_D = r"@y(\d{4})m(\d\d)"  # a date, once written as a token
_NOW = r"(?:nay|gio|bay gio|hien nay|hien tai|luc nay)"
_COUNT = r"(\d+(?:[.,]5)?)\s*(?:nam|n)(?:\s*(\d{1,2})\s*(?:thang|th))?(?![a-z])"
# words that may stand between a count and what it refers to: "2 năm đầu là trước 2014", "3 năm đóng ở trước 2014"
_BETWEEN = r"(?:(?:dau|dau tien|la|dong|o|thi|deu|duoc|bhxh|bh|bao hiem|cua|cuoi) ){0,3}"
_STOP_WORDS = r"(?:nghi viec|thoi viec|nghi lam|mat viec|ngung dong|dung dong|nghi|bo viec)"
# "nghỉ việc được 8 tháng", "đã dừng đóng 2 năm", "nghỉ làm đã 1 năm rưỡi", "nghỉ việc được hơn 1 năm"
_OUT_OF_WORK = (rf"(?:{_STOP_WORDS}|khong dong|nghi dong)(?: (?:duoc|dc|da|roi|khoang|hon|gan|tam|moi|cung|nay|o nha))* "
                r"(\d+(?:[.,]5)?) ?(nam|thang|n)(?![a-z])(?: (\d{1,2}) thang)?( ruoi)?(?! nua| toi| sau)")

_GROUP_WORDS = [
    ("can_ngheo", r"can ngheo"),
    ("ngheo", r"(?<!can )ho ngheo|nha ngheo|xa dao|dac khu"),
    ("dtts", r"dan toc|dtts|nguoi (?:tay|nung|thai|muong|hmong|mong|dao|khmer|ede|gia rai|ba na)"),
]
_MINE = r"(?:toi|em|minh|tui|chau)"
_NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9}
_PLACE = r"(?:viet|mien|ha|quang|phia|huong|dong|tay|thai)"
# "nam" is "năm" (year) after a number, a quantifier or before a time word
_NOT_SEX_BEFORE = (r"(?:\d+|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|moi|hang|nhieu|may|bao nhieu|cac|nhung|"
                   r"trong|ca|cuoi|dau|nua|vai|tu|den|truoc|qua|nay|tuoi|so)")
_NOT_SEX_AFTER = r"(?:(?:nay|ngoai|truoc|sau|toi|qua|nao|roi|ay|do|thu|hoc|moi|dinh|bo|trung|phi|my|han|ky)(?![a-z])|\d|@)"


def _dec(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _count(m: re.Match[str]) -> Decimal:
    years = _dec(m.group(1))
    return years + (Decimal(m.group(2)) / 12 if m.group(2) else 0)


def _tokenize_dates(t: str) -> str:
    """Calendar dates become tokens '@YYYYmMM' (month 00 when not said), so that no year is read as a count."""
    t = re.sub(rf"(?<![\d/])(?:\d{{1,2}}/)?(?:thang |t)?(\d{{1,2}})/({_YEAR})(?!\d)",
               lambda m: f" @y{m[2]}m{int(m[1]):02d} " if 1 <= int(m[1]) <= 12 else m[0], t)
    t = re.sub(rf"(?<![a-z])thang (\d{{1,2}}) (?:nam )?({_YEAR})(?!\d)",
               lambda m: f" @y{m[2]}m{int(m[1]):02d} " if 1 <= int(m[1]) <= 12 else m[0], t)
    t = re.sub(rf"(?:(?<![a-z])nam )?(?<![\d.,y])({_YEAR})(?![\d.,])", lambda m: f" @y{m[1]}m00 ", t)
    return re.sub(r"\s+", " ", t).strip()


def _sex(raw: str, folded: str) -> bool | None:
    folded = re.sub(r"(?<![a-z])(?:vo chong|chong vo)(?![a-z])", " ", folded)  # a couple says nothing of one sex
    low = nfc(raw).lower()
    with_marks = fold(raw) != low.replace("đ", "d")
    female = re.search(r"(?<![a-z])(?:nu|phu nu|con gai|ba bau|lao dong nu|gioi tinh nu|ba xa|"
                       rf"(?:vo|me|ba noi|ba ngoai) {_MINE}|chi gai|em gai)(?![a-z])", folded)
    male: re.Match[str] | bool | None
    male = re.search(r"(?<![a-z])(?:dan ong|con trai|nam gioi|gioi tinh nam|lao dong nam|ong xa|bac trai|"
                     rf"(?:chong|bo|cha|chu|ong noi|ong ngoai) {_MINE}|anh trai)(?![a-z])", folded)
    # "ba em" is the father ("bà em" the grandmother), unless "ba" counts people ("nhà có ba em", "ba em và...")
    father = re.search(rf"(?<![a-z])ba {_MINE}(?![a-z])(?! (?:va|voi|cung|deu|con|nguoi|dua|be|chau))",
                       re.sub(r"(?<![a-z])(?:nha|co|gom|ca) ba ", " ", fold(re.sub(r"(?<!\w)bà(?!\w)", "bax", low))))
    female = female or (re.search(r"(?<!\w)bà (?:tôi|em|mình|tui|cháu|nội|ngoại)(?!\w)", low) if with_marks else None)
    if father and not female:
        return True
    if not male:
        words = folded.split()
        raw_words = re.findall(r"\w+", low) if with_marks else None
        for i, w in enumerate(words):
            if w != "nam":
                continue
            if with_marks and raw_words is not None and "nam" not in raw_words:
                break  # every "nam" was written "năm"
            before = " ".join(words[max(0, i - 2):i])
            after = " ".join(words[i + 1:i + 2])
            age_next = re.match(r"\d+ ?(?:t|tuoi)(?![a-z0-9])", " ".join(words[i + 1:i + 3]))  # "nam 50t": a man's age
            if re.search(rf"(?:^| ){_NOT_SEX_BEFORE}$", before) or re.search(rf"{_PLACE}$", before):
                continue
            if not with_marks and not age_next and re.match(_NOT_SEX_AFTER, after):
                continue
            male = True
            break
    if bool(male) == bool(female):
        return None
    return bool(male)


_N = r"(\d+|mot|hai|ba|bon|nam|sau|bay|tam)"
_PAIRS = r"(?:vo chong|bo me|ba me|cha me|ong ba(?: noi| ngoai)?)"


def _n(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _members(t: str) -> int | None:
    """Household members: a count of people ("cả nhà 5 người"), or the members listed in words ("bố mẹ già và 2 vợ
    chồng em" = 4, "bố mẹ và em" = 3, "vợ chồng và 3 con" = 5, "ông bà nội, bố mẹ và 2 anh em tôi" = 6)."""
    people = [n for n in extract_counts(t, "people") if 0 < n <= 30]
    if people:
        return int(people[-1])
    t = re.sub(r"\s+", " ", re.sub(r"[;,]", " ", t))
    total = 0
    groups = [
        # "2 vợ chồng em", "2 anh em tôi": the count says the people, the speaker among them
        (rf"(?<![a-z]){_N} (?:{_PAIRS}|anh em|chi em|anh chi em|me con|bo con)(?: {_MINE})?(?![a-z])", lambda m: _n(m[1])),
        (rf"(?<![a-z]){_PAIRS}(?: {_MINE}| gia)?(?![a-z])", lambda m: 2),
        (rf"(?<![a-z]){_N} (?:dua |be |chau |nguoi )?(?:con|chau)(?: {_MINE}| nho)?(?![a-z])", lambda m: _n(m[1])),
        (rf"(?<![a-z])(?:dua|be|mot) con(?: {_MINE}| nho)?(?![a-z])|(?<=va )con(?![a-z])", lambda m: 1),
        (rf"(?<![a-z])(?:(?:bo|me|cha|vo|chong) (?:{_MINE}|gia|vo|chong)|(?:ong|ba) (?:noi|ngoai)(?: {_MINE})?)(?![a-z])",
         lambda m: 1),
        (r"(?:(?<=va )|(?<=voi ))(?:vo|chong|bo|me|cha)(?![a-z])", lambda m: 1),  # "tôi và vợ"
    ]
    for pattern, count in groups:
        for m in re.finditer(pattern, t):
            total += count(m)
        t = re.sub(r"\s+", " ", re.sub(pattern, " # ", t))
    # the speaker, when listed with the others ("bố mẹ và em", "em và 2 con")
    if total and re.search(rf"(?:# (?:va|voi|cung) {_MINE}|(?<![a-z]){_MINE} (?:va|voi|cung) #)(?![a-z])", t):
        total += 1
    return total if 0 < total <= 30 else None  # no household is larger; a huge count is not a member list


def read_facts(text: str) -> Facts:
    """The citizen's facts in a message (chat or letter, with or without diacritics)."""
    folded = _surface(text or "")
    f = Facts()
    t = _tokenize_dates(folded)
    money = extract_money(t)
    if money:
        f.income = money[-1]  # the later mention wins, as for every fact (an answer read after the question)
    t = _replace_money(t)

    def take(pattern: str, handle) -> None:
        nonlocal t
        for m in list(re.finditer(pattern, t)):
            handle(m)
        t = re.sub(pattern, " ", t)

    def set_stop(m):
        f.stop_year, f.stop_month = int(m.group(1)), int(m.group(2)) or None

    def set_range(m):
        f.start_year, f.start_month = int(m.group(1)), int(m.group(2)) or None
        if m.lastindex and m.lastindex >= 4 and m.group(3):
            f.end_year, f.end_month = int(m.group(3)), int(m.group(4)) or None
        else:
            f.end_now = True

    def set_before(m):
        f.before, f.split_year = _count(m), int(m.group(3))

    def set_before_rev(m):
        f.before, f.split_year = _count_at(m, 3), int(m.group(1))

    def set_after(m):
        f.after, f.split_year = _count(m), int(m.group(3))

    def set_after_rev2(m):  # "từ 2014 trở đi đóng 5 năm" (groups 1-2) or "sau 2014 đóng 5 năm" (groups 3-4)
        f.after, f.split_year = _count_at(m, 5), int(m.group(1) or m.group(3))

    def set_start(m):
        f.start_year, f.start_month = int(m.group(1)), int(m.group(2)) or None

    def set_birth(m):
        f.birth_year = int(m.group(1))

    def set_joined_before(m):
        f.joined_before = (int(m.group(1)), int(m.group(2)) or 1)

    def set_total(m):
        f.total = _count(m)

    def set_months(m):
        f.months = Decimal(m.group(1))

    def set_age(m):
        if 15 <= int(m.group(1)) <= 100:
            f.age = int(m.group(1))

    def set_out(m):
        months = int(_dec(m.group(1)) * (1 if m.group(2) == "thang" else 12))
        months += int(m.group(3) or 0) + (6 if m.group(4) else 0)
        f.out_months = max(0, months - 1) if m.group(0).find(" gan ") >= 0 else months

    def ignore(m):
        pass

    take(rf"(?:sinh|sn|nam sinh)(?: nam| thang \d+| vao)? {_D}", set_birth)
    take(rf"(?:tham gia|dong|bat dau)(?: [a-z]+){{0,3}}? truoc {_D}", set_joined_before)
    take(rf"(?:(?<![a-z])tu |bat dau (?:[a-z]+ ){{0,3}}?(?:tu )?|tham gia (?:[a-z]+ ){{0,3}}?(?:tu )?)?{_D} "
         rf"(?:den|toi|cho den|den het|den cuoi) (?:{_D}|{_NOW})", set_range)
    take(r"@y(\d{4})m(00) @y(\d{4})m(00)", lambda m: (set_range(m) if m.group(1) < m.group(3) else None))  # 2010-2024
    take(rf"{_STOP_WORDS}(?: [a-z]+){{0,3}}? (?:tu |vao |tu thang |thang |nam )?{_D}", set_stop)
    take(rf"{_D}(?: [a-z]+){{0,2}}? {_STOP_WORDS}", set_stop)
    take(rf"{_COUNT} {_BETWEEN}truoc {_D}", set_before)
    take(rf"truoc {_D} (?:[a-z]+ ){{0,3}}?{_COUNT}", set_before_rev)
    take(rf"{_COUNT} {_BETWEEN}(?:tu|sau|ke tu) {_D}(?: tro di| tro ve sau| tro lai day)?", set_after)
    take(rf"(?:(?:tu|ke tu) {_D} (?:tro di|tro ve sau|tro lai day)|sau {_D}) (?:[a-z]+ ){{0,3}}?{_COUNT}", set_after_rev2)
    take(rf"(?:(?<![a-z])tu|tu sau|bat dau(?: [a-z]+){{0,3}}?(?: tu| vao)?|"
         rf"tham gia(?: [a-z]+){{0,3}}? (?:tu|sau|vao|tu sau)) {_D}", set_start)
    take(_OUT_OF_WORK, set_out)
    take(r"(?:con thieu|thieu|con|them|nua) \d+ (?:nam|n)(?![a-z])", ignore)
    take(r"(?:trong do|trong so do|gom)(?: co)? \d+ (?:nam|n)(?![a-z])(?: \d+ (?:thang|th)(?![a-z]))?", ignore)  # a part
    take(r"(?<![\d,.])(\d{2})\s*(?:tuoi|t)(?![a-z0-9])", set_age)
    take(_COUNT, set_total)
    take(r"(?<![\d,.])(\d+)\s*(?:thang|th)(?![a-z])", set_months)

    f.male = _sex(text or "", folded)
    f.members = _members(t)
    for name, pattern in _GROUP_WORDS:
        if re.search(pattern, folded):
            f.group = name
            break
    voluntary = re.search(r"tu nguyen", folded)
    compulsory = re.search(r"bat buoc|cong ty|cty|doanh nghiep|xi nghiep|nha may|cong nhan|cong chuc|vien chuc",
                           fold_employer(text or ""))  # "được xã công nhận hộ nghèo" names no worker
    if bool(voluntary) != bool(compulsory):
        f.voluntary = bool(voluntary)
    f.quit = bool(re.search(r"nghi viec|thoi viec|nghi lam|mat viec|nghi o nha|khong di lam|ngung lam|"
                            r"het hop dong|cham dut hop dong|ngung dong|dung dong|bo viec", folded))
    f.quit = f.quit or f.out_months is not None
    if f.quit and f.stop_year is None and f.end_year is not None:  # "từ 2008 đến 2020 thì nghỉ việc"
        f.stop_year, f.stop_month = f.end_year, f.end_month
    if re.search(r"dinh cu|ra nuoc ngoai song|sang nuoc ngoai song", folded):
        f.ground = "dinh_cu"
    elif re.search(r"ung thu|bai liet|xo gan|lao nang|(?<![a-z])(?:aids|hiv)(?![a-z])", folded):
        f.ground = "benh"
    elif re.search(r"suy giam kha nang lao dong|mat suc lao dong|khuyet tat dac biet nang", folded):
        f.ground = "suy_giam"
    bare = re.findall(r"(?<![\d@])\d+(?:[.,]\d+)?(?![\d])", t)
    if len(bare) == 1 and len(folded.split()) <= 6 and f.empty:
        f.number = _dec(bare[0])
    return f


def _count_at(m: re.Match[str], group: int) -> Decimal:
    years = _dec(m.group(group))
    extra = m.group(group + 1)
    return years + (Decimal(extra) / 12 if extra else 0)


# --- Questions back, and the checks that ask them ----------------------------------


@dataclass
class Question:
    """One short question back to the citizen instead of an amount: what it asks (`asks`, a Facts
    field its answer gives) and which earlier facts the answer replaces (`clears`, those in conflict)."""

    text: str
    asks: str
    clears: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # more facts the same question asks ("nam hay nữ, lương bao nhiêu?")
    preface: str = ""  # what can already be worked out, said before the question

    @property
    def message(self) -> str:
        return f"{self.preface}\n\n{self.text}" if self.preface else self.text


_YEAR_FIELDS = ("total", "before", "after", "split_year", "start_year", "start_month", "end_year", "end_month",
                "end_now")


def answer_facts(answer: Facts, earlier: Facts, question: Question) -> Facts:
    """The facts once the citizen answered `question`: a bare count or number is the fact asked."""
    given = replace(answer)
    if question.asks in ("before", "after") and given.total is not None and given.before is None \
            and given.after is None:
        setattr(given, question.asks, given.total)
        given.total = None
    numeric = [n for n in (question.asks, *question.also) if n in ("total", "before", "after", "income", "age")]
    if given.number is not None and numeric:
        value = given.number
        if numeric[0] == "income" and value < 1000:  # "6" when asked for the income: 6 million
            value = value * 1_000_000
        setattr(given, numeric[0], int(value) if numeric[0] == "age" else value)
        given.number = None
    return given.over(earlier.without(question.clears))


def answers(question: Question, facts: Facts) -> bool:
    """Whether a message with these facts gives what `question` asked (or replaces what it questioned)."""
    given = answer_facts(facts, Facts(), question)
    asked = (question.asks, *question.also, *question.clears)
    return any(given._said(f) for f in fields(given) if f.name in asked)


@dataclass
class Years:
    total: Decimal
    before: Decimal | None  # None: not known (only when the split was not needed)
    after: Decimal | None
    note: str = ""  # an assumption, said to the citizen


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _span_text(months: int) -> str:
    years, rest = divmod(months, 12)
    if not years:
        return f"{rest} tháng"
    return f"{years} năm" + (f" {rest} tháng" if rest else "")


def _years_text(value) -> str:
    months = int((Quantity(value).value * 12).to_integral_value())
    return _span_text(months) if months % 12 else f"{months // 12} năm"


def _age(facts: Facts, day: dt.date) -> int | None:
    if facts.age is not None:
        return facts.age
    return day.year - facts.birth_year if facts.birth_year else None


def contribution_years(f: Formulas, facts: Facts, day: dt.date, split: bool = True) -> Years | Question | None:
    """The citizen's contribution years, checked against each other and against `day`; with `split`,
    also how many were before the lump-sum boundary year (1/1/2014) and how many from it."""
    p = f.p
    now = _month_index(day.year, day.month)

    # read only when the answer needs it: a pension for a given total does not use the lump-sum boundary
    def boundary() -> int:
        return int(p.bhxh1l_nam_moc)

    def boundary_text() -> str:
        return date_vn(dt.date(boundary(), 1, 1))

    def stopped() -> int | None:  # the first month without contributions that a stop said allows at the latest
        if facts.stop_year and facts.stop_month:  # the stop month itself may have been paid ("đến tháng 5/2025")
            end = _month_index(facts.stop_year, facts.stop_month) + 1
        elif facts.stop_year:
            end = _month_index(facts.stop_year + 1, 1)
        elif facts.out_months is not None:  # a length out of work is said roughly ("hơn 1 năm"): a year's margin
            end = now - facts.out_months + 12
        else:
            return None
        return end if end <= now else None  # a stop still to come (a plan) leaves today as the limit

    def since() -> int:  # months from 1/1/2014 to this month (this month included) or to the stop
        end = stopped()
        return max(0, (now + 1 if end is None else end) - _month_index(boundary(), 1))

    def since_text() -> str:
        if stopped() is None:
            return f"Từ {boundary_text()} đến nay mới được {_span_text(since())}"
        return f"Từ {boundary_text()} đến khi bạn ngừng đóng nhiều nhất chỉ có {_span_text(since())}"
    total, before, after = facts.total, facts.before, facts.after
    start_year, start_month = facts.start_year, facts.start_month
    if facts.split_year is not None and facts.split_year != boundary():
        # "10 năm từ 2010": a total with its start year, not a split
        if after is not None:
            total = total if total is not None else after
            start_year = start_year or facts.split_year
        before = after = None
    if total is None and facts.months and before is None and after is None and start_year is None:
        total = facts.months / 12
    note = ""
    if start_year is not None:
        if _month_index(start_year, start_month or 1) > now:
            return Question(f"Bạn nói bắt đầu đóng từ năm {start_year}, thời điểm đó chưa tới. "
                            "Bạn bắt đầu đóng BHXH từ năm nào?", "start_year", ("start_year", "start_month"))
        if facts.end_year is not None:
            if facts.end_year > day.year:
                return Question(f"Bạn nói đóng đến năm {facts.end_year}, thời điểm đó chưa tới. "
                                "Bạn đóng BHXH đến năm nào?", "end_year", ("end_year", "end_month"))
            if facts.end_year < start_year:
                return Question(f"Năm kết thúc ({facts.end_year}) trước năm bắt đầu ({start_year}). "
                                "Bạn đóng BHXH từ năm nào đến năm nào?", "start_year", _YEAR_FIELDS)
            if start_month and facts.end_month:
                span = _month_index(facts.end_year, facts.end_month) - _month_index(start_year, start_month) + 1
            else:
                span = (facts.end_year - start_year) * 12
            end = _month_index(facts.end_year, facts.end_month or 12)
            end_text = (f"tháng {facts.end_month}/{facts.end_year}" if facts.start_month and facts.end_month
                        else f"năm {facts.end_year}")
        else:
            span = now - _month_index(start_year, start_month or 1) + 1
            end = now
            end_text = "nay"
        span_years = Decimal(span) / 12
        start_index = _month_index(start_year, start_month or 1)

        def span_before() -> Decimal:
            return Decimal(max(0, min(span, _month_index(boundary(), 1) - start_index))) / 12

        if total is None and before is None and after is None:
            total = span_years
            if split:
                before = span_before() if end >= _month_index(boundary(), 1) else span_years
            start_text = f"tháng {start_month}/{start_year}" if start_month else f"năm {start_year}"
            note = (f"tính từ {start_text} đến {end_text} là {_span_text(span)}, giả định bạn đóng liên tục; "
                    "nếu có thời gian không đóng, bạn nhắn lại tổng số năm đã đóng")
        elif total is not None and total > span_years + 1:
            return Question(f"Từ năm {start_year} đến {end_text} chỉ khoảng {_span_text(span)}, nên không thể đã đóng "
                            f"{num(total)} năm. Bạn đóng BHXH tổng cộng bao nhiêu năm?", "total", _YEAR_FIELDS)
        elif total is not None and before is None and after is None and split:
            before = min(total, span_before())
            if before:
                note = f"giả định bạn đóng liên tục từ năm {start_year}"
    if after is not None and after * 12 > since():
        return Question(f"{since_text()}, nên không thể có {num(after)} năm "
                        f"đóng từ năm {boundary()}. Bạn đóng tổng cộng bao nhiêu năm, trong đó bao nhiêu năm trước năm "
                        f"{boundary()}?", "total", _YEAR_FIELDS)
    if before is not None and after is not None:
        if total is not None and abs(before + after - total) >= Decimal("0.01"):
            return Question(f"{num(before)} năm trước {boundary()} và {num(after)} năm từ {boundary()} là "
                            f"{num(before + after)} năm, khác với {num(total)} năm bạn nêu. "
                            "Bạn đóng BHXH tổng cộng bao nhiêu năm?", "total", ("total",))
        total = before + after
    elif total is not None and before is not None:
        if before > total:
            return Question(f"Số năm đóng trước {boundary()} ({num(before)}) lớn hơn tổng số năm đóng ({num(total)}). "
                            "Bạn đóng BHXH tổng cộng bao nhiêu năm?", "total", ("total",))
        after = total - before
    elif total is not None and after is not None:
        if after > total:
            return Question(f"Số năm đóng từ {boundary()} ({num(after)}) lớn hơn tổng số năm đóng ({num(total)}). "
                            "Bạn đóng BHXH tổng cộng bao nhiêu năm?", "total", ("total",))
        before = total - after
    elif total is not None:
        if not split:
            pass  # the split is not needed (a pension, or the lump sum before its eligibility is known)
        elif since() == 0:  # stopped before 1/1/2014: every year was before it
            before, after = total, Decimal(0)
            note = note or f"bạn ngừng đóng trước năm {boundary()} nên toàn bộ thời gian đóng là trước {boundary()}"
        elif total * 12 <= since():
            before, after = Decimal(0), total
            note = note or (f"giả định toàn bộ thời gian đóng từ năm {boundary()} trở đi; mỗi năm đóng trước {boundary()} "
                            f"chỉ được {num(p.bhxh1l_thang_truoc_2014)} tháng thay vì {num(p.bhxh1l_thang_tu_2014)} tháng")
        else:
            return Question(f"{since_text()}, nên một phần trong {num(total)} "
                            f"năm bạn đóng là trước năm {boundary()}. Bạn đóng bao nhiêu năm trước năm {boundary()}?",
                            "before", ("before",))
    elif before is not None:
        return Question(f"Ngoài {num(before)} năm trước {boundary()}, bạn đóng bao nhiêu năm từ năm {boundary()} trở đi?",
                        "after", ("after",))
    elif after is not None:
        total, before = after, Decimal(0)
        note = f"bạn chỉ nêu số năm đóng từ {boundary()}; nếu có năm đóng trước {boundary()}, bạn nhắn thêm"
    else:
        return None
    if after is not None and after * 12 > since():
        return Question(f"Trong {num(total)} năm, nếu chỉ {num(before)} năm trước {boundary()} thì có {num(after)} năm "
                        f"từ {boundary()}, nhưng {since_text()[0].lower()}{since_text()[1:]}. "
                        f"Bạn đóng bao nhiêu năm trước năm {boundary()}?", "before", ("before",))
    years_old = _age(facts, day)
    if years_old is not None and total > years_old - p.tuoi_lao_dong_toi_thieu:
        return Question(f"Bạn {years_old} tuổi thì không thể đã đóng {num(total)} năm. "
                        "Bạn đóng BHXH tổng cộng bao nhiêu năm?", "total", ("total", "before", "after"))
    if total <= 0:
        return None
    return Years(total, before, after, note)


def _ask_income(preface: list[str]) -> Question:
    return Question("Bình quân tiền lương (thu nhập) tháng đóng BHXH của bạn khoảng bao nhiêu? Bạn nhắn mức này để "
                    "tôi tính ra số tiền.", "income", preface="\n".join(preface).strip())


def _ask_sex_and_income(facts: Facts) -> Question | None:
    """The pension needs the sex (the rate differs) and the income: one question for what is missing."""
    if facts.male is None and facts.income is None:
        return Question("Bạn là nam hay nữ, và bình quân tiền lương (thu nhập) tháng đóng BHXH khoảng bao nhiêu? "
                        "Tỷ lệ lương hưu của nam và nữ khác nhau.", "male", also=("income",))
    if facts.male is None:
        return _ask_sex("Tỷ lệ lương hưu của nam và nữ khác nhau.")
    return None


def _ask_years() -> Question:
    return Question("Bạn đã đóng BHXH tổng cộng bao nhiêu năm?", "total")


def _ask_sex(why: str) -> Question:
    return Question(f"Bạn là nam hay nữ? {why}", "male")


def _articles(facts: Facts, compulsory: str, voluntary: str) -> str:
    if facts.voluntary is True:
        return f"Luật BHXH 2024, {voluntary}"
    if facts.voluntary is False:
        return f"Luật BHXH 2024, {compulsory}"
    return f"Luật BHXH 2024, {compulsory}; {voluntary}"


def _retired(f: Formulas, facts: Facts, day: dt.date) -> bool | None | Question:
    """Whether the citizen has reached retirement age (by the age they gave), None when not said."""
    years_old = _age(facts, day)
    if years_old is None:
        return None
    p = f.p
    men, women = p.tuoi_nghi_huu_nam, p.tuoi_nghi_huu_nu
    months = years_old * 12
    if facts.male is not None:
        return months >= (men if facts.male else women)
    if months >= max(men, women):
        return True
    if months < min(men, women):
        return False
    return _ask_sex("Tuổi nghỉ hưu của nam và nữ khác nhau.")


def _stop_index(facts: Facts, day: dt.date) -> int | None:
    """The month the citizen stopped contributing: a stop date, or today less the time out of work said."""
    if facts.stop_year and facts.stop_month:
        return _month_index(facts.stop_year, facts.stop_month)
    if facts.out_months is not None:
        return _month_index(day.year, day.month) - facts.out_months
    return None


def _joined_after_law(f: Formulas, facts: Facts, total: Decimal, day: dt.date) -> bool | None:
    """Whether the citizen first joined on or after the day the 2024 law took effect (1/7/2025)."""
    start = f.p.since("bhxh1l_so_nam_chuyen_tiep")
    law = _month_index(start.year, start.month)
    if facts.joined_before is not None and _month_index(*facts.joined_before) <= law:
        return False
    if total * 12 > _month_index(day.year, day.month) - law + 1:
        return False
    if facts.start_year is not None and (facts.start_month or facts.start_year != start.year):
        return _month_index(facts.start_year, facts.start_month or 1) >= law
    return None


def _exceptions(f: Formulas) -> str:
    p = f.p
    return ("ra nước ngoài để định cư; mắc một trong các bệnh ung thư, bại liệt, xơ gan mất bù, lao nặng, AIDS; "
            f"suy giảm khả năng lao động từ {pct(p.bhxh1l_suy_giam_kha_nang_lao_dong)} trở lên hoặc khuyết tật đặc "
            f"biệt nặng; hoặc đủ tuổi nghỉ hưu mà chưa đủ {num(p.so_nam_dong_huong_huu)} năm đóng")


_GROUNDS = {
    "dinh_cu": "ra nước ngoài để định cư",
    "benh": "mắc bệnh nguy hiểm đến tính mạng (ung thư, bại liệt, xơ gan mất bù, lao nặng, AIDS)",
    "suy_giam": "suy giảm khả năng lao động nặng hoặc khuyết tật đặc biệt nặng",
}


def lump_sum_rule(f: Formulas, facts: Facts, total: Decimal, day: dt.date) -> tuple[bool, list[str]] | Question:
    """Whether the citizen may take the lump sum (Luật BHXH 2024, Art. 70(1), 102(1)), said with the article."""
    p = f.p
    art = _articles(facts, "Điều 70 khoản 1", "Điều 102 khoản 1")
    minimum, limit = p.so_nam_dong_huong_huu, p.bhxh1l_so_nam_chuyen_tiep
    if facts.ground:
        return True, [f"Người {_GROUNDS[facts.ground]} được hưởng BHXH một lần, không phụ thuộc số năm đóng "
                      f"({art}); hồ sơ cần giấy tờ chứng minh trường hợp này."]
    retired = _retired(f, facts, day)
    if isinstance(retired, Question):
        return retired
    if retired and total < minimum:
        missing = minimum - total
        choices = [f"Bạn đã đủ tuổi nghỉ hưu nhưng chưa đủ {num(minimum)} năm đóng nên được chọn ({art}; Điều 23):"]
        if missing <= p.vtn_dong_bu_toi_da:  # at most 5 missing years may be paid at once (Art. 36(2))
            choices.append(f"- đóng BHXH tự nguyện một lần cho số năm còn thiếu ({_years_text(missing)}; được đóng "
                           f"tối đa {num(p.vtn_dong_bu_toi_da)} năm) để hưởng lương hưu;")
        return True, [
            *choices,
            "- nhận trợ cấp hằng tháng từ chính số tiền đã đóng (Điều 23; với điều kiện không rút một lần, "
            "không bảo lưu);",
            "- hoặc rút BHXH một lần, ước tính như dưới đây.",
        ]
    if retired:
        return False, [f"Bạn đã đủ tuổi nghỉ hưu và đóng đủ {num(minimum)} năm nên được hưởng lương hưu hằng tháng "
                       f"(Luật BHXH 2024, Điều 98); đây không phải trường hợp được rút BHXH một lần ({art})."]
    keep = ("Bạn nên bảo lưu thời gian đã đóng: thời gian này được cộng dồn khi bạn đóng tiếp BHXH bắt buộc hoặc "
            "tự nguyện, để hưởng lương hưu khi đủ tuổi.")
    if total >= limit:
        return False, [
            f"Bạn đã đóng {_years_text(total)}, từ {num(limit)} năm trở lên: nghỉ việc không phải là căn cứ để rút "
            f"BHXH một lần ({art}).",
            f"Chỉ được rút một lần khi: {_exceptions(f)}.",
            keep,
        ]
    law = f.p.since("bhxh1l_so_nam_chuyen_tiep")
    joined_after = _joined_after_law(f, facts, total, day)
    if joined_after:
        return False, [
            f"Bạn bắt đầu tham gia BHXH từ {date_vn(law)} trở đi: nghỉ việc không phải là căn cứ để rút BHXH một lần "
            f"({art}).",
            f"Chỉ được rút một lần khi: {_exceptions(f)}.",
            keep,
        ]
    condition = (f"đóng dưới {num(limit)} năm và tham gia BHXH trước {date_vn(law)} thì được rút một lần sau "
                 f"{num(p.bhxh1l_so_thang_nghi)} tháng không đóng BHXH bắt buộc và không tham gia BHXH tự nguyện ({art})")
    lines = [("Bạn " if joined_after is False else "Nếu bạn ") + condition + "."]
    stop = _stop_index(facts, day)
    if stop is not None:
        out = _month_index(day.year, day.month) - stop
        wait = int(p.bhxh1l_so_thang_nghi)
        since = (f"Bạn ngừng đóng từ tháng {facts.stop_month}/{facts.stop_year}" if facts.stop_year and facts.stop_month
                 else f"Bạn đã nghỉ {_span_text(out)}")
        if out < wait:
            ready = stop + wait
            lines.append(f"{since}, nên đến tháng {ready % 12 + 1}/{ready // 12} mới đủ {wait} tháng.")
        elif facts.out_months is not None:
            lines.append(f"{since}, đã đủ {wait} tháng.")
    return True, lines


def _lump_sum_amount(f: Formulas, years: Years, income: Quantity | None) -> tuple[Quantity | None, list[str]]:
    """The lump sum's working (Art. 70(2), 102(2)); in months of the average income when the income is not known."""
    p = f.p
    boundary = int(p.bhxh1l_nam_moc)
    if years.total < 1:
        cap = p.bhxh1l_thang_tu_2014 * income if income is not None else None
        return cap, [f"- Đóng chưa đủ 1 năm: nhận bằng số tiền đã đóng, tối đa {num(p.bhxh1l_thang_tu_2014)} tháng "
                     "thu nhập bình quân" + (f", tức không quá {vnd(cap)}." if cap is not None else ".")]
    if years.before is None or years.after is None:
        raise ValueError("the lump sum needs the years before and from the boundary (contribution_years split=True)")
    before = years.before.to_integral_value(rounding=ROUND_FLOOR)
    after = years.after + (years.before - before)  # odd months before 2014 count with the years from 2014
    months_before = p.bhxh1l_thang_truoc_2014 * before
    months_after = p.bhxh1l_thang_tu_2014 * after
    lines = []
    if before:
        lines.append(f"- {num(before)} năm trước {boundary} × {num(p.bhxh1l_thang_truoc_2014)} tháng = "
                     f"{num(months_before)} tháng.")
    if after or not before:
        lines.append(f"- {_years_text(after)} từ {boundary} × {num(p.bhxh1l_thang_tu_2014)} tháng = "
                     f"{num(months_after)} tháng" + (f" (gồm {_years_text(years.before - before)} lẻ trước {boundary} "
                                                     "chuyển sang)." if years.before != before else "."))
    amount = None
    if income is None:
        lines.append(f"- Tổng cộng: {num(months_before + months_after)} tháng thu nhập bình quân.")
    else:
        amount = (months_before + months_after) * income
        lines.append(f"- Số tiền: {num(months_before + months_after)} tháng × {vnd(income)} = {vnd(amount)}.")
    if after != after.to_integral_value():
        lines.append("- Số tháng lẻ ở đây tính theo tỷ lệ; cơ quan BHXH làm tròn theo quy định.")
    return amount, lines


def _lump_sum_notes(f: Formulas, facts: Facts) -> list[str]:
    notes = ["Thu nhập bình quân thực tế do cơ quan BHXH tính (có điều chỉnh theo từng thời kỳ), nên số tiền chính "
             "thức có thể khác."]
    if facts.voluntary is not False:
        notes.append("Với thời gian đóng BHXH tự nguyện, số tiền có thể không gồm phần Nhà nước đã hỗ trợ (trừ khi mắc "
                     "bệnh nguy hiểm đến tính mạng, suy giảm khả năng lao động nặng hoặc khuyết tật đặc biệt nặng); "
                     "theo Luật BHXH 2024, Điều 102; trường hợp cụ thể, bạn liên hệ cơ quan BHXH.")
    return notes


def calc_lump_sum(f: Formulas, facts: Facts, day: dt.date) -> str | Question | None:
    years = contribution_years(f, facts, day, split=False)
    if isinstance(years, Question):
        return years
    if years is None:
        return _ask_years() if facts.income is not None else None
    rule = lump_sum_rule(f, facts, years.total, day)
    if isinstance(rule, Question):
        return rule
    eligible, lines = rule
    if not eligible:
        return "\n".join(["Không được rút BHXH một lần trong trường hợp này.", *lines])
    if years.before is None:
        years = contribution_years(f, facts, day, split=True)
        if not isinstance(years, Years):
            return years
    income = Quantity(facts.income) if facts.income is not None else None
    amount, working = _lump_sum_amount(f, years, income)
    out = [*lines, "", "Ước tính BHXH một lần" + (f", thu nhập bình quân {vnd(income)}/tháng" if income else "")
           + f" ({_articles(facts, 'Điều 70 khoản 2', 'Điều 102 khoản 2')}):", *working]
    if years.note and years.total >= 1:
        out.append(f"Lưu ý: {years.note}.")
    if income is None:
        return _ask_income(out)
    out += _lump_sum_notes(f, facts)
    out.append("Rút một lần là mất thời gian đóng để tính lương hưu và thẻ BHYT khi về hưu; hãy cân nhắc bảo lưu.")
    return "\n".join(out)


# --- Pension ------------------------------------------------------------------------


def _pension_lines(f: Formulas, total: Decimal, income: Quantity | None, male: bool, facts: Facts) -> list[str]:
    """The pension's working (Art. 66/99, the extra payment above 35/30 years); the rate alone without the income."""
    p = f.p
    whole = total.to_integral_value(rounding=ROUND_FLOOR)
    rate = f.pension_rate(whole, male)
    who = "nam" if male else "nữ"
    if male and whole < p.huu_so_nam_co_ban_nam:
        base, base_years, step = p.huu_ty_le_nam_15, p.so_nam_dong_huong_huu, p.huu_tang_moi_nam_nam_15
    else:
        base, base_years = p.huu_ty_le_co_ban, (p.huu_so_nam_co_ban_nam if male else p.so_nam_dong_huong_huu)
        step = p.huu_tang_moi_nam
    extra_years = whole - base_years
    working = f"{pct(base)} cho {num(base_years)} năm"
    if extra_years > 0:
        working += f" + {num(extra_years)} năm × {pct(step)}"
        working += f" = {pct(rate)}" if rate < p.huu_ty_le_toi_da else f", tối đa {pct(p.huu_ty_le_toi_da)}"
    lines = [f"- Tỷ lệ hưởng ({who}, {num(whole)} năm đóng): {working} ({_articles(facts, 'Điều 66', 'Điều 99')})."]
    if income is not None:
        lines.append(f"- Lương hưu: {pct(rate)} × {vnd(income)} = {vnd(rate * income)}/tháng, nhận từ khi đủ tuổi "
                     "nghỉ hưu.")
    else:
        lines.append(f"- Lương hưu mỗi tháng = {pct(rate)} × bình quân thu nhập tháng đóng BHXH, nhận từ khi đủ tuổi "
                     "nghỉ hưu.")
    above = f.retirement_extra_years(whole, male)
    if above > 0:
        threshold = p.huu_tc1l_so_nam_nam if male else p.huu_tc1l_so_nam_nu
        months = above * p.huu_tc1l_thang_moi_nam
        extra = (f"{num(months)} tháng × {vnd(income)} = {vnd(f.retirement_extra(whole, male, income))}"
                 if income is not None else f"{num(months)} tháng bình quân thu nhập")
        lines.append(f"- Trợ cấp một lần khi nghỉ hưu: {num(above)} năm đóng trên {num(threshold)} năm × "
                     f"{num(p.huu_tc1l_thang_moi_nam)} tháng = {extra} (theo Luật BHXH 2024).")
    if whole != total:
        lines.append("- Số tháng lẻ ngoài số năm tròn được cơ quan BHXH tính theo quy định; ở đây chỉ tính năm tròn.")
    return lines


def _pension_notes(facts: Facts) -> list[str]:
    notes = ["Lương hưu thực tế tính trên bình quân thu nhập do cơ quan BHXH xác định."]
    if facts.voluntary is not False:
        notes.append("Với thời gian đóng BHXH tự nguyện, bình quân thu nhập được điều chỉnh theo chỉ số giá tiêu dùng "
                     "trước khi nhân tỷ lệ (theo Luật BHXH 2024, Điều 104; trường hợp cụ thể, bạn liên hệ cơ quan BHXH).")
    return notes


def calc_pension(f: Formulas, facts: Facts, day: dt.date) -> str | Question | None:
    years = contribution_years(f, facts, day, split=False)
    if isinstance(years, Question):
        return years
    if years is None:
        return _ask_years() if facts.income is not None or facts.male is not None else None
    asked = _ask_sex_and_income(facts)
    if asked is not None:
        return asked
    p = f.p
    income = Quantity(facts.income) if facts.income is not None else None
    minimum = p.so_nam_dong_huong_huu
    who = "nam" if facts.male else "nữ"
    out = [f"Ước tính lương hưu cho {who}, đóng {_years_text(years.total)}"
           + (f", bình quân thu nhập {vnd(income)}/tháng:" if income is not None else ":")]
    total = years.total
    if total < minimum:
        out.append(f"- Cần đóng đủ {num(minimum)} năm mới được hưởng lương hưu (Luật BHXH 2024, Điều 98); bạn còn thiếu "
                   f"{_years_text(minimum - total)}. Nếu đóng tiếp cho đủ {num(minimum)} năm:")
        total = Decimal(minimum.value)
    out += _pension_lines(f, total, income, bool(facts.male), facts)
    if years.note and not years.note.startswith("giả định toàn bộ"):
        out.append(f"Lưu ý: {years.note}.")
    if income is None:
        return _ask_income(out)
    out.append(f"Tuổi nghỉ hưu năm {day.year}: nam {age(p.tuoi_nghi_huu_nam)}, nữ {age(p.tuoi_nghi_huu_nu)} "
               "(tùy tháng sinh).")
    out += _pension_notes(facts)
    return "\n".join(out)


def calc_lump_sum_vs_pension(f: Formulas, facts: Facts, day: dt.date) -> str | Question | None:
    years = contribution_years(f, facts, day, split=False)
    if isinstance(years, Question):
        return years
    if years is None:
        return _ask_years() if facts.income is not None else None
    asked = _ask_sex_and_income(facts)
    if asked is not None:
        return asked
    rule = lump_sum_rule(f, facts, years.total, day)
    if isinstance(rule, Question):
        return rule
    eligible, rule_lines = rule
    if eligible and years.before is None:
        years = contribution_years(f, facts, day, split=True)
        if not isinstance(years, Years):
            return years
    p = f.p
    income = Quantity(facts.income) if facts.income is not None else None
    who = "nam" if facts.male else "nữ"
    out = [f"So sánh cho {who}, đóng {_years_text(years.total)}"
           + (f", thu nhập bình quân {vnd(income)}/tháng:" if income is not None else ":"), "", "Rút BHXH một lần:"]
    lump = None
    if eligible:
        lump, working = _lump_sum_amount(f, years, income)
        out += rule_lines + working + ["Nhận một lần là hết; mất thời gian đóng để tính lương hưu và thẻ BHYT khi về hưu."]
    else:
        out += ["Không được rút một lần trong trường hợp này.", *rule_lines]
    out += ["", "Lương hưu (bảo lưu hoặc đóng tiếp, nhận từ khi đủ tuổi nghỉ hưu):"]
    total = years.total
    minimum = p.so_nam_dong_huong_huu
    if total < minimum:
        out.append(f"- Cần đóng đủ {num(minimum)} năm (Luật BHXH 2024, Điều 98); bạn còn thiếu "
                   f"{_years_text(minimum - total)}. Nếu đóng tiếp cho đủ {num(minimum)} năm:")
        total = Decimal(minimum.value)
    out += _pension_lines(f, total, income, bool(facts.male), facts)
    if years.note:
        out.append(f"Lưu ý: {years.note}.")
    if income is None:
        return _ask_income(out)
    pension = f.pension_rate(total.to_integral_value(rounding=ROUND_FLOOR), bool(facts.male)) * income
    if lump is not None and pension:
        months = (lump / pension).value.to_integral_value()
        out.append(f"- Khoảng {num(months)} tháng lương hưu là bằng số tiền rút một lần; lương hưu nhận suốt đời, "
                   "được điều chỉnh và được cấp thẻ BHYT.")
    out += _pension_notes(facts)
    return "\n".join(out)


# --- Voluntary contribution and health insurance ----------------------------------------


def calc_vtn(f: Formulas, facts: Facts, day: dt.date | None = None) -> str | None:
    if facts.income is None:
        return None
    p = f.p
    income = Quantity(facts.income)
    low, high = p.vtn_thu_nhap_toi_thieu, f.vtn_max_income()
    notes = []
    if income < low:
        notes.append(f"Mức bạn nêu thấp hơn mức thu nhập tối thiểu được chọn ({vnd(low)}), nên tính theo mức tối thiểu.")
        income = low
    elif income > high:
        notes.append(f"Mức bạn nêu cao hơn mức tối đa được chọn ({vnd(high)}), nên tính theo mức tối đa.")
        income = high
    group = facts.group or "khac"
    rate_key, label = VTN_GROUPS[group]
    gross, support = f.vtn_gross(income), f.vtn_support(group)
    state, local = f.vtn_state_support(group), f.vtn_local_support()
    pay = gross - support
    lines = [f"Cách tính BHXH tự nguyện với mức thu nhập chọn đóng {vnd(income)}/tháng ({label}):"]
    lines += notes
    lines += [
        f"- Mức đóng: {pct(p.vtn_ty_le_dong)} × {vnd(income)} = {vnd(gross)}/tháng.",
        f"- Nhà nước hỗ trợ {pct(p[rate_key])} mức đóng tính trên chuẩn nghèo nông thôn "
        f"({pct(p.vtn_ty_le_dong)} × {vnd(low)}) = {vnd(state)}/tháng, tối đa {num(p.vtn_ho_tro_so_nam)} năm.",
    ]
    if local:
        lines.append(f"- Địa phương hỗ trợ thêm {pct(p.vtn_ho_tro_dia_phuong)} "
                     f"({pct(p.vtn_ty_le_dong)} × {vnd(low)}) = {vnd(local)}/tháng.")
    lines += [
        f"- Bạn đóng: {vnd(gross)} − {vnd(support)} = {vnd(pay)}/tháng.",
        f"- Đóng 3 tháng: {vnd(pay * 3)}; 6 tháng: {vnd(pay * 6)}; 12 tháng: {vnd(pay * 12)}.",
    ]
    if not facts.group:
        lines.append(
            "Nếu bạn thuộc hộ nghèo, hộ cận nghèo hoặc là người dân tộc thiểu số thì được hỗ trợ nhiều hơn; "
            "hãy nhắn kèm nhóm của mình để tính lại."
        )
    if not local:
        lines.append("Tỉnh có thể hỗ trợ thêm ngoài mức của Nhà nước.")
    return "\n".join(lines)


def calc_bhyt_household(f: Formulas, facts: Facts, day: dt.date | None = None) -> str | None:
    if not facts.members:
        return None
    n = int(facts.members)
    lines = [f"Mức đóng BHYT hộ gia đình cho {n} người (mức tham chiếu {vnd(f.p.luong_co_so)}):"]
    for i in range(1, n + 1):
        if i == 1:
            share = f"{pct(f.p.bhyt_ty_le)} × {vnd(f.p.luong_co_so)} × 12 tháng"
        else:
            key = _MEMBER_KEYS.get(i, "bhyt_hgd_nguoi_5")
            share = f"{pct(f.p[key])} mức của người thứ nhất"
        lines.append(f"- Người thứ {i}: {share} = {vnd(f.bhyt_member(i))}/năm.")
    total = f.bhyt_household(n)
    if f.p.bhyt_hgd_ho_tro_dia_phuong:
        lines.append(f"Các số tiền trên đã trừ phần địa phương hỗ trợ thêm {pct(f.p.bhyt_hgd_ho_tro_dia_phuong)} "
                     "mức đóng của mỗi người.")
    lines.append(f"Tổng cộng: {vnd(total)}/năm; đóng 6 tháng: {vnd(total / 2)}; 3 tháng: {vnd(total / 4)}.")
    lines.append("Người đã có thẻ BHYT theo nhóm khác (ở công ty, ở trường...) không tính vào thứ tự giảm trừ.")
    return "\n".join(lines)


def calc_hssv(f: Formulas, facts: Facts, day: dt.date | None = None) -> str | None:
    if facts.empty:
        return None
    p = f.p
    year = f.hssv_year()
    lines = [
        f"Mức đóng BHYT học sinh, sinh viên (mức tham chiếu {vnd(p.luong_co_so)}):",
        f"- Tổng mức đóng: {pct(p.bhyt_ty_le)} × {vnd(p.luong_co_so)} × 12 tháng = {vnd(f.bhyt_first_monthly() * 12)}/năm.",
        f"- Nhà nước hỗ trợ tối thiểu {pct(p.hssv_ho_tro)}, học sinh, sinh viên đóng {vnd(year)}/năm.",
        f"- Đóng 6 tháng: {vnd(year / 2)}; 3 tháng: {vnd(year / 4)}.",
    ]
    if facts.months and int(facts.months) not in (3, 6):
        months = int(facts.months)
        lines.append(f"- Đóng {months} tháng: {vnd(year / 12 * months)}.")
    lines.append("Một số tỉnh hỗ trợ thêm nên số tiền thực đóng có thể thấp hơn; nhà trường sẽ thông báo mức cụ thể.")
    return "\n".join(lines)


CALCULATORS = {
    "vtn": calc_vtn,
    "bhyt_household": calc_bhyt_household,
    "hssv": calc_hssv,
    "lump_sum": calc_lump_sum,
    "lump_sum_vs_pension": calc_lump_sum_vs_pension,
    "pension": calc_pension,
}


def calculate(name: str, f: Formulas, facts: Facts, day: dt.date) -> str | Question | None:
    """The calculator `name` on the citizen's facts: its working, one question back, or None (the entry's text)."""
    if facts.empty:
        return None
    return CALCULATORS[name](f, facts, day)
