"""Vietnamese normalisation and personal-number masking (app.text, app.privacy)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.privacy import find_personal_numbers, mask
from app.text import Normalizer, extract_money, fold


def test_both_tone_placements_and_nfd_input_become_one_form():
    norm = Normalizer()
    assert norm.key("hòa thúy khỏe") == norm.key("hoà thuý khoẻ") == norm.key("hoa thuy khoe")
    decomposed = "ho\u0061\u0300"  # 'hoà' typed with a combining grave accent
    assert norm.key(decomposed) == norm.key("hòa") == "hoa"
    assert fold("Bảo Hiểm Xã Hội ĐÀ NẴNG") == "bao hiem xa hoi da nang"


@pytest.mark.parametrize("text,amount", [
    ("1tr5", 1_500_000), ("2 triệu", 2_000_000), ("2.500.000đ", 2_500_000), ("10tr", 10_000_000),
    ("3,5 triệu", 3_500_000), ("5 triệu rưỡi", 5_500_000), ("500k", 500_000), ("300 nghìn", 300_000),
    ("4.680.000 đồng", 4_680_000),
])
def test_money_in_chat_spelling(text, amount):
    norm = Normalizer()
    assert extract_money(norm.surface(text)) == [Decimal(amount)]


def test_synonyms_apply_in_order_and_do_not_repeat():
    norm = Normalizer.from_sections({
        "abbr": {"bao hiem xa hoi": ["bhxh"], "mot lan": ["1 lan"]},
        "syn": {"rut bao hiem xa hoi mot lan": ["rut bao hiem xa hoi", "rut so"]},
    })
    assert norm.key("rút BHXH 1 lần") == "rut bao hiem xa hoi mot lan"
    assert norm.key("RÚT SỔ") == "rut bao hiem xa hoi mot lan"


def test_personal_numbers_are_masked():
    text = "CCCD 001203004567, mã BHXH 7912345678, gọi 0905 123 456 hoặc +84 905 123 457"
    masked = mask(text)
    for digits in ("001203004567", "7912345678", "0905 123 456", "905 123 457"):
        assert digits not in masked
    assert "[CCCD ***567]" in masked and "[mã BHXH ***678]" in masked and "[SĐT ***456]" in masked
    assert mask("đóng 15 năm, 2.530.000 đồng") == "đóng 15 năm, 2.530.000 đồng"


def test_a_health_insurance_card_code_is_a_personal_number():
    """2 letters and 13 digits (group, benefit level, province, the 10-digit BHXH code), as printed or spaced."""
    for text, last in (("thẻ bhyt số GD4797923456789 còn hạn không", "789"),
                       ("mã thẻ hs 4 79 7912345601 của con em", "601")):
        masked = mask(text)
        assert f"[mã thẻ BHYT ***{last}]" in masked and not any(c.isdigit() for c in masked.replace(last, "")), masked
        assert [kind for kind, _ in find_personal_numbers(text)] == ["bhyt"]
    # a word ending in letters before 13 digits is not a card, and an amount stays as written
    assert find_personal_numbers("mức đóng 1.263.600 đồng năm 2026") == []


def test_stopwords_of_several_words_are_removed_as_phrases():
    n = Normalizer.from_sections({
        "chat_spelling": {"quan tri vien": ["ad"]},
        "stopwords": ["quan tri vien", "a", "voi a"],
    })
    assert n.key("dong bhxh duoc ko ad") == "dong bhxh duoc ko"
    assert n.key("Tư vấn giúp em với ạ") == "tu van giup em"
    # only whole words: "quan tri" alone, or inside other words, stays
    assert n.key("quan tri vienxyz quan tri") == "quan tri vienxyz quan tri"


def test_the_written_key_keeps_a_word_typed_with_other_marks_than_a_stopword():
    """Stopwords are written with their marks: the key drops every word that folds into one, the written key keeps
    one typed with other marks everywhere in the message ("bán", sell, is not "bạn", you)."""
    n = Normalizer.from_sections({"stopwords": ["bạn", "ạ", "em"]})
    assert n.key("ở xã có ai bán hông ạ") == n.key("ở xã có ai bạn hông ạ") == "o xa co ai hong"
    assert n.written_key("ở xã có ai bán hông ạ") == "o xa co ai ban hong"
    # the stopword as written, a word typed without marks (which cannot be told apart), or both forms in the
    # message: dropped as in the key
    for text in ("ở xã có ai bạn hông ạ", "o xa co ai ban hong a", "bạn ơi ở xã có ai bán hông ạ"):
        assert n.written_key(text) == n.key(text), text


@pytest.mark.parametrize("hidden", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e"])
def test_invisible_characters_inside_words_are_ignored(hidden):
    norm = Normalizer()
    plain = "bảo hiểm xã hội tự nguyện là gì"
    assert norm.key(f"bảo hi{hidden}ểm x{hidden}ã h{hidden}ội tự ng{hidden}uyện là gì") == norm.key(plain)
    assert fold(f"Bả{hidden}o") == "bao"
