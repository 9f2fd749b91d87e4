"""Reading a long message: its sentences, and which of them ask something.

Citizens who write to the office's Q&A page tell their circumstances first and ask last, often
two things. The engine searches the whole message and its question parts, and lets the question
parts weigh more (docs/answering.md); each question part is also searched on its own, so that a
second question can be offered first among the follow-up choices.
"""

from __future__ import annotations

import re

from app.text import fold, nfc

# sentence ends: . ! ? … ; and line breaks (a decimal point "1.5" or "2.000.000" is not an end; a dot after
# a number followed by a space and a capital is: "từ năm 2019. Vậy ...")
_SENTENCE_END = re.compile(r"(?<=[?!…;])\s*|(?<=[^\d\s][.])\s+|(?<=\d[.])\s+(?=[A-ZÀ-ỸĐ])|\n+")
# a second question announced as one ("tiện hỏi luôn ...", "sẵn cho em hỏi ...", "hỏi thêm ..." but not "đã hỏi thêm",
# "thêm câu nữa: ..."): it asks, and like a courtesy word it is no subject (`_has_subject`), so a clause that is only the
# announcement ("Mà sẵn hỏi luôn, vssid quên mật khẩu lấy lại sao") goes with the question after it
_ANNOUNCE = (r"(?:(?:tien|san|nhan tien) (?:cho [a-z]+ )?(?:hoi|xin)(?: luon| them| tiep)?"
             r"|(?<!da )(?<!di )(?<!tung )hoi (?:luon|them)|them (?:cau|cai|viec) nua)")
_ANNOUNCED = re.compile(rf"(?<![a-z]){_ANNOUNCE}(?![a-z])")
# question words and particles, on folded text
_QUESTION = re.compile(
    r"\?|(?<![a-z])(?:"
    r"cho (?:(?:em|e|toi|minh|mik|chau|con|tui|to) )?(?:xin )?hoi|xin (?:duoc )?hoi|muon hoi|hoi (?:chut|ti|xiu|giup)|"
    r"co (?:duoc|phai|nen|can|bi|mat) [a-z ]{0,40}(?:khong|ko|k|hok|hong|chua|ha)(?: a| vay| nhi| nha)?(?:$|(?=\s*,))|"
    r"(?:khong|ko|hong|hok|chua) (?:a|ah|ak|ad|vay|nhi|ha|nha|hay)|"
    r"(?:duoc|dc|nen|phai|can|kip) (?:khong|ko|k|hok|hong|chua)(?! co(?![a-z]))|"
    r"bao nhieu|bn|bao lau|(?<!chua )(?<!chang )bao gio|khi nao|luc nao|o dau|(?:ra|di|toi|den) dau|cho nao|noi nao|"
    r"nhu the nao|the nao|nhu nao|ra sao|"
    r"lam sao|lam gi|cai gi|la gi|gi (?:a|ad|vay|nhi|khong|ha)|nhung gi|ntn|tn|"
    # "j", as "gì" is typed in chat ("cần j", "làm j", "là j ạ")
    r"(?:lam|cai|la|can|nhung|giay to|ho so|thu tuc|duoc|dc) j|"
    r"may (?:nam|thang|nguoi|tuoi|lan|gio|ngay|phan tram|tien|trieu|nghin|ngan)|may ?%|"
    r"(?:nam|thang|ngay|gio|lan|lop|tuoi|so|muc|loai|tuyen|hang) may|"
    # who: "những ai phải mua", "ai được hỗ trợ" ("ai cũng phải đóng", "bất kể ai đóng", anyone, tells)
    r"nhung ai|la ai|(?<!bat ke )(?<!bat ky )(?<!bat ki )ai (?:phai|duoc|dc|can|se|co the|lam|dong|mua|nhan|ky|ki|di|thuoc)|"
    r"the nao|hay khong|hay ko|co nen|nen khong|nen ko|phai lam|lam the nao|thi sao|(?<!ban )sao (?:a|vay|chi|anh|ad|ta|nhi)|"
    r"tai sao|vi sao|"
    # which one: "qua app nào", "bệnh viện nào" ("bất kỳ bệnh viện nào" tells)
    r"(?<!ky )(?<!ki )(?<!cu )(?:app|ung dung|trang|web|website|ngan hang|benh vien|co quan|bo phan|mau|to khai|loai|"
    r"hinh thuc|phuong thuc|buu dien|diem) nao|"
    # one place or the other: "mua ở trường hay tự mua", "ở xã hay ra bưu điện"
    r"(?:truong|xa|phuong|buu dien|dai ly|ngan hang|online|app|vssid) hay (?:tu|ra|o|tai|mua|den|di|qua|len)|"
    r"bang gi|(?:giay to|ho so|thu tuc) gi|"
    r"chi (?:em|toi|minh|chau|con|tui|giup|dum|gium)(?: voi| giup| dum| gium)? cach|"
    # "lấy lại kiểu gì", "bằng cách nào" ask how; "kiểu gì cũng phải đóng" (in any case) tells
    r"(?:kieu|cach) (?:gi|nao)(?! cung)|"
    r"hay la|hay (?:cho|doi|rut|dong)|giai dap|tu van giup|huong dan giup|giup (?:em|toi|minh)|"
    r"(?:muon|can|xin cho|cho (?:em|toi|minh)) biet(?! nhat)|chi giup|nho (?:ad|anh|chi|ban)|"
    # a request for the office's details asks for them ("cho em xin số tổng đài", "xin địa chỉ bhxh tỉnh")
    r"xin (?:so|sdt|dia chi|tong dai|hotline|email|thong tin lien he)|"
    # a second question announced as one (`_ANNOUNCE`), what two things differ in ("nó khác gì bhxh bắt buộc"), which
    # number it is ("số tổng đài là số nào"; "không biết gọi số nào" tells), what to bring ("đi khám mang gì")
    + _ANNOUNCE + r"|"
    r"khac (?:gi|j|cho nao|o dau|nhau (?:gi|the nao|ra sao|cho nao|o dau))|la (?:so|sdt) nao|mang (?:theo )?(?:gi|j)"
    r")(?![a-z])|(?<![a-z])(?:khong|ko|k|hok|hong|chua)(?: a| ad| vay| nhi)?\s*[.!]*\s*$"
    # what one gets closing a sentence ("nhà được hưởng gì."; "không hưởng trợ cấp gì" tells, it does not ask)
    r"|(?<![a-z])(?:duoc|dc|huong|lam|mat|can|phai|bi) gi(?: a| ad| vay| nhi| ha)?\s*[.!]*\s*$"
    # "sao" closing a sentence asks how ("quên mật khẩu rồi lấy lại sao ad"); "bản sao" is a copy
    r"|(?<![a-z])(?<!ban )sao(?: a| ad| vay| nhi| ha| day| ta)?\s*[.!]*\s*$"
)


def sentences(text: str) -> list[str]:
    """The message cut into sentences (as written), empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


# words that ask for an answer, address the reader or thank, and carry no subject: a sentence made only of
# them ("Rất mong luật sư giải đáp giúp em.", "Cho em hỏi về vấn đề:") asks nothing by itself
_COURTESY_WORDS = (
    "a ad ah anh ban bao bien biet cam cho chan chao chi chuyen chung da dap de duoc em gia giai giup gui hoi huong "
    "kinh la lam long luat minh mong nhan nho nhe nhu on quy rat sau som su tap thanh thua toa soan toi tra loi tu "
    "tui van ve vui xin voi day"
)
_COURTESY = frozenset(_COURTESY_WORDS.split())


# whom a letter addresses, in more than one word ("quý cơ quan", "ban biên tập")
_ADDRESSEE = re.compile(
    r"(?<![a-z])(?:quy bao|(?:quy )?(?:co quan|chuyen muc|ban bien tap|toa soan|luat su|chuyen gia))(?![a-z])")


def _has_subject(folded: str) -> bool:
    """Whether a folded sentence has two words or more beyond courtesy and addressing words and the announcement of a
    question."""
    rest = _ANNOUNCED.sub(" ", _ADDRESSEE.sub(" ", folded))
    return sum(1 for w in re.findall(r"[a-z]+", rest) if w not in _COURTESY) >= 2


# question words that folding would confuse with other words, on the sentence as written (lower case): the south's
# "nhiêu" for "bao nhiêu" ("nhiều", many, is another word), central "mô" (where), "răng" (how) and "chi" (what)
# ("đi mổ", "khám răng", "chị" are not)
_QUESTION_AS_WRITTEN = re.compile(
    r"(?<!\w)(?:(?<!bao )nhiêu|nhiu|(?:ở|ra|đi|tới|đến|chỗ|nơi|bên) mô|"
    r"(?<!khám )(?<!đau )(?<!nhổ )(?<!hàm )(?<!sâu )(?<!cái )răng(?=\s*(?:rứa|ri|hè|ạ|à)?\s*[?.!,]*\s*$)|làm chi|"
    r"(?:giấy tờ|hồ sơ|thủ tục|cần|được|hưởng|mất) chi(?=\s*(?:rứa|ri|hè|ạ|à)?\s*[?.!,]*\s*$))(?!\w)")


def is_question(sentence: str) -> bool:
    """A sentence that asks something: a question mark, word or particle, and a subject of its own (a
    closing request such as "Mong luật sư tư vấn giúp!" asks for the answer, not a question)."""
    folded = fold(sentence).strip()
    asks = _QUESTION.search(folded) or _QUESTION_AS_WRITTEN.search(nfc(sentence).lower().strip())
    return bool(asks) and _has_subject(folded)


def question_parts(text: str) -> list[str]:
    """The sentences of `text` that ask something, in order."""
    return [s for s in sentences(text) if is_question(s)]


def reading(text: str) -> tuple[list[str], list[str]]:
    """(the sentences of `text`, those of them that ask something)."""
    parts = sentences(text)
    return parts, [s for s in parts if is_question(s)]


_CLAUSE = re.compile(r"\s*[,;:]\s*|\s+(?=(?:và|với|vs|còn|hay|ngoài ra|thêm nữa|mà|va|voi|con|ma)\s+(?:cho|nếu|neu|"
                     r"khi|thì|thi|em|tôi|toi|mình|minh|e|t|có|co|được|duoc|dc|phải|phai|nên|nen|rút|rut|hồ sơ|ho so|"
                     r"thủ tục|thu tuc|cả|ca|con|mua|đóng|dong|thẻ|the|bhyt|bhxh|lương|luong|muốn|muon|tui|tao)\b)",
                     re.IGNORECASE)


def asked_clauses(asked: list[str]) -> list[str]:
    """The question parts cut at commas and at a joining word that starts a new question ("..., và
    hồ sơ nộp ở đâu?", "rút được bao nhiêu, rút rồi có thiệt gì không"): the clauses that ask
    something, each with the words before it back to the previous question. A clause that only
    introduces the question ("Cho em hỏi về vấn đề:", "Luật sư cho em hỏi,") goes with what follows."""
    out = []
    for sentence in asked:
        pending, own = "", []
        for clause in _CLAUSE.split(sentence):
            if not clause or not clause.strip():
                continue
            pending = f"{pending} {clause}".strip()
            if is_question(clause):
                own.append(pending)
                pending = ""
        if pending:
            if own:
                own[-1] = f"{own[-1]} {pending}"
            else:  # the sentence asks as a whole ("Cho em hỏi: thẻ BHYT bị mất."), no clause of it alone
                own.append(pending)
        out.extend(own)
    return out



# words that mark one question as the one the writer cares most about ("cái này em lo nhất", "chủ yếu là em muốn
# biết", "việc chính là ..."), on folded text; "điều chỉnh", "chính sách" and "chủ yếu làm ruộng" do not
_MAIN_MARK = re.compile(
    r"(?<![a-z])(?:(?:quan tam|can|lo|thac mac|muon biet|muon hoi|quan trong|bang khoang|bau khoan|can biet) nhat|"
    r"(?:cai|viec|dieu|van de|y|cau hoi) chinh(?: la| em| toi| tui| minh| can| muon)|"
    r"chu yeu (?:la )?(?:(?:em|e|toi|tui|minh|chau|con) )?(?:muon|can) (?:hoi|biet)|(?:hoi|biet) chu yeu)(?![a-z])")
# a sentence that only points back at the question before it ("Cái này em lo nhất.")
_POINTS_BACK = re.compile(r"(?<![a-z])(?:nay|ni|do|day)(?![a-z])")


def marks_main(clause: str) -> bool:
    """Whether a question clause says it is the one the writer cares most about."""
    return bool(_MAIN_MARK.search(fold(clause)))


def main_first(sents: list[str], clauses: list[str]) -> list[str]:
    """The question clauses with the one the writer marks as main ("..., cái này em cần nhất", "nhưng chủ yếu là
    em muốn biết ...") moved first; a sentence that only points back at the question before it ("Cái này tui lo
    nhất.") marks that question. Unchanged when no clause, or more than one, is marked."""
    if len(clauses) < 2:
        return clauses
    marked = [i for i, c in enumerate(clauses) if marks_main(c)]
    if not marked:
        before = ""
        for sentence in sents:
            folded = fold(sentence)
            if not is_question(sentence) and _MAIN_MARK.search(folded) and _POINTS_BACK.search(folded) and before:
                own = asked_clauses([before])
                marked = [clauses.index(own[-1])] if own and own[-1] in clauses else []
                break
            if is_question(sentence):
                before = sentence
    if len(marked) != 1 or marked[0] == 0:
        return clauses
    return [clauses[marked[0]]] + clauses[:marked[0]] + clauses[marked[0] + 1:]


# benefits that only compulsory insurance (or the unemployment fund) pays, by the out-of-scope group of
# intents.yaml they belong to. A letter that says "tự nguyện" is left to retrieval: voluntary insurance pays
# maternity since 1/7/2025 (vtn-thai-san), and "does voluntary insurance pay for a work accident?" is in scope.
_COMPULSORY = (
    (re.compile(r"(?<![a-z])(?:tro cap|bao hiem|che do|huong|tien|so|bhtn) that nghiep(?![a-z])"), "oos-that-nghiep"),
    (re.compile(r"(?<![a-z])(?:tai nan lao dong|benh nghe nghiep|tnld)(?![a-z])"), "oos-om-dau-bat-buoc"),
    (re.compile(r"(?<![a-z])(?:(?:che do|tro cap|tien|huong|nghi) om dau|nghi om|duong suc)(?![a-z])"),
     "oos-om-dau-bat-buoc"),
    # ("có được hưởng tiền bảo hiểm thai sản không": the benefit by the insurance's name, read since 07/12/2026)
    (re.compile(r"(?<![a-z])(?:che do|tro cap|tien|huong|nghi|bao hiem|bh|bhxh) thai san(?![a-z])"),
     "oos-om-dau-bat-buoc"),
)
# voluntary insurance by name, or paying for oneself ("nay tự đóng thêm cho đủ": "tự động", automatic, folds the same,
# so only before a word of paying on)
_VOLUNTARY = re.compile(r"(?<![a-z])(?:tu nguyen|bhxhtn|vtn|tu dong (?:them|tiep|cho du|not|bu)|"
                        r"(?:dong|dong tiep|bhxh|bh|bao hiem|bao hiem xa hoi) tn)(?![a-z])")  # "đóng tn": chat shorthand


# a short message's compulsory-insurance context: an employer, compulsory insurance by name, or an occupation that
# is insured by its employer (a teacher's, a police officer's, a civil servant's pension is compulsory insurance's)
_EMPLOYER = re.compile(r"(?<![a-z])(?:cong ty|cty|doanh nghiep|nguoi su dung lao dong|chu su dung lao dong|"
                       r"(?:bhxh|bao hiem xa hoi|bao hiem|dong|tham gia|dong bao hiem) bat buoc|"
                       r"giao vien|cong an|quan doi|bo doi|si quan|quan nhan|cong chuc|vien chuc|cong nhan|"
                       r"huu (?:ben |o |tu |cua )?nganh|nganh (?:y te|giao duc|cong an|quan doi|dien|duong sat|than))"
                       r"(?![a-z])")
# "công nhận" (recognised: "nhà tôi được xã công nhận hộ cận nghèo") folds to the "cong nhan" of "công nhân" (a
# worker, an employer's): told apart by its marks, or without them by the words around it
_RECOGNISED = re.compile(r"(?i)(?<!\w)công\s+nhận(?!\w)")
# "nó" (it, the company: "công ty nó đóng cho em 3 năm") folds to the "no" of "nợ" (owes: "công ty nợ đóng"), a
# dispute (`_EMPLOYER_ASKS`); with its mark it is read as "người ta" (they)
_IT = re.compile(r"(?i)(?<!\w)nó(?!\w)")
_RECOGNISED_FOLDED = re.compile(
    r"(?<![a-z])(?:(?:duoc|da|chua|moi|vua)(?: (?:ubnd|uy ban|uy ban nhan dan|chinh quyen))?(?: xa| phuong| thon)?"
    r"|(?:ubnd|uy ban|chinh quyen|xa|phuong|thon)) cong nhan(?![a-z])"
    r"|(?<![a-z])cong nhan (?=(?:la )?(?:ho (?:ngheo|can ngheo)|thoat ngheo|ra khoi|dat chuan|hoan thanh)(?![a-z]))")


def fold_employer(text: str) -> str:
    """`fold(text)` for reading an employer and what is asked of it, with the words folding would merge with the
    rules' kept apart: the verb "công nhận" written "xac nhan", so that `_EMPLOYER`'s "cong nhan" (a worker) reads only
    a worker ("còn nếu nhà em mới được xã công nhận cận nghèo thì được bớt bao nhiêu" names no employer), and a marked
    "nó" written "nguoi ta", so that "công ty nó đóng cho em" is no debt ("nợ đóng")."""
    folded = fold(_IT.sub("người ta", _RECOGNISED.sub("xác nhận", text)))
    return _RECOGNISED_FOLDED.sub(lambda m: m.group(0).replace("cong nhan", "xac nhan"), folded)


# what such a message asks about: a benefit of compulsory insurance, or a dispute with the employer
_EMPLOYER_ASKS = (
    (re.compile(r"(?<![a-z])(?:that nghiep|bhtn)(?![a-z])"), "oos-that-nghiep"),
    (re.compile(r"(?<![a-z])(?:thai san|om dau|nghi om|con om|duong suc|tai nan|benh nghe nghiep|tnld)(?![a-z])"),
     "oos-om-dau-bat-buoc"),
    # ("giờ không đóng thêm được nữa": the member cannot pay on, no dispute)
    (re.compile(r"(?<![a-z])(?:(?:khong|ko|k|chua|cham|tron|no) (?:dong(?! them| nua| duoc| noi)|chot|tra so)|"
                r"no (?:tien )?(?:bhxh|bao hiem)|"
                # ("e ko còn giữ sổ": the member has no book at hand, no dispute)
                r"(?<!khong )(?<!ko )(?<!k )(?<!chua )(?<!khong con )(?<!ko con )giu so|khong tra so|khong chot so)"
                r"(?![a-z])"), "oos-doanh-nghiep"),
    (re.compile(r"(?<![a-z])(?:luong huu|nghi huu|huu tri|tu tuat|tuat|mai tang)(?![a-z])"), "bat-buoc"),
)
# a short message in scope though it names an employer: voluntary insurance, household or student insurance, the
# lump sum, keeping or joining contribution periods, looking them up ("nghỉ việc ở công ty rồi có rút bhxh 1 lần
# được không", "đã đóng bắt buộc 8 năm giờ đóng tiếp tự nguyện được không")
_IN_SCOPE = re.compile(r"(?<![a-z])(?:tu nguyen|bhxhtn|vtn|ho gia dinh|hgd|hoc sinh|sinh vien|hssv|rut|mot lan|1 lan|"
                       r"bao luu|cong noi|cong don|tra cuu|vssid)(?![a-z])")
# a letter asking for the survivors' benefit or the funeral grant: when it names an employer or compulsory insurance
# ("Tổng thời gian đóng BHXH bắt buộc là 8 năm 11 tháng ... có được hưởng trợ cấp mai táng và trợ cấp tuất một lần
# không?"), the member's survivors are paid by compulsory insurance
_LETTER_SURVIVOR = re.compile(r"(?<![a-z])(?:tuat|mai tang)(?![a-z])")
_LUMP_SURVIVOR = re.compile(r"(?<![a-z])tuat (?:mot|1) lan(?![a-z])")  # the lump-sum survivors' benefit, not the lump sum
# the compulsory benefits named on their own, whoever pays: a short message naming one asks about it
_COMPULSORY_ONLY = (
    (re.compile(r"(?<![a-z])(?:(?:tro cap|bao hiem|che do|huong|tien|so|lanh|nhan) that nghiep|bhtn)(?![a-z])"),
     "oos-that-nghiep"),
    (re.compile(r"(?<![a-z])(?:tai nan lao dong|benh nghe nghiep|tnld)(?![a-z])"), "oos-om-dau-bat-buoc"),
)

# a person with merit to the revolution: a martyr, a war invalid or sick soldier, a resistance participant (exposed
# to a toxic chemical), a Vietnamese heroic mother. Their relatives' monthly survivor allowance is paid under the
# ordinance on preferential treatment of people with merit, not by voluntary insurance's survivor benefit
_MERIT = re.compile(r"(?<![a-z])(?:liet si|thuong binh|benh binh|nguoi co cong|co cong voi cach mang|khang chien|"
                    r"chat doc hoa hoc|chat doc da cam|me viet nam anh hung)(?![a-z])")
_SURVIVOR = re.compile(r"(?<![a-z])tuat(?![a-z])")
MERIT = "nguoi-co-cong"

# why staff get a message of a group that intents.yaml does not list
SCHEME_REASONS = {"bat-buoc": "Chế độ BHXH bắt buộc (người lao động ở công ty, doanh nghiệp)",
                  MERIT: "Chế độ ưu đãi người có công với cách mạng (thân nhân liệt sĩ, thương binh, bệnh binh, "
                         "người hoạt động kháng chiến)"}


def compulsory_benefit(text: str, sents: list[str], asked: list[str]) -> str:
    """The out-of-scope group ("oos-that-nghiep", "oos-om-dau-bat-buoc", "oos-doanh-nghiep", or "bat-buoc" for
    the other benefits of compulsory insurance, pension and survivors', `SCHEME_REASONS`) of the compulsory-insurance
    benefit a message asks about, or "".

    A letter (two sentences or more): only its question sentences are read (all of it when none asks): "Tôi đã
    hưởng trợ cấp thất nghiệp năm ngoái. Nay tôi muốn đóng BHXH tự nguyện thì đăng ký ở đâu?" tells its past and
    asks in scope. A letter that names an employer or compulsory insurance and asks for the survivors' benefit or
    the funeral grant, nothing in scope, asks for compulsory insurance's ("bat-buoc"). A shorter message: when it
    names unemployment, a work accident or an occupational disease, or an employer or compulsory insurance together
    with a benefit or a dispute ("nghỉ thai sản ở công ty được mấy tháng", "công ty không đóng bhxh cho tôi thì
    sao"), and nothing in scope (`_IN_SCOPE`: voluntary, household or student insurance, the lump sum, keeping or
    joining contribution periods)."""
    folded = fold_employer(text)
    if _VOLUNTARY.search(folded):
        return ""
    if len(sents) >= 2:
        question = fold(" ".join(asked) if asked else text)
        group = next((group for pattern, group in _COMPULSORY if pattern.search(question)), "")
        if not group and _LETTER_SURVIVOR.search(question) and _EMPLOYER.search(folded) \
                and not _IN_SCOPE.search(_LUMP_SURVIVOR.sub(" ", question)):
            group = "bat-buoc"  # the survivors of a member insured by an employer
        return group
    if _IN_SCOPE.search(folded):
        return ""
    own = next((group for pattern, group in _COMPULSORY_ONLY if pattern.search(folded)), "")
    if own or not _EMPLOYER.search(folded):
        return own
    return next((group for pattern, group in _EMPLOYER_ASKS if pattern.search(folded)), "")


def merit_survivor(text: str, sents: list[str], asked: list[str]) -> bool:
    """Whether a message asks for the survivor allowance (tuất) of a person with merit ("Bố tôi là bệnh binh, đã
    chết năm 1979 ... Mẹ tôi có được hưởng tiền tuất hàng tháng không?"): the status anywhere, the allowance in the
    last question sentence of a letter (all of a shorter message), and no word of voluntary insurance. A letter that
    tells of such an allowance and asks something else ("Luật sư cho tôi hỏi: bà đang hưởng tuất do ông là liệt sĩ.
    Vậy bà có được hưởng thêm trợ cấp hưu trí xã hội không?") is left to retrieval."""
    folded = fold(text)
    if _VOLUNTARY.search(folded) or not _MERIT.search(folded):
        return False
    question = fold(asked[-1]) if len(sents) >= 2 and asked else folded
    return bool(_SURVIVOR.search(question))


def benefit_elsewhere(text: str, sents: list[str], asked: list[str]) -> str:
    """The group of another scheme's benefit a message asks about (`compulsory_benefit`, or `MERIT` for a person
    with merit's survivor allowance), or "": staff answer it, with the group's reason."""
    return compulsory_benefit(text, sents, asked) or (MERIT if merit_survivor(text, sents, asked) else "")


# the out-of-scope group of compulsory insurance's pension (knowledge_base/intents.yaml)
COMPULSORY_PENSION = "oos-huu-bat-buoc"


def asks_of_voluntary(earlier: str, text: str) -> bool:
    """Whether a follow-up asks about voluntary insurance because the earlier message of the conversation does and
    the follow-up names no employer or compulsory insurance: "vậy về hưu em được lĩnh khoảng bao nhiêu 1 tháng ạ"
    after "Em là nữ, đóng tự nguyện được 15 năm rồi" asks the voluntary pension, although on its own it reads like
    an employee's pension question (`COMPULSORY_PENSION`)."""
    return bool(_VOLUNTARY.search(fold(earlier))) and not _EMPLOYER.search(fold_employer(text))


def names_employer(text: str) -> bool:
    """Whether a message names an employer or compulsory insurance and nothing in scope: "còn ở công ty thì
    sao" after an answer on voluntary maternity asks about compulsory insurance."""
    folded = fold_employer(text)
    return bool(_EMPLOYER.search(folded)) and not _IN_SCOPE.search(folded) and not _VOLUNTARY.search(folded)
