"""Provinces named in a message (app.places), for questions about another province's office."""

from __future__ import annotations

from app.places import asks_for_office_of, names_office_of, other_province, provinces_named, same_province


def test_names_with_and_without_diacritics_and_short_forms():
    assert provinces_named("BHXH thành phố Đà Nẵng làm việc thứ bảy không") == {"da nang"}
    assert provinces_named("dia chi bhxh tphcm") == provinces_named("BHXH Sài Gòn ở đâu") == {"ho chi minh"}
    assert provinces_named("bhxh tỉnh Gia Lai ở đâu") == {"gia lai"}
    # a city inside a province, named as if it were one (05/12/2026): Thủ Đức is Hồ Chí Minh City's, Thủ Dầu Một the
    # former Bình Dương's (now Hồ Chí Minh City's office too)
    assert provinces_named("số điện thoại bhxh thành phố Thủ Đức") == {"ho chi minh"}
    assert provinces_named("bhxh ở Thủ Dầu Một nằm đường nào") == {"binh duong"}
    assert other_province("so dien thoai bhxh thanh pho Thu Duc", "Bảo hiểm xã hội tỉnh Quảng Trị") == "ho chi minh"
    assert other_province("bhxh Thủ Dầu Một ở đâu", "Bảo hiểm xã hội Thành phố Hồ Chí Minh") == ""


def test_everyday_words_that_fold_to_a_name_are_not_places():
    for text in ("tôi muốn tham gia lại bhxh", "đóng lại cháu có được không", "em tên Huệ", "đã đóng 5 năm"):
        assert provinces_named(text) == set(), text


def test_another_province_is_one_the_office_does_not_name():
    assert other_province("sđt bhxh tỉnh Cà Mau", "Bảo hiểm xã hội tỉnh Cà Mau") == ""
    assert other_province("sđt bhxh tỉnh Cà Mau", "Bảo hiểm xã hội tỉnh Đồng Nai") == "ca mau"
    assert other_province("số điện thoại bhxh tỉnh", "") == ""


def test_an_office_asked_about_is_named_beside_where_or_how_to_reach_it():
    own = "Bảo hiểm xã hội tỉnh Đồng Nai"
    for text, name in (("BHXH Thái Nguyên ở đâu ạ, em cần nộp hồ sơ ở đấy", "thai nguyen"),
                       ("sđt của bhxh tỉnh Cà Mau là gì", "ca mau"), ("bảo hiểm xã hội tp hcm địa chỉ", "ho chi minh"),
                       ("bhxh long an o dau", "long an")):
        assert asks_for_office_of(text, own) == name, text
    for text in ("Tôi ở Thái Nguyên, bhxh tự nguyện đăng ký ở đâu",  # where one lives
                 "đóng bhxh ở Hà Nội được không, ở đâu",  # where, not whose office
                 "bhxh tỉnh Đồng Nai ở đâu",  # this office
                 "bhxh tỉnh Cà Mau có làm thứ 7 không",  # no question where or how to reach it
                 "Kính gửi Bảo hiểm xã hội tỉnh Nghệ An. Tôi năm nay 50 tuổi, đóng được 10 năm. Cho tôi hỏi nộp hồ sơ "
                 "ở đâu?"):  # the office a letter is addressed to, far from its question
        assert asks_for_office_of(text, own) == "", text


def test_an_office_named_by_its_own_province_is_this_office():
    own = "Bảo hiểm xã hội tỉnh Thanh Hóa"
    asked = "Tôi làm ở Bắc Ninh, muốn gọi điện hỏi BHXH tỉnh Thanh Hóa nhưng không biết số nào"
    assert other_province(asked, own) == "bac ninh" and names_office_of(asked, own)
    assert names_office_of("bhxh thanh hoa lam viec thu 7 ko", own)
    # another province's office, or this province named only as where one lives, is not this office named
    assert not names_office_of("tôi ở Thanh Hóa, cho số điện thoại bhxh tỉnh Bắc Ninh", own)
    assert not names_office_of("BHXH tỉnh Thanh Hóa ở đâu", "")  # no office name configured: nothing is its own
    # an office merged into this one in 2025 is its own
    assert names_office_of("sđt bhxh tỉnh Bắc Giang cũ là gì", "Bảo hiểm xã hội tỉnh Bắc Ninh")



def test_a_province_merged_into_the_offices_in_2025_is_its_own():
    own = "Bảo hiểm xã hội tỉnh Bắc Ninh"
    assert same_province({"bac ninh"}) == same_province({"bac giang"}) == {"bac ninh", "bac giang"}
    assert same_province({"ha noi"}) == {"ha noi"}  # left as it was
    # the old province's name, where the office now serves it
    assert other_province("bhxh tinh bac ninh moi o dau vay, sau sap nhap tru so chuyen sang bac giang a", own) == ""
    assert asks_for_office_of("BHXH Bắc Giang cũ ở đâu ạ", own) == ""
    assert asks_for_office_of("sđt bhxh tỉnh Hà Giang", "Bảo hiểm xã hội tỉnh Tuyên Quang") == ""
    # a province merged into another one is still another office's
    assert other_province("sđt bhxh tỉnh Bắc Giang", "Bảo hiểm xã hội tỉnh Lạng Sơn") == "bac giang"
    assert asks_for_office_of("BHXH Kiên Giang ở đâu ạ", own) == "kien giang"
    # an office still named by its old province serves the new one too
    assert other_province("bhxh tỉnh Tuyên Quang ở đâu", "Bảo hiểm xã hội tỉnh Hà Giang") == ""
