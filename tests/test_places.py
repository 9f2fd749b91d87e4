"""Provinces named in a message (app.places), for questions about another province's office."""

from __future__ import annotations

from app.places import other_province, provinces_named


def test_names_with_and_without_diacritics_and_short_forms():
    assert provinces_named("BHXH thành phố Đà Nẵng làm việc thứ bảy không") == {"da nang"}
    assert provinces_named("dia chi bhxh tphcm") == provinces_named("BHXH Sài Gòn ở đâu") == {"ho chi minh"}
    assert provinces_named("bhxh tỉnh Gia Lai ở đâu") == {"gia lai"}


def test_everyday_words_that_fold_to_a_name_are_not_places():
    for text in ("tôi muốn tham gia lại bhxh", "đóng lại cháu có được không", "em tên Huệ", "đã đóng 5 năm"):
        assert provinces_named(text) == set(), text


def test_another_province_is_one_the_office_does_not_name():
    assert other_province("sđt bhxh tỉnh Cà Mau", "Bảo hiểm xã hội tỉnh Cà Mau") == ""
    assert other_province("sđt bhxh tỉnh Cà Mau", "Bảo hiểm xã hội tỉnh Đồng Nai") == "ca mau"
    assert other_province("số điện thoại bhxh tỉnh", "") == ""
