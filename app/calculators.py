"""Exact amounts from the parameters in force: the functions answers use, and the
calculators that answer a message carrying the citizen's own numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.parameters import ParameterView, Quantity, num, pct, vnd
from app.text import extract_counts, extract_money

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
        """Pension rate for a number of contribution years (Luật BHXH 2024, Art. 66/99)."""
        p = self.p
        years = Quantity(years)
        if male and years < 20:
            rate = p.huu_ty_le_nam_15 + p.huu_tang_moi_nam_nam_15 * (years - 15)
        else:
            base_years = 20 if male else 15
            rate = p.huu_ty_le_co_ban + p.huu_tang_moi_nam * (years - base_years)
        return rate if rate < p.huu_ty_le_toi_da else p.huu_ty_le_toi_da

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


# --- Inputs found in a message ---------------------------------------------------


@dataclass
class Inputs:
    amounts: list[Decimal]
    years: list[Decimal]
    months: list[Decimal]
    people: list[Decimal]
    group: str | None
    male: bool | None
    start_year: int | None

    def over(self, earlier: Inputs) -> Inputs:
        """These inputs, completed with an earlier message's where this one says nothing."""
        return Inputs(
            amounts=self.amounts or earlier.amounts, years=self.years or earlier.years,
            months=self.months or earlier.months, people=self.people or earlier.people,
            group=self.group or earlier.group, male=self.male if self.male is not None else earlier.male,
            start_year=self.start_year if self.start_year is not None else earlier.start_year,
        )

    @property
    def has_numbers(self) -> bool:
        return bool(self.amounts or self.years or self.people or self.months)


_GROUP_WORDS = [
    ("can_ngheo", r"can ngheo"),
    ("ngheo", r"(?<!can )ho ngheo|nha ngheo|xa dao|dac khu"),
    ("dtts", r"dan toc|dtts|nguoi (?:tay|nung|thai|muong|hmong|mong|dao|khmer|ede|gia rai|ba na)"),
]


def read_inputs(folded: str) -> Inputs:
    group = None
    for name, pattern in _GROUP_WORDS:
        if re.search(pattern, folded):
            group = name
            break
    male = None
    if re.search(r"(?<![a-z])(?:nu|phu nu|con gai|ba bau)(?![a-z])|(?<![a-z])toi la nu", folded):
        male = False
    elif re.search(r"dan ong|(?<![a-z])(?:gioi tinh nam|toi la nam|em la nam|nam gioi|con trai)(?![a-z])", folded):
        male = True
    start = re.search(r"tu (?:nam )?((?:19|20)\d\d)", folded)
    years_text = re.sub(r"(?:19|20)\d\d", " ", folded)  # a calendar year is not a count of years
    return Inputs(
        amounts=extract_money(folded),
        years=[y for y in extract_counts(years_text, "years") if 0 < y <= 60],
        months=[m for m in extract_counts(years_text, "months") if 0 < m <= 720],
        people=[n for n in extract_counts(folded, "people") if 0 < n <= 30],
        group=group,
        male=male,
        start_year=int(start.group(1)) if start else None,
    )


# --- Calculators ------------------------------------------------------------------


def calc_vtn(f: Formulas, inputs: Inputs) -> str | None:
    if not inputs.amounts:
        return None
    p = f.p
    income = Quantity(inputs.amounts[0])
    low, high = p.vtn_thu_nhap_toi_thieu, f.vtn_max_income()
    notes = []
    if income < low:
        notes.append(f"Mức bạn nêu thấp hơn mức thu nhập tối thiểu được chọn ({vnd(low)}), nên tính theo mức tối thiểu.")
        income = low
    elif income > high:
        notes.append(f"Mức bạn nêu cao hơn mức tối đa được chọn ({vnd(high)}), nên tính theo mức tối đa.")
        income = high
    group = inputs.group or "khac"
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
    if not inputs.group:
        lines.append(
            "Nếu bạn thuộc hộ nghèo, hộ cận nghèo hoặc là người dân tộc thiểu số thì được hỗ trợ nhiều hơn; "
            "hãy nhắn kèm nhóm của mình để tính lại."
        )
    if not local:
        lines.append("Tỉnh có thể hỗ trợ thêm ngoài mức của Nhà nước.")
    return "\n".join(lines)


def calc_bhyt_household(f: Formulas, inputs: Inputs) -> str | None:
    if not inputs.people:
        return None
    n = int(inputs.people[0])
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


def calc_hssv(f: Formulas, inputs: Inputs) -> str | None:
    p = f.p
    year = f.hssv_year()
    lines = [
        f"Mức đóng BHYT học sinh, sinh viên (mức tham chiếu {vnd(p.luong_co_so)}):",
        f"- Tổng mức đóng: {pct(p.bhyt_ty_le)} × {vnd(p.luong_co_so)} × 12 tháng = {vnd(f.bhyt_first_monthly() * 12)}/năm.",
        f"- Nhà nước hỗ trợ tối thiểu {pct(p.hssv_ho_tro)}, học sinh, sinh viên đóng {vnd(year)}/năm.",
        f"- Đóng 6 tháng: {vnd(year / 2)}; 3 tháng: {vnd(year / 4)}.",
    ]
    if inputs.months:
        months = int(inputs.months[0])
        lines.append(f"- Đóng {months} tháng: {vnd(year / 12 * months)}.")
    lines.append("Một số tỉnh hỗ trợ thêm nên số tiền thực đóng có thể thấp hơn; nhà trường sẽ thông báo mức cụ thể.")
    return "\n".join(lines)


def _split_years(inputs: Inputs, today_year: int) -> tuple[Decimal, Decimal, str] | None:
    if not inputs.years and inputs.start_year is None:
        return None
    if inputs.start_year is not None:
        total = inputs.years[0] if inputs.years else Decimal(max(today_year - inputs.start_year, 0))
        before = Decimal(max(0, min(2014 - inputs.start_year, int(total))))
        return before, total - before, f"đóng từ năm {inputs.start_year}"
    total = inputs.years[0]
    if len(inputs.years) >= 2:  # "3 năm trước 2014, 5 năm sau"
        return inputs.years[0], inputs.years[1], "theo số năm bạn nêu"
    return Decimal(0), total, "giả định toàn bộ thời gian đóng từ năm 2014 trở đi"


def calc_lump_sum(f: Formulas, inputs: Inputs, today_year: int) -> str | None:
    split = _split_years(inputs, today_year)
    if split is None or not inputs.amounts:
        return None
    before, after, assumption = split
    average = Quantity(inputs.amounts[0])
    p = f.p
    amount = f.lump_sum(before, after, average)
    lines = [f"Ước tính BHXH một lần ({assumption}), thu nhập bình quân {vnd(average)}/tháng:"]
    if before:
        lines.append(
            f"- {num(before)} năm trước 2014 × {num(p.bhxh1l_thang_truoc_2014)} tháng = "
            f"{num(p.bhxh1l_thang_truoc_2014 * before)} tháng."
        )
    lines.append(
        f"- {num(after)} năm từ 2014 × {num(p.bhxh1l_thang_tu_2014)} tháng = {num(p.bhxh1l_thang_tu_2014 * after)} tháng."
    )
    lines.append(f"- Số tiền ước tính: {vnd(amount)}.")
    lines.append(
        "Thu nhập bình quân thực tế do cơ quan BHXH tính (có điều chỉnh theo từng thời kỳ), nên số tiền chính thức "
        "có thể khác. Người đóng BHXH tự nguyện có thể bị trừ phần Nhà nước đã hỗ trợ; điểm này bạn nên hỏi lại cơ quan BHXH."
    )
    lines.append(
        "Lưu ý: rút một lần là mất thời gian đóng để tính lương hưu và thẻ BHYT khi về hưu; hãy cân nhắc bảo lưu."
    )
    return "\n".join(lines)


def calc_lump_sum_vs_pension(f: Formulas, inputs: Inputs, today_year: int) -> str | None:
    split = _split_years(inputs, today_year)
    if split is None or not inputs.amounts:
        return None
    before, after, assumption = split
    years = before + after
    average = Quantity(inputs.amounts[0])
    p = f.p
    lump = f.lump_sum(before, after, average)
    lines = [
        f"So sánh cho người đóng {num(years)} năm, thu nhập bình quân {vnd(average)}/tháng ({assumption}):",
        f"- Rút một lần: khoảng {vnd(lump)}, nhận một lần rồi hết.",
    ]
    genders = [inputs.male] if inputs.male is not None else [True, False]
    minimum = p.so_nam_dong_huong_huu
    if years < minimum:
        lines.append(
            f"- Lương hưu: cần đóng đủ {num(minimum)} năm; bạn còn thiếu {num(minimum - years)} năm. "
            f"Nếu đóng tiếp cho đủ {num(minimum)} năm, lương hưu tính như sau:"
        )
        years = Decimal(minimum.value)
    for male in genders:
        rate = f.pension_rate(years, male)
        pension = rate * average
        who = "nam" if male else "nữ"
        months = (lump / pension).value if pension else Decimal(0)
        lines.append(
            f"- Lương hưu ({who}, {num(years)} năm): {pct(rate)} × {vnd(average)} = {vnd(pension)}/tháng, "
            f"nhận suốt đời và được cấp thẻ BHYT; khoảng {num(months.quantize(Decimal(1)))} tháng lương hưu "
            "là bằng số tiền rút một lần."
        )
    lines.append(
        "Đây là ước tính theo công thức; lương hưu thực tế tính trên thu nhập bình quân do cơ quan BHXH xác định "
        "và được điều chỉnh theo quy định."
    )
    return "\n".join(lines)


CALCULATORS = {
    "vtn": lambda f, i, y: calc_vtn(f, i),
    "bhyt_household": lambda f, i, y: calc_bhyt_household(f, i),
    "hssv": lambda f, i, y: calc_hssv(f, i) if (i.months or i.has_numbers) else None,
    "lump_sum": calc_lump_sum,
    "lump_sum_vs_pension": calc_lump_sum_vs_pension,
}
