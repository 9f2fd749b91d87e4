"""Reading a long message: its sentences, and which of them ask something.

Citizens who write to the office's Q&A page tell their circumstances first and ask last, often
two things. The engine searches the whole message and its question parts, and lets the question
parts weigh more (docs/answering.md); each question part is also searched on its own, so that a
second question can be offered first among the follow-up choices.
"""

from __future__ import annotations

import re

from app.text import fold

# sentence ends: . ! ? … ; and line breaks (a decimal point "1.5" or "2.000.000" is not an end)
_SENTENCE_END = re.compile(r"(?<=[?!…;])\s*|(?<=[^\d\s][.])\s+|\n+")
# question words and particles, on folded text
_QUESTION = re.compile(
    r"\?|(?<![a-z])(?:"
    r"cho (?:em|toi|minh|chau|con|tui|to) (?:xin )?hoi|xin (?:duoc )?hoi|muon hoi|hoi (?:chut|ti|xiu|giup)|"
    r"co (?:duoc|phai|nen|can|bi|mat) [a-z ]{0,40}(?:khong|ko|k|hok|hong|chua|ha)(?: a| vay| nhi| nha)?$|"
    r"(?:khong|ko|hong|hok|chua) (?:a|ah|ak|vay|nhi|ha|nha)|(?:duoc|dc|nen|phai|can|kip) (?:khong|ko|k|hok|hong|chua)|"
    r"bao nhieu|bn|bao lau|bao gio|khi nao|luc nao|o dau|(?:ra|di|toi|den) dau|cho nao|noi nao|"
    r"nhu the nao|the nao|nhu nao|ra sao|"
    r"lam sao|lam gi|cai gi|la gi|gi (?:a|vay|nhi|khong)|nhung gi|ntn|tn|may (?:nam|thang|nguoi|tuoi|lan)|"
    r"the nao|hay khong|hay ko|co nen|nen khong|nen ko|phai lam|lam the nao|thi sao|sao (?:a|vay)|tai sao|vi sao|"
    r"hay la|hay (?:cho|doi|rut|dong)|giai dap|tu van giup|huong dan giup|giup (?:em|toi|minh)|"
    r"(?:muon|can|xin cho|cho (?:em|toi|minh)) biet|chi giup|nho (?:ad|anh|chi|ban)"
    r")(?![a-z])|(?<![a-z])(?:khong|ko|k|hok|hong|chua)(?: a| ad| vay| nhi)?\s*[.!]*\s*$"
)


def sentences(text: str) -> list[str]:
    """The message cut into sentences (as written), empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


def is_question(sentence: str) -> bool:
    return bool(_QUESTION.search(fold(sentence).strip()))


def question_parts(text: str) -> list[str]:
    """The sentences of `text` that ask something, in order."""
    return [s for s in sentences(text) if is_question(s)]


def reading(text: str) -> tuple[list[str], list[str]]:
    """(the sentences of `text`, those of them that ask something)."""
    parts = sentences(text)
    return parts, [s for s in parts if is_question(s)]


_CLAUSE = re.compile(r"\s*[,;:]\s*|\s+(?=(?:và|với|vs|còn|hay|ngoài ra|thêm nữa|mà|va|voi|con|ma)\s+(?:cho|nếu|neu|"
                     r"khi|thì|thi|em|tôi|toi|mình|minh|e|t|có|co|được|duoc|dc|phải|phai|nên|nen|rút|rut|hồ sơ|ho so|"
                     r"thủ tục|thu tuc)\b)", re.IGNORECASE)


def asked_clauses(asked: list[str]) -> list[str]:
    """The question parts cut at commas and at a joining word that starts a new question ("..., và
    hồ sơ nộp ở đâu?", "rút được bao nhiêu, rút rồi có thiệt gì không"): the clauses that ask
    something, each with the words before it back to the previous question."""
    out = []
    for sentence in asked:
        pending = ""
        for clause in _CLAUSE.split(sentence):
            if not clause or not clause.strip():
                continue
            pending = f"{pending} {clause}".strip()
            if is_question(clause):
                out.append(pending)
                pending = ""
        if pending and out:
            out[-1] = f"{out[-1]} {pending}"
    return out
