"""Vietnamese text normalisation: Unicode, tone marks, diacritics, chat spelling, money.

Citizens type with or without diacritics, with old or new tone placement
(hoà / hòa), in chat spelling (ko, dc, bn) and with amounts such as "1tr5".
Everything that compares texts goes through `Normalizer.key()`, which returns
folded, expanded, lower-case text in which amounts are replaced by a marker.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal

# --- Unicode ------------------------------------------------------------------

# invisible characters that split a word without showing (zero-width space and joiners, bidi marks, word
# joiner, BOM, soft hyphen): pasted text and some keyboards put them inside words
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


def fold(text: str) -> str:
    """Lower-case text without diacritics: 'Bảo hiểm Đà Nẵng' -> 'bao hiem da nang'."""
    text = nfc(text).replace("đ", "d").replace("Đ", "D")
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    return stripped.lower()


# --- Numbers and money -------------------------------------------------------

MONEY_MARK = "sotien"

_UNIT = r"(?P<unit>trieu|tr|cu|m|nghin|ngan|k|nghin dong|dong|d|vnd)"
# "1tr5", "1 tr 5", "1,5 trieu", "2.500.000d", "500k", "5 trieu ruoi"
_MONEY_RE = re.compile(
    r"(?<![\w.,])(?P<int>\d{1,3}(?:[.,]\d{3})+|\d+)(?:[.,](?P<dec>\d{1,2})(?!\d))?\s*"
    + _UNIT
    + r"(?:\s*(?P<tail>\d{1,3})(?!\s*(?:nam|thang|nguoi|tuoi|lan|\d)))?(?P<ruoi>\s+ruoi)?(?![a-z])"
)
_PLAIN_BIG_RE = re.compile(r"(?<![\w.,])(\d{1,3}(?:[.,]\d{3}){2,})(?![\w.,])")


def _money_value(m: re.Match[str]) -> Decimal | None:
    unit = m.group("unit")
    whole = Decimal(re.sub(r"[.,]", "", m.group("int")))
    dec = m.group("dec")
    if dec and re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", m.group("int")) is None:
        whole = whole + Decimal(dec) / (10 ** len(dec))
    if unit in ("trieu", "tr", "cu", "m"):
        value = whole * 1_000_000
        tail = m.group("tail")
        if tail:
            value += Decimal(tail) * 10 ** (6 - len(tail))
        if m.group("ruoi"):
            value += 500_000
        return value
    if unit in ("nghin", "ngan", "k", "nghin dong"):
        return whole * 1000
    # dong / d / vnd: the number must already be the full amount
    return whole if whole >= 1000 else None


def extract_money(folded: str) -> list[Decimal]:
    """Amounts of money in a folded text, in đồng."""
    found: list[tuple[int, Decimal]] = []
    spans = []
    for m in _MONEY_RE.finditer(folded):
        value = _money_value(m)
        if value is not None:
            found.append((m.start(), value))
            spans.append(m.span())
    for m in _PLAIN_BIG_RE.finditer(folded):
        if not any(a <= m.start() < b for a, b in spans):
            found.append((m.start(), Decimal(re.sub(r"[.,]", "", m.group(1)))))
    return [value for _, value in sorted(found, key=lambda f: f[0])]


def _replace_money(folded: str) -> str:
    folded = _MONEY_RE.sub(lambda m: f" {MONEY_MARK} " if _money_value(m) is not None else m.group(0), folded)
    return _PLAIN_BIG_RE.sub(f" {MONEY_MARK} ", folded)


_COUNT_RE = {
    "years": re.compile(r"(\d+(?:[.,]5)?)\s*(?:nam|n)(?![a-z])"),
    "months": re.compile(r"(\d+)\s*(?:thang|th)(?![a-z])"),
    "people": re.compile(r"(\d+)\s*(?:nguoi|thanh vien|nhan khau|khau|mang)(?![a-z])"),
    "age": re.compile(r"(\d+)\s*(?:tuoi|t)(?![a-z])"),
}
_WORD_NUMBERS = {
    "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9,
    "muoi": 10,
}


def extract_counts(folded: str, kind: str) -> list[Decimal]:
    """Numbers followed by a unit word: years, months, people or age."""
    values = [Decimal(v.replace(",", ".")) for v in _COUNT_RE[kind].findall(folded)]
    if kind == "people":
        for word, n in _WORD_NUMBERS.items():
            if re.search(rf"(?<![a-z]){word} (?:nguoi|thanh vien|nhan khau)(?![a-z])", folded):
                values.append(Decimal(n))
    return values


# --- Synonyms and chat spelling ---------------------------------------------


def _replacement(table: dict[str, str]) -> Callable[[re.Match[str]], str]:
    """A `re.sub` replacement: the table's canonical form of the matched variant."""
    return lambda m: table[m.group(0)]


class Normalizer:
    """Rewrites folded text with the synonyms file, one pass per section, in file order.

    In a pass every variant (and the canonical phrase itself) is replaced by its
    canonical phrase, longest match first, on whole words.
    """

    def __init__(self, passes: list[dict[str, str]] | None = None, stopwords: set[str] | None = None):
        words = {" ".join(fold(w).split()) for w in stopwords or set()} - {""}
        # single words are dropped token by token; phrases ("quan tri vien") as whole words, longest first
        self.stopwords = {w for w in words if " " not in w}
        # the stopwords as written, with their marks ("bạn", "dạ"), to tell them from words that fold alike ("bán")
        self.written_stopwords = {" ".join(nfc(w).lower().split()) for w in stopwords or set()}
        phrases = sorted((w for w in words if " " in w), key=len, reverse=True)
        self.stop_phrases = (re.compile(rf"(?<![a-z0-9])(?:{'|'.join(map(re.escape, phrases))})(?![a-z0-9])")
                             if phrases else None)
        self.passes: list[tuple[dict[str, str], re.Pattern[str]]] = []
        for rewrites in passes or []:
            table = {}
            for variant, canonical in rewrites.items():
                v, c = " ".join(fold(variant).split()), " ".join(fold(canonical).split())
                if v and c:
                    table[v] = c
                    table.setdefault(c, c)
            if table:
                alternation = "|".join(re.escape(v) for v in sorted(table, key=len, reverse=True))
                pattern = re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")
                self.passes.append((table, pattern))

    @classmethod
    def from_sections(cls, sections: dict[str, dict[str, list[str]]]) -> Normalizer:
        """Build from {section: {canonical: [variant, ...]}} as written in synonyms.yaml."""
        passes = []
        stopwords: set[str] = set()
        for name, groups in sections.items():
            if name == "stopwords":  # a list of words that carry no meaning for retrieval
                stopwords.update(str(w) for w in groups or [])
                continue
            rewrites: dict[str, str] = {}
            for canonical, variants in (groups or {}).items():
                for variant in variants or []:
                    rewrites[str(variant)] = str(canonical)
                rewrites.setdefault(str(canonical), str(canonical))
            passes.append(rewrites)
        return cls(passes, stopwords)

    def surface(self, text: str) -> str:
        """Folded text with punctuation and emoji removed; amounts kept."""
        # folding drops every mark, so where a tone mark sits (hoà / hòa) or whether it was typed as a
        # combining character no longer matters
        folded = fold(text)
        folded = re.sub(r"https?://\S+|www\.\S+|\S+\.(?:com|vn|ly|net)\S*", " url ", folded)
        folded = re.sub(r"(\d)\s*([.,])\s*(\d)", r"\1\2\3", folded)
        folded = re.sub(r"[^a-z0-9.,/ ]+", " ", folded)
        folded = re.sub(r"(?<!\d)[.,/]|[.,/](?!\d)", " ", folded)
        return re.sub(r"\s+", " ", folded).strip()

    def expand(self, folded: str, keep: frozenset[str] = frozenset()) -> str:
        # repeated letters from chat ("nhieuuu") collapse to one
        # vowels and final letters stretched in chat ("nhieuuu", "oiii") collapse; "cccd" stays
        folded = re.sub(r"([aeiouy])\1{2,}|([a-z])\2{3,}", lambda m: m.group(1) or m.group(2), folded)
        for table, pattern in self.passes:
            folded = pattern.sub(_replacement(table), folded)
        if self.stop_phrases is not None:
            folded = self.stop_phrases.sub(" ", folded)
        if self.stopwords:
            folded = " ".join(w for w in folded.split() if w not in self.stopwords or w in keep)
        return re.sub(r"\s+", " ", folded).strip()

    def key(self, text: str) -> str:
        """The comparison form of a message: folded, expanded, amounts marked."""
        return self.expand(_replace_money(self.surface(text)))

    def written_key(self, text: str, key: str | None = None) -> str:
        """The key, except that a word that folds into a stopword but is typed with other marks everywhere in the
        message stays: "có ai bán hông" keeps "ban" (sell), which `key` drops as "bạn" (you). A word typed without
        marks ("co ai ban hong") cannot be told apart and is dropped as in `key`. `key`: the text's key, when known."""
        typed: dict[str, set[str]] = {}
        for word in re.findall(r"\w+", nfc(text).lower()):
            if (folded := fold(word)) in self.stopwords:
                typed.setdefault(folded, set()).add(word)
        keep = frozenset(f for f, forms in typed.items()
                         if all(w != f and w not in self.written_stopwords for w in forms))
        if keep:
            return self.expand(_replace_money(self.surface(text)), keep)
        return self.key(text) if key is None else key


def tokens(key: str) -> list[str]:
    return key.split()
