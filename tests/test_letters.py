"""Reading a long message: sentences and the parts that ask something (app.letters)."""

from __future__ import annotations

from app.letters import is_question, question_parts, reading, sentences


def test_a_letter_is_cut_into_sentences_and_its_question_found():
    letter = ("Em năm nay 35 tuổi, đóng BHXH ở công ty được 8 năm. Tháng trước em nghỉ việc.\n"
              "Cho em hỏi em có nên rút BHXH một lần không ạ?")
    parts, asked = reading(letter)
    assert parts == ["Em năm nay 35 tuổi, đóng BHXH ở công ty được 8 năm.", "Tháng trước em nghỉ việc.",
                     "Cho em hỏi em có nên rút BHXH một lần không ạ?"]
    assert asked == [parts[2]]


def test_amounts_with_dots_do_not_end_a_sentence():
    assert sentences("Lương em 2.500.000 đồng một tháng. Đóng 1.5 năm rồi") == [
        "Lương em 2.500.000 đồng một tháng.", "Đóng 1.5 năm rồi"]


def test_question_words_and_particles_without_a_question_mark():
    for text in ("cho em hỏi mua bhyt ở đâu", "xin hỏi thủ tục rút một lần", "đóng 6 tháng một lần được không",
                 "nhà 5 người hết bao nhiêu", "em có được hưởng lương hưu không ạ", "tôi muốn biết mức đóng",
                 "ĐÓNG BAO LÂU THÌ CÓ LƯƠNG HƯU", "rut 1 lan dc ko", "vậy em ra đâu mua thẻ", "hồ sơ đến đâu rồi"):
        assert is_question(text), text
    for text in ("Em năm nay 35 tuổi.", "Gia đình em có 5 người.", "Tháng trước em nghỉ việc ở công ty.",
                 "Em cảm ơn ad nhiều.", "không có gì đâu ạ"):
        assert not is_question(text), text


def test_two_questions_are_two_parts():
    assert question_parts("BHXH tự nguyện đóng bao nhiêu? Đăng ký ở đâu?") == [
        "BHXH tự nguyện đóng bao nhiêu?", "Đăng ký ở đâu?"]
