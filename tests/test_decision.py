"""The engine's decision on messages of the kinds issue 16 names: small talk, numbers, letters, two questions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.engine import ANSWERED, CLARIFY, ESCALATED, HANDOFF, SMALLTALK, Engine, Turn, calculator_ready
from app.knowledge import load_directory
from app.letters import question_parts
from app.semantic import load_encoder

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def engine():
    kb, errors = load_directory(ROOT / "knowledge_base")
    assert not errors
    return Engine(kb, encoder=load_encoder("auto"))


def test_greetings_with_the_time_of_day_are_greetings_not_goodbyes(engine):
    for text in ("chào buổi tối ad", "chào ad ạ", "Chào buổi sáng"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, "greeting"), text
    assert engine.answer("tạm biệt ad nhé", Turn(), day=DAY).reason == "bye"


def test_what_a_calculator_needs():
    assert calculator_ready("bhyt_household", "mua bhyt cho ca nha 5 nguoi het bao nhieu")
    assert not calculator_ready("bhyt_household", "mua bhyt cho ca nha het bao nhieu")
    assert calculator_ready("vtn", "thu nhap 5 trieu dong bhxh tu nguyen bao nhieu")
    assert calculator_ready("lump_sum", "dong 10 nam luong binh quan 6 trieu rut 1 lan duoc bao nhieu")
    assert not calculator_ready("lump_sum", "em 35 tuoi, dong bhxh 8 nam, nghi viec roi co nen rut 1 lan ko")
    assert not calculator_ready(None, "5 nguoi")


def test_the_household_amount_for_the_members_named(engine):
    reply = engine.answer("mua bhyt cho ca nha 5 nguoi het bao nhieu", Turn(), day=DAY)
    assert reply.outcome == ANSWERED and reply.entry_id in ("hgd-muc-dong", "hgd-giam-tru")
    assert "Người thứ 5:" in reply.body and "Tổng cộng: 4.371.840 đồng/năm" in reply.body


def test_small_talk_beyond_the_word_lists_and_spam_to_staff(engine):
    for text in ("cảm ơn ad nhìu", "chúc các anh chị làm việc vui vẻ 🌸"):
        assert engine.answer(text, Turn(), day=DAY).outcome == SMALLTALK, text
    spam = engine.answer("tuyển cộng tác viên online lương 500k/ngày, inbox ngay", Turn(), day=DAY)
    assert spam.outcome == "escalated"


def test_a_question_nearest_a_greeting_is_not_small_talk_when_it_asks_more(engine):
    """A long question that no entry fits (a recipe asked of "các bác") is not small talk for being nearer a greeting
    than anything else, nor is a question an entry may answer (another province's office hours): staff read both."""
    for text in ("cách muối cà pháo cho giòn mà không bị khú thì làm thế nào hả các bác",
                 "mẹo làm dưa chua cho khỏi bị nhớt thế nào các bác ơi chỉ em với",
                 "các bác ơi chỉ em cách làm mắm tép cho thơm mà không bị mặn quá với"):
        assert engine.answer(text, Turn(), day=DAY).outcome == ESCALATED, text
    reply = engine.answer("bhxh tỉnh bắc ninh chủ nhật có làm việc không", Turn(), day=DAY)
    assert reply.outcome == ESCALATED and reply.reason == "Hỏi cơ quan BHXH của tỉnh, thành phố khác"
    # a short greeting that asks whether someone is there stays small talk
    assert engine.answer("chào buổi sáng ad, có ai ở đó không ạ", Turn(), day=DAY).outcome == SMALLTALK


def test_two_questions_answer_the_first_and_offer_the_second_first(engine):
    reply = engine.answer("BHYT hộ gia đình mua ở đâu? Thẻ mua xong bao lâu thì dùng được?", Turn(), day=DAY)
    assert reply.outcome == ANSWERED and reply.entry_id == "hgd-mua-o-dau"
    assert reply.choices[0].entry_id == "hgd-gia-tri-the"


def test_two_questions_answer_the_first_even_when_the_second_has_the_figures(engine):
    """The second question's figures make its calculation ready; the first question, asked before it, is still the
    main one: it is answered and the other offered first."""
    reply = engine.answer("người đóng bhxh tự nguyện chết thì gia đình được hưởng gì. còn nhà em 5 người mua bhyt hộ "
                          "gia đình thì hết bao nhiêu", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-tu-tuat")
    assert reply.choices[0].entry_id in ("hgd-giam-tru", "hgd-muc-dong")
    reply = engine.answer("thẻ bhyt học sinh hết hạn tháng mấy vậy ad. mà năm nay học sinh đóng bao nhiêu", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "hssv-thoi-han", "hssv-muc-dong")


def test_the_question_the_writer_marks_as_main_is_answered_and_the_other_offered(engine):
    """"nhưng chủ yếu là em muốn biết ...", "Cái chính là ...": the marked question is answered although it comes
    second, and the first is offered first among the choices."""
    reply = engine.answer("cho em hỏi thẻ bhyt hộ gia đình mua ở đâu, nhưng chủ yếu là em muốn biết thẻ mua xong bao "
                          "lâu thì dùng được", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "hgd-gia-tri-the", "hgd-mua-o-dau")
    reply = engine.answer("em muốn hỏi tổng đài bhxh số mấy. Cái chính là em muốn biết tra cứu quá trình đóng bhxh ở "
                          "đâu ạ", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "chung-tra-cuu", "chung-lien-he")


def test_a_second_question_after_a_comma_is_offered_not_answered(engine):
    """", với lại ... số mấy" and ", sẵn cho em hỏi ..." add a second question in the same sentence: the first is
    answered and the second offered first (before "số mấy" and "bằng gì" asked, the second one was answered)."""
    reply = engine.answer("tra cứu thẻ bhyt còn hạn không ở đâu, với lại tổng đài bhxh là số mấy", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "chung-tra-cuu", "chung-lien-he")
    reply = engine.answer("mất thẻ bhyt thì đi khám bằng gì, sẵn cho em hỏi thẻ hộ gia đình được trả mấy phần trăm",
                          Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "chung-the-bhyt", "hgd-muc-huong")
    reply = engine.answer("thẻ bhyt học sinh hết hạn khi nào vậy, mà quên mật khẩu vssid thì lấy lại kiểu gì ạ",
                          Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "hssv-thoi-han", "chung-vssid")


def test_a_second_question_less_sure_alone_is_still_offered_first(engine):
    """A second question whose part alone scores under the clarify level but enough to be offered (`offer_floor`) is
    offered first, unless the entry already offered first is among that part's own best."""
    reply = engine.answer("rút bhxh một lần có thiệt gì không ạ, mà nộp hồ sơ ở đâu luôn", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "bhxh1l-rui-ro", "bhxh1l-thu-tuc")
    # "nếu bắt buộc thì ..." alone is nearest to the comparison of the two schemes, unsure; the amount, offered first
    # from the whole message, is among its own best and stays first
    reply = engine.answer("sv co bat buoc mua bhyt khong vay? neu bat buoc thi nam nay dong bao nhieu tien", Turn(),
                          day=DAY)
    assert (reply.outcome, reply.entry_id, reply.choices[0].entry_id) == (ANSWERED, "hssv-bat-buoc", "hssv-muc-dong")


def test_a_second_question_asking_a_difference_a_number_or_what_to_bring_is_read_as_one(engine):
    """"với lại nó khác gì bhxh ở công ty", "còn số tổng đài bhxh là số nào", "mà thẻ bị mất thì đi khám mang gì" are
    questions: the first question is answered and the second offered first (before, the number's question was answered
    and a question about the years to a pension got the survivors' entry, read from "mất")."""
    for text, main, second in (
            ("tham gia bhxh tự nguyện có lợi gì ạ? với lại nó khác gì bhxh ở công ty", "vtn-quyen-loi",
             "chung-bat-buoc-vs-tu-nguyen"),
            ("đóng bhxh tự nguyện được hưởng những gì, còn số tổng đài bhxh là số nào ạ", "vtn-quyen-loi",
             "chung-lien-he"),
            ("đóng bhxh tự nguyện bao nhiêu năm thì có lương hưu, mà thẻ bị mất thì đi khám mang gì",
             "vtn-dieu-kien-huu", "chung-the-bhyt")):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, main), (text, reply.outcome, reply.entry_id)
        assert reply.choices[0].entry_id == second, (text, [c.entry_id for c in reply.choices])


def test_only_a_calculation_won_by_a_later_question_gives_way_to_the_first(engine):
    """The first question takes over only from a later question whose figures made its calculation the answer; an
    answer the whole message chose on its words stands (the first clause alone can be misread)."""
    from app.engine import Reply
    from app.letters import asked_clauses, reading
    from app.retrieval import Candidate

    text = "thẻ bhyt học sinh hết hạn tháng mấy vậy ad. mà năm nay nhà có 2 đứa học sinh thì đóng bao nhiêu"
    clauses = asked_clauses(reading(text)[1])
    assert len(clauses) == 2 and engine._clause_entry(clauses[0]) == "hssv-thoi-han"
    cands = [Candidate("hssv-muc-dong", 0.78), Candidate("hssv-thoi-han", 0.64), Candidate("hssv-ho-tro", 0.60)]
    by_words = Reply(ANSWERED, "", entry_id="hssv-muc-dong")
    assert engine._main_question(text, cands, clauses, by_words, DAY) is None
    by_figures = Reply(ANSWERED, "", entry_id="hssv-muc-dong", reason="calculation")
    assert engine._main_question(text, cands, clauses, by_figures, DAY).entry_id == "hssv-thoi-han"


def test_figures_beside_the_pension_get_the_comparison_not_the_lump_sum_alone(engine):
    """The lump sum and its comparison with a pension read the same figures: a message naming the pension asks for the
    comparison (which shows the lump sum too), whichever of the two ranks first; one that does not gets the amount."""
    from app.retrieval import Candidate

    lump_first = [Candidate("bhxh1l-muc-huong", 0.66), Candidate("bhxh1l-so-sanh", 0.63), Candidate("vtn-tinh-tien", 0.43)]
    both = "tính ra tiền thì rút một lần với lĩnh lương hưu chênh nhau bao nhiêu, em đóng 12 năm lương 6 triệu"
    assert engine._calculation(both, lump_first).label == "bhxh1l-so-sanh"
    assert engine._calculation("rút một lần được bao nhiêu, em đóng 12 năm lương 6 triệu", lump_first).label == \
        "bhxh1l-muc-huong"
    reply = engine.answer(both, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-so-sanh")


def test_a_childbirth_beside_support_gets_the_maternity_allowance_not_the_contribution_support(engine):
    """A sibling cue (intents.yaml sibling_cues): a voluntary member who asks how much "hỗ trợ" comes with a birth asks
    for the childbirth allowance; without a birth word, or when the maternity entry is not close, the best entry stays."""
    from app.retrieval import Candidate

    support_first = [Candidate("vtn-ho-tro", 0.67), Candidate("vtn-thai-san", 0.60), Candidate("hssv-ho-tro", 0.45)]
    assert engine._cued_sibling("vo em dong tu nguyen, thang 12 nay sinh thi duoc ho tro bao nhieu",
                                support_first).label == "vtn-thai-san"
    assert engine._cued_sibling("Đóng tự nguyện mà ĐẺ CON thì có được cho tiền không", support_first).label == \
        "vtn-thai-san"
    assert engine._cued_sibling("đóng tự nguyện được nhà nước hỗ trợ bao nhiêu", support_first) is None
    # far behind: second or third still, in a short message asking one thing; not fourth, nor in a letter
    far = [Candidate("vtn-ho-tro", 0.80), Candidate("vtn-thai-san", 0.60)]
    assert engine._cued_sibling("vợ em sắp sinh, đóng tự nguyện được hỗ trợ bao nhiêu", far).label == "vtn-thai-san"
    third = [Candidate("vtn-ho-tro", 0.80), Candidate("vtn-muc-dong", 0.65), Candidate("vtn-thai-san", 0.60)]
    assert engine._cued_sibling("vợ em sắp sinh, đóng tự nguyện được hỗ trợ bao nhiêu", third).label == "vtn-thai-san"
    fourth = [Candidate("vtn-ho-tro", 0.80), Candidate("vtn-muc-dong", 0.65), Candidate("vtn-phuong-thuc", 0.62),
              Candidate("vtn-thai-san", 0.60)]
    assert engine._cued_sibling("vợ em sắp sinh, đóng tự nguyện được hỗ trợ bao nhiêu", fourth) is None
    letter = ("Kính gửi cơ quan BHXH. Tôi năm nay 31 tuổi, làm nghề may tại nhà, vợ tôi sắp sinh vào tháng sau nên "
              "tôi muốn tham gia BHXH tự nguyện cho cả hai vợ chồng. Xin hỏi nhà nước hỗ trợ bao nhiêu phần trăm?")
    assert engine._cued_sibling(letter, far) is None
    # only over the entries the cue names: a birth word does not move the household card's support
    other = [Candidate("hgd-ho-tro-can-ngheo", 0.67), Candidate("vtn-thai-san", 0.62)]
    assert engine._cued_sibling("nhà em cận nghèo, vợ sắp sinh, hỗ trợ bao nhiêu", other) is None
    # the maternity entry first but close to the support: the cue settles it too
    maternity_first = [Candidate("vtn-thai-san", 0.63), Candidate("vtn-ho-tro", 0.60)]
    assert engine._cued_sibling("dong tu nguyen ma sinh con thi duoc ho tro may trieu", maternity_first).label == \
        "vtn-thai-san"
    assert engine._cued_sibling("dong tu nguyen thi duoc ho tro may phan tram", maternity_first) is None
    reply = engine.answer("chi dong tu nguyen 2 nam, sap sinh em be thi dc ho tro bao nhieu", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-thai-san")
    # "đẻ" alone is a cue only with its marks: without them it is "để" (so that)
    assert engine._cued_sibling("tháng sau bả đẻ thì được nhà nước cho nhiêu tiền", support_first).label == \
        "vtn-thai-san"
    assert engine._cued_sibling("THÁNG SAU BẢ ĐẺ THÌ ĐƯỢC CHO NHIÊU", support_first).label == "vtn-thai-san"
    assert engine._cued_sibling("thang sau ba de thi duoc nha nuoc cho nhieu tien", support_first) is None
    assert engine._cued_sibling("đóng tự nguyện để được nhà nước hỗ trợ thì cần gì", support_first) is None


def test_a_listed_disease_or_emigration_gets_the_cases_that_withdraw_at_once(engine):
    """A sibling cue: "bị ung thư", "định cư" beside whether one may withdraw asks for the cases the law lets withdraw
    at once (bhxh1l-dinh-cu-benh-nang), not for the general conditions; without such a word the best entry stays."""
    from app.retrieval import Candidate

    general_first = [Candidate("bhxh1l-dieu-kien", 0.66), Candidate("bhxh1l-dinh-cu-benh-nang", 0.62)]
    assert engine._cued_sibling("chong toi dong bhxh 21 nam, nay bi ung thu gan, rut 1 lan duoc khong",
                                general_first).label == "bhxh1l-dinh-cu-benh-nang"
    assert engine._cued_sibling("Em trai em sang Đài Loan định cư luôn thì có rút được không", general_first).label == \
        "bhxh1l-dinh-cu-benh-nang"
    assert engine._cued_sibling("đóng 8 năm nghỉ việc rồi rút 1 lần được không", general_first) is None
    # "lao" alone is not "lao nặng" (tuberculosis): a worker ("lao động") asks the general question
    assert engine._cued_sibling("người lao động nghỉ việc rút 1 lần được không", general_first) is None
    for text in ("Chồng tôi đã đóng bảo hiểm xã hội được 21 năm, nay bị ung thư gan. Tôi muốn rút bảo hiểm 1 lần có "
                 "được không?",
                 "Em trai em đóng bhxh 6 năm ở KCN Bình Xuyên, giờ sang Đài Loan lấy vợ rồi định cư bên đó luôn thì có "
                 "rút được không ạ"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-dinh-cu-benh-nang"), text


def test_paying_online_gets_the_entry_on_paying_online_and_buying_online_where_to_buy(engine):
    """A sibling cue that needs a second word: "online", "qua mạng", "vssid" beside a word of paying ("đóng", "nộp")
    asks how to pay online (chung-dong-online), not where to buy a household card; "mua … online" asks where to buy."""
    from app.retrieval import Candidate

    where_first = [Candidate("hgd-mua-o-dau", 0.80), Candidate("chung-dong-online", 0.75)]
    assert engine._cued_sibling("nộp tiền bhyt cả nhà qua vssid được k", where_first).label == "chung-dong-online"
    assert engine._cued_sibling("mua bhyt hộ gia đình online được không", where_first) is None
    assert engine._cued_sibling("đóng bhyt hộ gia đình ở đâu", where_first) is None
    reply = engine.answer("đóng bhyt hộ gia đình qua mạng được không", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-dong-online")
    reply = engine.answer("mua bhyt hộ gia đình online được không", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hgd-mua-o-dau")
    # ... and not registering for voluntary insurance, unless the message registers (07/12/2026, sixth session, from
    # `final69`, where "ĐÓNG … TRÊN VSSID" got the registration)
    register_first = [Candidate("vtn-dang-ky", 0.76), Candidate("chung-dong-online", 0.74)]
    assert engine._cued_sibling("DONG BHXH TU NGUYEN TREN VSSID DUOC KHONG AD", register_first).label == (
        "chung-dong-online")
    assert engine._cued_sibling("đk đóng tự nguyện trên app VssID đc ko hay phải lên bưu điện làm",
                                register_first) is None
    reply = engine.answer("DONG BHXH TU NGUYEN TREN VSSID DUOC KHONG AD", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-dong-online")
    reply = engine.answer("đk đóng tự nguyện trên app VssID đc ko hay phải lên bưu điện làm", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-dang-ky")


def test_what_a_member_receives_gets_the_pension_and_the_second_member_the_reductions(engine):
    """"lĩnh được bao nhiêu" beside a chosen income asks for the pension, not the contribution; in a short message the
    cue reaches the runner-up however far behind (the income pulls the scores to the contribution), in a letter only a
    close one (a letter tells circumstances that name other cases). "người thứ 2", "mua chung" ask for the reductions."""
    from app.retrieval import Candidate

    contribution_first = [Candidate("vtn-tinh-tien", 0.69), Candidate("vtn-muc-huong-huu", 0.55)]
    short = "thế đóng đủ 15 năm mức 2 triệu thì mỗi tháng lĩnh được bao nhiêu"
    assert engine._cued_sibling(short, contribution_first).label == "vtn-muc-huong-huu"
    assert engine._cued_sibling("chọn mức 2 triệu thì mỗi tháng đóng bao nhiêu", contribution_first) is None
    letter = ("Tôi 45 tuổi, bán hàng ở chợ huyện, chồng tôi làm thợ hồ. Tôi định chọn mức thu nhập 2 triệu đồng và đóng "
              "đủ 15 năm rồi sau này lĩnh được bao nhiêu thì tùy. Xin hỏi mỗi tháng tôi phải đóng bao nhiêu?")
    assert engine._cued_sibling(letter, contribution_first) is None
    reply = engine.answer(short, Turn(), day=DAY)  # the pension's calculator then asks whether the member is a man
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-muc-huong-huu")
    one_card_first = [Candidate("hgd-muc-dong", 0.70), Candidate("hgd-giam-tru", 0.64)]
    assert engine._cued_sibling("còn người thứ 2 thì sao ạ", one_card_first).label == "hgd-giam-tru"
    assert engine._cued_sibling("còn ba má tui mua chung thì mỗi người nhiêu", one_card_first).label == "hgd-giam-tru"
    assert engine._cued_sibling("bhyt hộ gia đình một người bao nhiêu", one_card_first) is None


# the sibling cues of 06/12/2026 (intents.yaml): each message got a choice between the two entries, or the sibling's
# answer, before its cue; the sibling's own question keeps the sibling
SIBLING_CUE_CASES = [
    # five years of cards in a row, not the benefit levels in general
    ("the bhyt ho gia dinh cua me em mua 5 nam lien roi thi di kham duoc huong bao nhieu phan tram", "hgd-5-nam"),
    ("thẻ bhyt hộ gia đình mua liền 5 năm rồi thì đi khám có được trả nhiều hơn không", "hgd-5-nam"),
    ("bhyt hộ gia đình đi khám được chi trả bao nhiêu phần trăm", "hgd-muc-huong"),
    # withdrawing: the lump sum's procedure, not registering for voluntary insurance
    ("em muốn làm hồ sơ nhận tiền bhxh 1 lần ở nơi tạm trú chứ không phải nơi đăng ký hộ khẩu thì cần giấy tờ gì",
     "bhxh1l-thu-tuc"),
    ("đăng ký bhxh tự nguyện ở đâu ạ", "vtn-dang-ky"),
    # which household one is counted in: who joins, not where to buy
    ("em ở trọ ở Hà Nội, hộ khẩu ở Thái Bình, mua bhyt hộ gia đình thì tính theo hộ nào ạ", "hgd-doi-tuong"),
    ("mua bhyt hộ gia đình ở đâu ạ", "hgd-mua-o-dau"),
    # a pupil with a card of another kind: that entry, not the amount; where to buy asked beside it stays
    ("Con trai tôi học lớp 9, gia đình tôi ở xã đặc biệt khó khăn nên cháu được nhà nước cấp thẻ BHYT. Nay nhà trường "
     "lại thu tiền BHYT học sinh, tôi có phải đóng không?", "hssv-da-co-the"),
    ("con đã có thẻ hộ nghèo rồi thì mua bhyt học sinh ở đâu", "hssv-mua-o-dau"),
]


@pytest.mark.parametrize(("text", "entry_id"), SIBLING_CUE_CASES, ids=[f"{i}-{e}" for i, (_, e) in enumerate(SIBLING_CUE_CASES)])
def test_a_sibling_cue_answers_with_its_entry_and_the_siblings_question_keeps_the_sibling(engine, text, entry_id):
    reply = engine.answer(text, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, entry_id), (reply.outcome, reply.entry_id, reply.choices)


def test_how_often_one_pays_and_a_pupil_buying_get_their_entries_over_where_a_household_buys(engine):
    """Two sibling cues over where a household buys its card (intents.yaml): how often one pays ("đóng 6 tháng 1 lần")
    is voluntary insurance's ways of paying, unless the message names a household's card; a pupil or a student buying
    is where pupils buy (before 06/12/2026 each was a choice between the two)."""
    from app.retrieval import Candidate

    reply = engine.answer("đóng 6 tháng 1 lần được ko ạ", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-phuong-thuc"), (reply.outcome, reply.choices)
    reply = engine.answer("mua bhyt hộ gia đình có đóng 6 tháng 1 lần được không", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hgd-mua-o-dau")
    household_first = [Candidate("hgd-mua-o-dau", 0.60), Candidate("hssv-mua-o-dau", 0.58)]
    assert engine._cued_sibling("con em học lớp 3, cô giáo bảo phụ huynh tự đi mua, mua ở đâu ạ",
                                household_first).label == "hssv-mua-o-dau"
    assert engine._cued_sibling("bố mẹ em ở quê mua bảo hiểm ở đâu ạ", household_first) is None


def test_a_lost_or_left_card_gets_the_card_entry_but_a_refund_goes_to_staff(engine):
    """The sibling cue of the card itself (intents.yaml): a lost card and a visit to the doctor ask about the card, not
    what it pays or when it is valid (before 06/12/2026 a choice); money paid without the card and wanted back is a
    refund, which the cue leaves alone (staff)."""
    reply = engine.answer("thẻ bhyt của mẹ em mất rồi, mai đi khám thì làm sao ạ", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-the-bhyt"), (reply.outcome, reply.choices)
    reply = engine.answer("đi khám quên mang thẻ phải tự trả tiền, giờ có lấy lại tiền được không", Turn(), day=DAY)
    assert reply.outcome != ANSWERED, reply.entry_id
    # the second card cue takes in the first one's words by their YAML alias (`[*lost_card, …]`), flattened in place
    first, second = [c.phrases for c in engine.kb.parsed_intents.sibling_cues if c.entry == "chung-the-bhyt"]
    assert second[:len(first)] == first and "đánh rơi" in first and "thẻ giấy" in second
    assert all(isinstance(p, str) for p in second)


def test_a_death_gets_the_survivors_benefits_and_a_pupil_the_student_support(engine):
    """Two more sibling cues: a member's death beside what a member gets asks for the survivors' benefits; a pupil or a
    student of a near-poor household asks for the student card's support, not the household card's."""
    from app.retrieval import Candidate

    benefits_first = [Candidate("vtn-quyen-loi", 0.64), Candidate("vtn-tu-tuat", 0.61)]
    assert engine._cued_sibling("chồng em đóng tự nguyện 6 năm thì không may mất ngoài biển, gia đình được hưởng gì",
                                benefits_first).label == "vtn-tu-tuat"
    assert engine._cued_sibling("bố em đóng tự nguyện rồi qua đời, nhà được gì", benefits_first).label == "vtn-tu-tuat"
    # "mất" alone also means to lose or to take: "mất bao nhiêu tiền" is no death
    assert engine._cued_sibling("đóng tự nguyện mất bao nhiêu tiền mà được hưởng những gì", benefits_first) is None
    household_first = [Candidate("hgd-ho-tro-can-ngheo", 0.62), Candidate("hssv-ho-tro", 0.60)]
    assert engine._cued_sibling("con em đang học cao đẳng, nhà cận nghèo thì được đỡ bao nhiêu phần",
                                household_first).label == "hssv-ho-tro"
    assert engine._cued_sibling("nhà em cận nghèo mua bhyt được hỗ trợ bao nhiêu phần trăm", household_first) is None
    reply = engine.answer("con em đang học cao đẳng, nhà cận nghèo thì được đỡ tiền bảo hiểm y tế bao nhiêu phần vậy",
                          Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hssv-ho-tro")
    # someone who never paid: the social pension, not the allowance of those who paid too few years
    allowance_first = [Candidate("bhxh1l-tro-cap-thang", 0.62), Candidate("vtn-hu-tri-xa-hoi", 0.58)]
    assert engine._cued_sibling("ông 76 tuổi, cả đời làm rẫy, không có lương hưu, có được trợ cấp hằng tháng không",
                                allowance_first).label == "vtn-hu-tri-xa-hoi"
    assert engine._cued_sibling("mẹ đóng 10 năm rồi nghỉ, đủ tuổi có được trợ cấp hằng tháng không",
                                allowance_first) is None
    # ... and not the state's support for a contribution, when they ask what the state gives them
    support_first = [Candidate("vtn-ho-tro", 0.55), Candidate("vtn-hu-tri-xa-hoi", 0.50)]
    assert engine._cued_sibling("bà cụ nhà bên 81 tuổi không có lương hưu, nhà nước cho mỗi tháng bao nhiêu",
                                support_first).label == "vtn-hu-tri-xa-hoi"
    assert engine._cued_sibling("em 35 tuổi không có lương hưu gì, đóng tự nguyện thì nhà nước hỗ trợ mấy %",
                                support_first) is None
    # a near-poor household asking the support for voluntary social insurance: the contribution support, not the
    # household health card's; unless it asks about a health card too (`unless`)
    card_first = [Candidate("hgd-ho-tro-can-ngheo", 0.66), Candidate("vtn-ho-tro", 0.64)]
    assert engine._cued_sibling("nhà tui cận nghèo, tham gia bảo hiểm xã hội tự nguyện thì nhà nước bớt mấy phần trăm",
                                card_first).label == "vtn-ho-tro"
    assert engine._cued_sibling("nhà em cận nghèo, em có đóng bhxh tự nguyện rồi, giờ mua thẻ bhyt cho cả nhà được hỗ "
                                "trợ mấy phần trăm", card_first) is None
    reply = engine.answer("Gia đình tôi là hộ cận nghèo ở xã. Nếu tôi đóng BHXH tự nguyện thì mức hỗ trợ của nhà nước "
                          "cho hộ cận nghèo là bao nhiêu phần trăm ạ?", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-ho-tro")
    # the lump sum set against the pension it gives up: the comparison, not the amount alone; "so với" alone is no cue
    amount_first = [Candidate("bhxh1l-muc-huong", 0.70), Candidate("bhxh1l-so-sanh", 0.66)]
    assert engine._cued_sibling("em 9 năm lương 7 triệu, rút 1 lần với đợi lĩnh hưu thì chênh lệch bao nhiêu",
                                amount_first).label == "bhxh1l-so-sanh"
    assert engine._cued_sibling("đóng 8 năm rút 1 lần được bao nhiêu so với tiền đã đóng", amount_first) is None
    # the case told in the earlier message holds in a follow-up read with it
    reply = _after(engine, "ba em 62 tuổi rồi mà chưa đóng bhxh ngày nào",
                   "vậy ba em có được nhận tiền trợ cấp hàng tháng gì không, nghe nói 70 hay 75 tuổi gì đó")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-hu-tri-xa-hoi")
    # ... also when the follow-up names its own subject and is searched without the earlier message, if that one only
    # told circumstances: they are the person's (before 05/12/2026 a clarifying question and the general conditions)
    told = "ông nội tui 80 tuổi rồi, không có lương hưu"
    reply = engine.answer("vậy ổng có được lãnh tiền gì hàng tháng không",
                          engine.answer(told, Turn(), day=DAY).next_turn(told), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-hu-tri-xa-hoi")
    # ... also when the follow-up asks two things of that case ("có được không, bao nhiêu tiền"): the cue in the earlier
    # message, which only told circumstances, reaches the runner-up (before 06/12/2026 the general monthly allowance of
    # people short of years, a wrong answer); someone who paid years still gets that allowance
    for told, text in (("bo toi 80 tuoi, chua dong bhxh ngay nao",
                        "the bo toi co duoc nhan tro cap hang thang ko, bao nhieu tien"),
                       ("ông ngoại em 79 tuổi rồi, chưa tham gia bảo hiểm gì",
                        "ông em có được lãnh trợ cấp hàng tháng không, nhiêu tiền vậy ad")):
        reply = engine.answer(text, engine.answer(told, Turn(), day=DAY).next_turn(told), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-hu-tri-xa-hoi"), (text, reply.outcome, reply.entry_id)
    told = "bố tôi 62 tuổi, đóng bhxh 12 năm ở công ty rồi nghỉ"
    reply = engine.answer("thế bố tôi có được nhận trợ cấp hằng tháng không, bao nhiêu tiền",
                          engine.answer(told, Turn(), day=DAY).next_turn(told), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-tro-cap-thang")
    told = "anh trai em bị ung thư phổi, đang đóng bhxh được 9 năm"
    reply = engine.answer("vậy anh ấy có rút một lần được không",
                          engine.answer(told, Turn(), day=DAY).next_turn(told), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-dinh-cu-benh-nang")
    # a short follow-up asking one thing is short whatever the length of the earlier message read with it: its cue
    # names the runner-up however far, as the same message alone would
    reply = _after(engine, "Chồng em năm nay 40 tuổi làm nghề đi biển, không làm cho công ty nào, em tính đăng ký cho "
                           "anh ấy đóng bảo hiểm xã hội tự nguyện, đóng thì được hưởng những quyền lợi gì vậy ạ",
                   "mà lỡ ảnh mất sớm thì mẹ con em được gì không")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-tu-tuat")
    # a lost or damaged card after how to look a card up: getting it again, not the lookup
    reply = _after(engine, "tra cứu thẻ bhyt còn hạn ở đâu ạ", "thẻ vẫn còn hạn mà con em đánh rơi mất rồi, giờ xin lại sao ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-the-bhyt")
    reply = _after(engine, "tra cứu thẻ bhyt còn hạn ở đâu ạ", "vậy muốn tra xem thẻ của con em còn hạn không thì vào đâu ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-tra-cuu")


def test_the_first_question_that_alone_would_be_answered_takes_over_from_a_later_ones_figures(engine):
    """The second question's figures made its calculation the answer and pulled the whole message's scores away from
    the first question's entry (under the clarify level): the first question, which alone would be answered with its
    entry, is still the main one."""
    from app.engine import Reply
    from app.letters import asked_clauses, reading
    from app.retrieval import Candidate

    text = ("Tham gia bhyt hộ gia đình 5 năm liên tục thì được quyền lợi gì thêm? Mà nhà tôi 4 người thì người thứ "
            "hai được giảm bao nhiêu")
    clauses = asked_clauses(reading(text)[1])
    assert [engine._clause_entry(c) for c in clauses] == ["hgd-5-nam", "hgd-giam-tru"]
    by_figures = Reply(ANSWERED, "", entry_id="hgd-giam-tru", reason="calculation")
    pulled = [Candidate("hgd-giam-tru", 0.55), Candidate("hgd-5-nam", 0.48), Candidate("hgd-mua-o-dau", 0.40)]
    assert engine._main_question(text, pulled, clauses, by_figures, DAY).entry_id == "hgd-5-nam"
    gone = [Candidate("hgd-giam-tru", 0.55), Candidate("hgd-muc-dong", 0.50), Candidate("hgd-mua-o-dau", 0.40)]
    assert engine._main_question(text, gone, clauses, by_figures, DAY) is None  # not among the message's three best


def test_a_letter_asking_for_a_compulsory_benefit_goes_to_staff_with_the_reason(engine):
    letter = ("Tôi làm kế toán cho một công ty thương mại, đóng BHXH bắt buộc được 5 năm. Tháng trước tôi bị sốt "
              "xuất huyết phải nằm viện 8 ngày. Xin hỏi tôi được hưởng chế độ ốm đau như thế nào, mức hưởng ra sao?")
    reply = engine.answer(letter, Turn(), day=DAY)
    assert reply.outcome == "escalated"
    assert reply.reason == engine.out_of_scope["@oos-om-dau-bat-buoc"]


def test_a_survivor_allowance_of_a_person_with_merit_goes_to_staff_with_the_reason(engine):
    """A martyr's, war invalid's or resistance participant's survivor allowance is merit policy, not voluntary
    insurance's survivor benefit (vtn-tu-tuat, which such letters used to get)."""
    from app.letters import MERIT, SCHEME_REASONS

    for text in ("Ông nội tôi là thương binh hạng 2/4, đã mất năm 2019. Bà nội tôi năm nay 80 tuổi, không có lương "
                 "hưu. Xin hỏi bà tôi có được nhận tiền tuất hằng tháng không?",
                 "bố em là liệt sĩ, mẹ em giờ già yếu thì có được lĩnh tuất hàng tháng ko ạ"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (ESCALATED, SCHEME_REASONS[MERIT]), text
    # a voluntary participant's survivors are in scope, whatever else the deceased was
    reply = engine.answer("bố em đóng bhxh tự nguyện 10 năm, là thương binh, mất rồi thì mẹ em có được tiền tuất ko",
                          Turn(), day=DAY)
    assert reply.reason != SCHEME_REASONS[MERIT]


def test_a_letter_introduced_by_xin_hoi_is_read_by_its_question(engine):
    letter = ("Xin hỏi quý cơ quan, gia đình tôi vừa mua thẻ BHYT hộ gia đình lần đầu cho ba người, "
              "vậy thẻ mua xong bao lâu thì mới dùng được để đi khám?")
    reply = engine.answer(letter, Turn(), day=DAY)
    # searched by "Xin hỏi quý cơ quan" alone (the introduction taken for the first question) it was escalated
    assert reply.outcome != "escalated" and reply.candidates[0] == "hgd-gia-tri-the"


def test_a_letter_needs_a_clear_lead_to_be_answered(engine):
    """A long message answers only when its best entry's score and lead over the next together clear the letters'
    line (`long_line`): on real letters the wrong answers were close siblings led by 0.11-0.17. The same lead
    answers a short message; a letter whose best entry scores higher needs less lead."""
    from app.retrieval import Candidate

    letter = ("Bố tôi năm nay đã đủ tuổi nghỉ hưu theo quy định, có 13 năm đóng BHXH bắt buộc ở hợp tác xã, "
              "nay gia đình muốn biết ông nên đóng tiếp cho đủ năm hay nhận một lần thì có lợi hơn?")
    assert len(letter.split()) >= engine.thresholds.long_words
    # (a runner-up the letter's words do not tell apart: "cho đủ" is the sibling cue of paying the missing years over
    # the monthly allowance, which would settle that pair whatever the lead)
    cands = [Candidate("vtn-dong-con-thieu", 0.62), Candidate("vtn-dieu-kien-huu", 0.48),
             Candidate("bhxh1l-tro-cap-thang", 0.40)]
    reply = engine._decide(letter, engine.normalizer.key(letter), [Candidate(c.label, c.score) for c in cands], DAY)
    assert reply.outcome == "clarify"
    assert [c.entry_id for c in reply.choices][:2] == ["vtn-dong-con-thieu", "vtn-dieu-kien-huu"]
    short = "đủ tuổi hưu mà thiếu năm đóng thì sao"
    reply = engine._decide(short, engine.normalizer.key(short), [Candidate(c.label, c.score) for c in cands], DAY)
    assert reply.outcome == ANSWERED and reply.entry_id == "vtn-dong-con-thieu"
    t = engine.thresholds
    words = len(letter.split())
    assert not t.answers(words, 0.62, 0.14) and t.answers(words, 0.75, 0.14) and t.answers(words, 0.55, 0.25)
    assert not t.answers(words, 0.49, 0.40)  # under the letters' answer level, whatever the lead
    high = [Candidate("vtn-dong-con-thieu", 0.75), Candidate("vtn-dieu-kien-huu", 0.61)]
    reply = engine._decide(letter, engine.normalizer.key(letter), high, DAY)
    assert reply.outcome == ANSWERED and reply.entry_id == "vtn-dong-con-thieu"


def test_small_talk_and_requests_for_a_person_beyond_the_training_messages(engine):
    """Messages of the kinds the learned classes must generalise to, none of them a training line."""
    for text in ("chào buổi sáng chị Thu ạ", "cảm ơng ad", "😀", ":))))", "chúc các anh chị cuối năm nhiều sức khỏe",
                 "alo alo ad", "em hiểu rồi ạ, để em về nói với mẹ em", "hay quá ta", "hello bhxh tỉnh"):
        assert engine.answer(text, Turn(), day=DAY).outcome == SMALLTALK, text
    for text in ("ad ơi có ai không ạ", "cho gặp nhân viên thật", "gọi lại giúp tôi với, số tôi đây",
                 "chờ cả buổi không thấy ai trả lời", "máy trả lời không đúng ý tôi, cho gặp người"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text


def test_requests_for_a_person_in_english_or_for_customer_care_go_to_staff(engine):
    """Some people ask in English, or to be put through to customer care; asking customer care's number is a
    question for the contacts entry, not a request to be put through."""
    for text in ("talk to a real person please", "Can I speak to someone from the office?", "human agent pls",
                 "Dạ chuyển giúp em sang bộ phận chăm sóc khách hàng với ạ", "cho e gap nhan vien cskh"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text
    reply = engine.answer("tổng đài chăm sóc khách hàng của bhxh số mấy vậy", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-lien-he")


def test_asking_to_talk_with_or_ask_a_person_or_to_pass_a_case_to_staff_goes_to_staff(engine):
    """Requests for a person beyond the listed phrases, in a short message: talking with someone ("cô chú", which
    the learned classes took for a greeting), passing one's case to staff, wanting to ask a person, giving up on the
    machine. What was done
    ("đã nói chuyện với…"), a letter, and wanting to ask staff about a subject are not requests."""
    for text in ("cho con nói chuyện với các cô chú bên bảo hiểm ạ", "nhờ ad chuyển giúp sang cán bộ phụ trách xem hồ sơ",
                 "bà muốn hỏi cán bộ", "ad là người hay máy thế, tôi cần hỏi người thật",
                 # giving up on the machine, asking someone to pick up, asking whether any of the staff is a person
                 "mệt với cái máy trả lời này ghê", "thôi ko nhắn với máy nữa", "ai đó nghe máy giùm với",
                 "bó tay với con bot", "có chị nào là người thật không",
                 # staff to look at one's case, waiting for a person, the machine's answers found wanting
                 "cán bộ nào xem giùm trường hợp của mạ em với", "vậy thôi em chờ cán bộ", "bot trả lời lung tung quá",
                 "máy trả lời tự động à? vậy thôi em đợi người",
                 # said last before a closing particle (07/12/2026)
                 "bạn là máy à, thế mình muốn hỏi người cơ", "thôi em đợi cán bộ ạ",
                 # someone who speaks one's language (06/12/2026; before, the greeting)
                 "có ai nói tiếng Nùng không ạ, mẹ em không rành tiếng Kinh", "co ai biet tieng mong ko",
                 # whoever is a person, to contact one back (07/12/2026; before, the greeting)
                 "mệt quá, ai là người thật thì nhắn lại cho em nhé",
                 # an officer to look at cases in person (06/12/2026; before, sent to staff as a question)
                 "thôn tôi có vài hộ cần cán bộ xem cụ thể, ai về được không"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text
    # telling that one writes Vietnamese poorly is small talk, and a job advert asking for a language goes to staff
    assert engine.answer("chào chị, em người Nùng, nói tiếng Kinh chưa giỏi", Turn(), day=DAY).outcome == SMALLTALK
    assert engine.answer("tuyển cộng tác viên thu bảo hiểm, ưu tiên biết tiếng Mông, lương 10 triệu", Turn(),
                         day=DAY).outcome == ESCALATED
    # a complaint that nobody picks up is not a request to pick up, nor waiting for one's family a request
    assert engine.answer("gọi tổng đài cả ngày không ai nghe máy", Turn(), day=DAY).outcome != HANDOFF
    assert engine.answer("em chờ người nhà về rồi hỏi lại sau", Turn(), day=DAY).outcome != HANDOFF
    reply = engine.answer("em muốn hỏi cán bộ về rút bhxh 1 lần", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-dieu-kien")
    reply = engine.answer("hôm trước mẹ em đã nói chuyện với cô ở xã, giờ mẹ em muốn đóng bhxh tự nguyện thì làm sao",
                          Turn(), day=DAY)
    assert reply.outcome != HANDOFF
    letter = ("Kính gửi cơ quan BHXH. Năm ngoái tôi đã nói chuyện với cán bộ thu ở xã, rồi nhờ chuyển cho cán bộ "
              "huyện hồ sơ của mẹ tôi, 62 tuổi, chưa đóng bảo hiểm ngày nào. Vậy nay mẹ tôi đăng ký đóng bảo hiểm "
              "xã hội tự nguyện thì thủ tục thế nào?")
    assert engine.answer(letter, Turn(), day=DAY).outcome != HANDOFF


def test_a_greeting_that_names_a_province_is_a_greeting(engine):
    """Addressing the office by its province's name asks nothing ("Lâm" of "Lâm Đồng" folds to a filler word, and
    the rest used to read as a question for the contacts entry, then as one about another province's office);
    a question about another province's office still goes to staff."""
    for text in ("Xin chào Bảo hiểm xã hội tỉnh Lâm Đồng", "cảm ơn bhxh thành phố hồ chí minh ạ"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert reply.outcome == SMALLTALK, (text, reply.outcome, reply.reason)
    reply = engine.answer("chào bhxh tỉnh cà mau, sđt bên mình số mấy", Turn(), day=DAY)
    assert reply.outcome == ESCALATED and "tỉnh, thành phố khác" in reply.reason



def test_questions_about_the_assistant_get_its_introduction(engine):
    """"Who are you, a bot?": small talk the greeting reply answers (it says it is the office's automatic
    assistant and what it answers); none of these is a training line."""
    for text in ("ủa vậy ad là máy hả", "bạn tên chi rứa", "page này là của cơ quan bảo hiểm xã hội thật không ạ"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, "greeting"), text
        assert "trợ lý tự động" in reply.body


def test_asking_whether_a_person_answers_gets_the_introduction_and_asking_for_one_goes_to_staff(engine):
    """"Are you a real person?" asks nothing of staff: the greeting says an automatic assistant answers. "Is there a
    real person?", or any request ("gọi", "gặp", "cần"), still goes to staff. The greeting also says how to reach
    staff, for those who asked because they want a person; saying so is a request."""
    for text in ("chị là người thật hay máy vậy chị", "ủa bạn là người thật hả", "đây là máy trả lời tự động hay có người vậy"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, "greeting"), text
        assert "trợ lý tự động" in reply.body
        assert "nhắn “gặp cán bộ”" in reply.body
    assert engine.answer("gặp cán bộ", Turn(), day=DAY).outcome == HANDOFF
    for text in ("có người thật không ad", "máy trả lời dở quá, cho tôi gặp người thật",
                 "bạn là người thật thì gọi lại cho tôi", "trả lời tự động hoài, tôi cần người thật",
                 # "có ai" asks whether anyone is there; talking with an officer is a request
                 "có ai là người thật không vậy", "bạn là máy hả, cho tôi nói chuyện với cán bộ",
                 "tôi muốn trao đổi trực tiếp, không phải với máy",
                 # chatting or asking with a person, in chat spellings
                 "ad là máy hả, cho mình chat vs người thật đi", "bot hay người vậy, cho tui hỏi người thật coi",
                 "bạn là người hay máy thế, cho mình nc với người thật nha",
                 # needing an officer, said last (05/12/2026)
                 "bạn có phải chatbot không? tôi cần chuyên viên"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text
    # "cho hỏi" and "ở đâu" beside "người thật" ask a question of whoever answers, not for a person
    for text in ("ủa bạn là người thật hả, cho mình hỏi bhyt hộ gia đình bao nhiêu",
                 "ad là người thật hả, cho hỏi đóng bhxh tự nguyện ở đâu"):
        assert engine.answer(text, Turn(), day=DAY).outcome not in (HANDOFF, SMALLTALK), text


def test_an_acknowledgement_asking_who_answers_gets_the_introduction_and_others_do_not(engine):
    """Whichever small-talk class its words are nearest, a message asking who or what answers gets the
    greeting, which says who is answering; an acknowledgement that asks nothing of the kind stays one."""
    for text in ("ok, mà ad là máy hay sao", "em hiểu rồi, bạn là trợ lý tự động hả", "BẠN LÀ AI VẬY"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, "greeting"), text
    for text in ("dạ vâng", "vậy hả ad", "may quá"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, "ack"), text


def test_a_message_that_only_asks_leave_to_ask_gets_the_greeting(engine):
    """'Cho em hỏi tí được không' asks nothing yet: the greeting invites the question (it went to staff, or got the
    office's contacts); a word beyond the small-talk and asking words makes it a question again."""
    for text in ("Chào anh chị, cho em hỏi tí được không ạ", "ad ơi cho mình hỏi với", "chào bhxh, tôi có việc cần hỏi",
                 "Chào BHXH tỉnh Hưng Yên, cho tôi hỏi chút", "em hoi xiu dc ko a"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, "greeting"), text
    for text in ("cho em hỏi tí về rút bhxh 1 lần", "cho em hỏi bhyt hộ gia đình đóng bao nhiêu"):
        assert engine.answer(text, Turn(), day=DAY).outcome != SMALLTALK, text


def test_small_talk_addressed_to_the_office_by_its_name_is_small_talk(engine):
    """A formal greeting or thanks to the office by its name got the office's contacts."""
    for text, kind in (("Kính chào quý cơ quan Bảo hiểm xã hội tỉnh.", "greeting"),
                       ("Xin chào quý cơ quan BHXH.", "greeting"),
                       ("cảm ơn bảo hiểm xã hội tỉnh Hưng Yên nhiều", "thanks")):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, kind), text
    # the office's name alone, or with a question, is not small talk
    assert engine.answer("chào quý cơ quan, đóng theo quý được không", Turn(), day=DAY).outcome == ANSWERED
    assert engine.answer("bảo hiểm xã hội tỉnh", Turn(), day=DAY).outcome != SMALLTALK


def test_a_question_with_a_greeting_or_thanks_is_a_question(engine):
    for text, entries in (("chào ad, cho em hỏi bhyt hộ gia đình đóng bao nhiêu", {"hgd-muc-dong"}),
                          ("alo, cho hỏi rút bhxh 1 lần được bao nhiêu tiền", {"bhxh1l-muc-huong"}),
                          ("dạ cảm ơn ad, vậy sinh viên năm nhất thẻ bhyt có hạn tới bao giờ", {"hssv-thoi-han"}),
                          ("chúc ad ngày mới vui vẻ, cho em hỏi thẻ bhyt hết hạn gia hạn ở đâu", {"hgd-gia-han"}),
                          # no question word: decided on the words that are not small talk
                          ("dạ em cảm ơn, em muốn gia hạn thẻ cho con", {"hgd-gia-han"}),
                          # needing to withdraw: how to, or whether one may (models trained on more sets differ)
                          ("chào ad em cần rút sổ", {"bhxh1l-thu-tuc", "bhxh1l-dieu-kien"})):
        reply = engine.answer(text, Turn(), day=DAY)
        assert reply.outcome in (ANSWERED, CLARIFY), text
        offered = [reply.entry_id] if reply.outcome == ANSWERED else [c.entry_id for c in reply.choices]
        assert entries & set(offered), text


def test_out_of_scope_neighbours_go_to_staff(engine):
    for text in ("nghỉ thai sản ở công ty được bao nhiêu tháng lương", "thất nghiệp nhận trợ cấp mấy tháng",
                 "sổ bhxh của tôi bị sai ngày sinh", "vay vốn lãi suất thấp liên hệ zalo"):
        assert engine.answer(text, Turn(), day=DAY).outcome == ESCALATED, text


def test_an_employees_pension_goes_to_staff_but_their_voluntary_insurance_is_answered(engine):
    """A teacher's, a police officer's or a civil servant's pension is compulsory insurance's: staff answer it;
    the same people asking about voluntary insurance or the lump sum are in scope."""
    for text in ("bộ đội xuất ngũ thì lương hưu tính ra sao", "viên chức nghỉ hưu được hưởng bao nhiêu phần trăm lương"):
        assert engine.answer(text, Turn(), day=DAY).outcome == ESCALATED, text
    for text in ("giáo viên hợp đồng nghỉ việc rồi đóng bhxh tự nguyện tiếp được không",
                 "công nhân nghỉ việc 1 năm rút bhxh 1 lần được không"):
        assert engine.answer(text, Turn(), day=DAY).outcome in (ANSWERED, CLARIFY), text


def test_the_first_of_two_questions_is_answered_when_the_runner_up_is_the_second(engine):
    reply = engine.answer("thẻ bhyt hộ gia đình mua ở đâu, mua xong bao lâu thì dùng được?", Turn(), day=DAY)
    assert reply.outcome == ANSWERED and reply.entry_id == "hgd-mua-o-dau"
    assert reply.choices[0].entry_id == "hgd-gia-tri-the"


def test_a_personal_case_after_an_answer_is_not_a_follow_up(engine):
    """On its own nearest to an out-of-scope group: the previous answer's topic does not make it an answer."""
    context = "thủ tục rút bhxh 1 lần cần những gì"
    first = engine.answer(context, Turn(), day=DAY)
    assert first.outcome == ANSWERED
    for text in ("tôi gửi giấy tờ lên huyện 5 tuần rồi vẫn chưa có quyết định, nhờ xem hồ sơ giúp tôi",
                 "vậy hồ sơ của em giải quyết tới đâu rồi, kiểm tra giúp em"):
        assert engine.answer(text, first.next_turn(context), day=DAY).outcome == ESCALATED, text


def test_a_card_code_to_look_up_goes_to_staff(engine):
    """The bot cannot read a citizen's record: a message with a health insurance card code is a personal lookup,
    while the same question without one is answered with how to look it up."""
    reply = engine.answer("Ad tra cứu giúp em thẻ bhyt số GD4797923456789 còn hạn không ạ", Turn(), day=DAY)
    assert reply.outcome == ESCALATED
    assert engine.answer("tra cứu thẻ bhyt còn hạn không ở đâu", Turn(), day=DAY).entry_id == "chung-tra-cuu"
    # a code given in part, its last digits hidden, is a personal lookup as well (05/12/2026)
    for text in ("xem giúp em thẻ bhyt còn hạn ko ạ, mã thẻ HS4797xxxxxxxxx", "CĂN CƯỚC 030190XXXXXX, THẺ BHYT CÒN HẠN KHÔNG",
                 "số sổ của mẹ em 3012xxxxxx, tra giúp quá trình đóng với"):
        assert engine.answer(text, Turn(), day=DAY).outcome == ESCALATED, text


def test_a_payment_awaited_on_a_claim_goes_to_staff(engine):
    """A benefit applied for or being received whose money or decision has not come is a personal dossier staff look
    up, not a question the entry on that benefit answers (05/12/2026); lacking the money to pay is no such claim."""
    for text in ("Mẹ em đang lãnh trợ cấp hưu trí xã hội ở xã mà 2 tháng nay không thấy nhận tiền, ai giải quyết giùm với",
                 "mẹ em làm đơn hưởng trợ cấp hưu trí xã hội ở phường 3 tháng rồi chưa thấy có quyết định, nhờ ad kiểm "
                 "tra giúp",
                 "e lam o ha tinh, nop ho so rut 1 lan ben bhxh ha tinh 2 thang roi chua co tien, hoi o dau a",
                 # asked the other way round, or of an allowance received (07/12/2026)
                 "làm hồ sơ rút bảo hiểm 1 lần được 1 tháng rồi, tiền về chưa ạ",
                 "nộp hồ sơ rút một lần ở bưu điện 20 ngày rồi, có tiền chưa ad",
                 "ông ngoại em lĩnh trợ cấp hưu trí xã hội, sao tháng 11 chưa có tiền vậy ạ"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (ESCALATED, "hồ sơ hoặc khoản tiền đang chờ, cần cán bộ tra cứu"), text
    for text in ("bà nội em 78 tuổi chưa có lương hưu thì có được trợ cấp hưu trí xã hội không",
                 "đang hưởng trợ cấp hưu trí xã hội mà chưa có tiền đóng bhyt thì có được cấp thẻ không",
                 "lĩnh trợ cấp hưu trí xã hội thì bao lâu có tiền, chưa đủ 75 tuổi có được không"):
        assert engine.answer(text, Turn(), day=DAY).reason != "hồ sơ hoặc khoản tiền đang chờ, cần cán bộ tra cứu", text


def test_a_hospital_bill_to_be_paid_back_goes_to_staff(engine):
    """A bill paid at a hospital that the citizen wants paid back is a claim for direct payment staff handle with the
    bills (07/12/2026; before, what a household or a pupil's card covers); what a card covers, and the co-payment after
    five years, are still answered."""
    for text in ("mẹ em nằm viện ở tỉnh bên không có giấy chuyển tuyến, tự trả 15 triệu, giờ bhyt có thanh toán lại không",
                 "con em bị gãy chân ở trường, viện phí 5 triệu, bảo hiểm học sinh trả lại tiền kiểu gì"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (
            ESCALATED, "đề nghị thanh toán lại chi phí khám chữa bệnh, cần cán bộ hướng dẫn theo hồ sơ"), text
    for text, entry in (("đi khám bệnh có thẻ bhyt hộ gia đình thì được chi trả bao nhiêu phần trăm", "hgd-muc-huong"),
                        ("đóng 5 năm liên tục thì đi viện được miễn cùng chi trả không", "hgd-5-nam")):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, entry), text
    # a student's card paid twice is no hospital bill: the "viên" of "sinh viên" is not a hospital ("viện")
    reply = engine.answer("sinh viên đóng bhyt 2 lần ở trường, xin hoàn lại tiền ở đâu", Turn(), day=DAY)
    assert reply.reason != "đề nghị thanh toán lại chi phí khám chữa bệnh, cần cán bộ hướng dẫn theo hồ sơ"


def test_a_call_nobody_answered_is_a_complaint_unless_a_number_is_asked(engine):
    """"Gọi tổng đài không ai nghe máy" told as a grievance ("làm ăn kiểu gì") goes to staff; asking for another number
    or the address after it, or saying it plainly, is still a question the office's contacts answer (05/12/2026)."""
    for text in ("GỌI TỔNG ĐÀI 3 NGÀY KHÔNG AI NGHE MÁY, LÀM ĂN KIỂU CHI RỨA",
                 "gọi tổng đài mấy chục cuộc không ai nghe máy, làm việc kiểu gì vậy"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (
            ESCALATED, "phản ánh gọi điện không được trả lời, cần cán bộ xử lý"), text
    for text in ("gọi tổng đài không ai nghe máy, cho em xin số điện thoại khác của bhxh với",
                 "goi tong dai ma ko ai nghe may"):  # told plainly: another way in may be wanted
        assert engine.answer(text, Turn(), day=DAY).reason != "phản ánh gọi điện không được trả lời, cần cán bộ xử lý"


def test_an_adults_card_paid_by_an_employer_is_no_student_question(engine):
    """The student entries answer for a pupil or a student: an adult paying for a household card while the employer
    pays too goes to staff as compulsory insurance; the student who works keeps the student entry (05/12/2026)."""
    from app.letters import SCHEME_REASONS

    reply = engine.answer("em lỡ đóng bhyt 2 chỗ, cty có đóng mà em cũng mua theo hộ gia đình, xin lại tiền sao",
                          Turn(), day=DAY)
    assert (reply.outcome, reply.reason) == (ESCALATED, SCHEME_REASONS["bat-buoc"])
    reply = engine.answer("sinh viên đi làm thêm đã có bhyt công ty đóng rồi, trường có thu nữa không", Turn(), day=DAY)
    assert reply.reason != SCHEME_REASONS["bat-buoc"]


def test_a_price_of_goods_or_a_trip_is_out_of_scope_and_a_cards_price_is_not(engine):
    """"Bao nhiêu" made the household card's amount nearest to the price of lychees or of a tour; a short message
    naming a unit of goods or a trip and no word of insurance goes to staff (05/12/2026), while a card's price asked
    without naming it is still answered."""
    for text in ("vải thiều Thanh Hà năm nay giá bao nhiêu một cân vậy",
                 "cho hỏi tour Phong Nha - động Thiên Đường đi trong ngày giá bao nhiêu một người"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (
            ESCALATED, "câu hỏi ngoài phạm vi bảo hiểm (giá cả hàng hóa, dịch vụ)"), text
    for text in ("mua cho 1 người giá bao nhiêu", "bhyt hộ gia đình 1 người giá bao nhiêu một năm"):
        assert engine.answer(text, Turn(), day=DAY).entry_id == "hgd-muc-dong", text


def test_a_follow_up_after_a_clarifying_question_stays_in_its_topic(engine):
    """The choices offered were all student health insurance; a follow-up that picks none and names no subject
    ("z tu mua thi mua o dau") goes on in that topic instead of getting the household entry it gets alone."""
    # the clarifying question's turn as the conversation keeps it (which message gets one moves with each retrained
    # model, so the turn is written out)
    student = Turn(text="sv nam 2 lop ko thu bhyt", choices=["hssv-mua-o-dau", "hssv-bat-buoc", "hssv-muc-dong"])
    text = "z tu mua thi mua o dau ad"
    alone = engine.answer(text, Turn(), day=DAY)
    assert alone.candidates[0] == "hgd-mua-o-dau" and alone.entry_id != "hssv-mua-o-dau"
    reply = engine.answer(text, student, day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hssv-mua-o-dau")
    # choices of several topics say nothing of the conversation's topic: the message is read alone
    mixed = Turn(text="mua bhyt", choices=["hgd-mua-o-dau", "hssv-mua-o-dau", "vtn-dang-ky"])
    read_alone = engine.answer(text, mixed, day=DAY)
    assert (read_alone.outcome, read_alone.entry_id, read_alone.candidates) == (alone.outcome, alone.entry_id,
                                                                               alone.candidates)


def test_a_question_with_ko_before_the_address_or_an_alternative_is_a_question(engine):
    """"cái này có bắt buộc ko ad hay tự nguyện" asks: it is never taken for small talk."""
    for text in ("cai nay co bat buoc ko ad hay tu nguyen", "co bat buoc khong hay tu nguyen vay"):
        assert question_parts(text) == [text]
        assert engine.answer(text, Turn(), day=DAY).outcome != SMALLTALK, text


def _after(engine, context: str, text: str):
    previous = engine.answer(context, Turn(), day=DAY)
    assert previous.outcome == ANSWERED, context
    return engine.answer(text, previous.next_turn(context), day=DAY)


def test_thanks_after_an_answer_is_small_talk_not_a_question_of_the_previous_topic(engine):
    """Small talk on its own stays small talk after an answer: the previous topic does not turn thanks or an
    acknowledgement into a question (before: "dạ cám ơn cô, con ghi lại rồi" got the office's contact entry)."""
    for context, text in (("số điện thoại bhxh tỉnh là bao nhiêu", "dạ cám ơn cô, con ghi lại rồi"),
                          ("đăng ký bhxh tự nguyện ở đâu", "ok ad, để tháng sau e ra bưu điện"),
                          ("tra cứu thẻ bhyt ở đâu", "hay quá, chúc ad buổi tối vui vẻ")):
        reply = _after(engine, context, text)
        assert reply.outcome == SMALLTALK and not reply.used_context, (text, reply.outcome, reply.entry_id)
    # a short question that no entry fits alone is still read with the previous question
    reply = _after(engine, "Dạ cho em hỏi BHYT học sinh năm nay đóng bao nhiêu ạ?", "dạ còn thẻ thì dùng được đến tháng mấy ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hssv-thoi-han")


def test_a_short_follow_up_is_read_with_the_previous_question(engine):
    """"còn X thì sao" after an answer asks the previous question of X: answered in that topic, not escalated
    (for the near-poor's contribution, the amount and the support entries both answer; a model may offer the two)."""
    reply = _after(engine, "bhxh tự nguyện đóng bao nhiêu", "còn hộ cận nghèo thì sao")
    both = {"vtn-muc-dong", "vtn-ho-tro"}
    assert reply.used_context and (
        (reply.outcome == ANSWERED and reply.entry_id in both)
        or (reply.outcome == CLARIFY and {c.entry_id for c in reply.choices} == both)
    ), (reply.outcome, reply.entry_id, [c.entry_id for c in reply.choices])
    reply = _after(engine, "bhyt học sinh đóng bao nhiêu", "thế còn sinh viên thì sao")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hssv-muc-dong")
    reply = _after(engine, "bhyt hộ gia đình 1 người bao nhiêu tiền", "còn con em 5 tuổi thì sao")
    assert reply.outcome == ANSWERED and reply.entry_id.startswith("hgd-")


def test_a_follow_ups_cue_decides_at_a_lower_score_than_a_first_message(engine):
    """A follow-up is elliptical, so its scores are lower: the survivors' cue ("người đóng mất", "vợ con") in a chat
    follow-up without diacritics decides from Thresholds.followup_cue, read with the earlier question. The same
    words as a first message are not answered at that score (before 05/12/2026: both went to staff)."""
    text = "lo nguoi dong mat som thi vo con co dc nhan lai gi ko"
    alone = engine.answer(text, Turn(), day=DAY)
    assert alone.outcome != ANSWERED and alone.score < engine.thresholds.clarify, (alone.outcome, alone.score)
    reply = _after(engine, "tham gia bhxh tu nguyen thi dc huong nhung gi ad", text)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-tu-tuat"), (reply.outcome, reply.score)
    assert engine.thresholds.followup_cue <= reply.score < engine.thresholds.clarify


def test_a_follow_up_under_the_clarify_level_gets_choices_instead_of_staff(engine):
    """A follow-up's scores are lower, so between Thresholds.followup_clarify and clarify its close entries are
    offered as choices: here the monthly allowance for those short of the years, beside the social pension. The
    same words as a first message, at the same score, go to staff."""
    text = "vậy ổng có được lãnh tiền hằng tháng không hay chỉ lấy một lần"
    alone = engine.answer(text, Turn(), day=DAY)
    assert alone.outcome == ESCALATED and alone.score < engine.thresholds.clarify, (alone.outcome, alone.score)
    reply = _after(engine, "ông xã tui 61 tuổi, đóng bhxh được 10 năm thì nghỉ", text)
    assert reply.outcome == CLARIFY, (reply.outcome, reply.score)
    assert engine.thresholds.followup_clarify <= reply.score < engine.thresholds.clarify
    assert "bhxh1l-tro-cap-thang" in [c.entry_id for c in reply.choices]


def test_a_follow_up_naming_no_subject_stays_in_the_previous_topic(engine):
    """"vậy đóng ở đâu" alone is nearest to the lump sum's procedure; after the household amount it asks where
    to buy household insurance (answered or offered first)."""
    reply = _after(engine, "bhyt hộ gia đình 1 người bao nhiêu tiền", "vậy đóng ở đâu")
    assert reply.outcome in (ANSWERED, CLARIFY)
    first = reply.entry_id if reply.outcome == ANSWERED else reply.choices[0].entry_id
    assert first == "hgd-mua-o-dau"


def test_a_whole_follow_up_question_of_the_same_topic_is_answered_as_asked(engine):
    """A follow-up ("mà", "thế") that asks a whole question of the previous topic and is sure of it alone is not
    pulled back to the previous entry by that entry's subject (before: a choice between the two)."""
    for text in ("mà muốn biết thẻ của con còn hạn sử dụng không thì tra cứu ở đâu ạ",
                 "thế tra cứu thẻ bhyt còn hạn hay không ở đâu ạ"):
        reply = _after(engine, "mất thẻ bhyt thì làm lại ở đâu", text)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-tra-cuu"), (text, reply.outcome, reply.choices)


def test_a_whole_follow_up_after_a_general_entry_is_answered_as_asked(engine):
    """A general entry (how the two schemes differ) spans the topics: a follow-up that asks a whole question of a
    product and is sure of it alone is answered as asked, not pulled back to the general entry."""
    reply = _after(engine, "cho em hỏi bhxh bắt buộc với tự nguyện khác nhau ở chỗ nào",
                   "thế em đang đóng ở công ty mà nghỉ thì đóng tiếp tự nguyện có được tính nối vào không ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-cong-noi"), (reply.outcome, reply.choices)


def test_a_question_naming_no_product_is_asked_of_the_conversations_product(engine):
    """Alone, "mức đóng là bao nhiêu một năm" is the household card's amount; after whether pupils must buy the card it
    is the student card's. A question that names its product, or a general one (contacts), is not bent."""
    for context, text, expected in (
        ("Con em mới đỗ vào ĐH Thủy lợi, có bắt buộc mua bhyt ở trường không ạ?",
         "Dạ vâng, thế mức đóng là bao nhiêu một năm hả ad?", "hssv-muc-dong"),
        ("bhyt hs năm nay đóng bao nhiêu tiền vậy", "sao nghe nói nhà nước có hỗ trợ mà, hỗ trợ nhiêu phần trăm dạ",
         "hssv-ho-tro"),
    ):
        alone = engine.answer(text, Turn(), day=DAY)
        assert alone.entry_id != expected, text
        reply = _after(engine, context, text)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, expected), (text, reply.outcome, reply.choices)
    reply = _after(engine, "bhyt học sinh đóng bao nhiêu", "mua bhyt hộ gia đình ở đâu")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hgd-mua-o-dau")


def test_a_complete_new_question_after_an_answer_is_not_bent_by_the_previous_topic(engine):
    for context, text, expected in (
        ("bhxh tự nguyện đóng bao nhiêu", "rút bhxh 1 lần cần giấy tờ gì", "bhxh1l-thu-tuc"),
        ("bhyt học sinh đóng bao nhiêu", "mua bhyt hộ gia đình ở đâu", "hgd-mua-o-dau"),
    ):
        reply = _after(engine, context, text)
        assert (reply.outcome, reply.entry_id, reply.used_context) == (ANSWERED, expected, False), text


def test_a_short_compulsory_insurance_question_goes_to_staff(engine):
    """Short messages naming an employer or compulsory insurance and a benefit or dispute are not answered by the
    voluntary-insurance entry on the same benefit."""
    for text, group in (("nghỉ thai sản ở công ty được mấy tháng", "@oos-om-dau-bat-buoc"),
                        ("công ty không đóng bhxh cho tôi thì sao", "@oos-doanh-nghiep"),
                        ("bị tai nạn lao động được bồi thường gì", "@oos-om-dau-bat-buoc")):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (ESCALATED, engine.out_of_scope[group]), text
    reply = engine.answer("đóng bhxh bắt buộc 10 năm nghỉ hưu được bao nhiêu", Turn(), day=DAY)
    assert reply.outcome == ESCALATED and "bắt buộc" in reply.reason


@pytest.mark.parametrize("text", [
    "công ty nó đóng bảo hiểm cho em mà giờ em muốn xem quá trình đóng thì xem ở đâu",  # "nó" (it), not "nợ" (owes)
    "muốn tự xem cty cũ có đóng đủ bhxh cho mình ko thì xem ở đâu ạ, e ko còn giữ sổ",  # has no book, no dispute
])
def test_words_that_fold_like_a_dispute_with_the_employer_are_no_dispute(engine, text):
    """Folded, "nó đóng" reads "nợ đóng" and "ko còn giữ sổ" contains "giữ sổ": both went to staff as a dispute with
    the employer; they ask the lookup. "nợ đóng", "cty no dong" without marks and "công ty giữ sổ" still go to staff."""
    reply = engine.answer(text, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-tra-cuu"), (reply.outcome, reply.reason)
    for dispute in ("công ty nợ đóng bhxh của em 6 tháng thì sao", "cty no dong bhxh cua em 6 thang thi sao",
                    "công ty giữ sổ không trả"):
        reply = engine.answer(dispute, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (ESCALATED, engine.out_of_scope["@oos-doanh-nghiep"]), dispute


def test_in_scope_questions_naming_a_company_stay_in_scope(engine):
    for text, expected in (("nghỉ việc ở công ty rồi có rút bhxh 1 lần được không", "bhxh1l-"),
                           ("đã đóng bắt buộc 8 năm giờ đóng tiếp tự nguyện được không", "vtn-"),
                           ("học sinh có bắt buộc mua bhyt không", "hssv-bat-buoc"),
                           ("sinh con có được tiền thai sản không", "vtn-thai-san"),
                           # voluntary insurance in chat shorthand ("đóng tn") beside a past employer
                           ("e nghi lam cty 2 nam roi gio so bhxh tinh sao, muon dong tiep tn de sau co luong huu",
                            "vtn-cong-noi")):
        reply = engine.answer(text, Turn(), day=DAY)
        assert reply.outcome == ANSWERED and reply.entry_id.startswith(expected), text


def test_a_follow_up_moving_to_a_company_goes_to_staff(engine):
    """After voluntary maternity, "thế còn đóng ở công ty thì sao" asks about compulsory insurance."""
    reply = _after(engine, "bhxh tự nguyện sinh con được bao nhiêu tiền", "thế còn đóng ở công ty thì sao")
    assert reply.outcome == ESCALATED and "bắt buộc" in reply.reason


def test_a_pension_follow_up_in_a_voluntary_conversation_is_not_an_employees_pension_question(engine):
    """After voluntary contributions told, "thế nghỉ hưu thì lương em được mấy phần trăm" asks the voluntary pension:
    it gets the choices with it first (before: staff, as compulsory insurance's pension). Naming an employer, or
    without the voluntary conversation, it is still compulsory insurance's."""
    told = "em đóng bảo hiểm tự nguyện được 18 năm rồi, em là nam ạ"
    reply = _after(engine, told, "thế nghỉ hưu thì lương em được mấy phần trăm")
    assert reply.outcome == CLARIFY and reply.choices[0].entry_id == "vtn-muc-huong-huu", (reply.outcome, reply.reason)
    reply = _after(engine, told, "còn bố em là giáo viên về hưu thì lương được mấy phần trăm")
    assert reply.outcome == ESCALATED and "bắt buộc" in reply.reason
    assert engine.answer("thế nghỉ hưu thì lương em được mấy phần trăm", Turn(), day=DAY).outcome == ESCALATED


def test_pension_age_short_of_years_asking_for_money_every_month_is_the_monthly_allowance(engine):
    """Of pension age, short of years, asking for money every month: the 2024 law's monthly allowance, not the pension's
    conditions or keeping the years (before: a clarifying question). Paying the missing years in one go, or month by
    month, stays the entry on paying them."""
    reply = _after(engine, "ba e du tuoi huu roi ma chi dong dc 12 nam",
                   "neu ko dong them thi ba e co dc nhan tien hang thang ko hay chi rut 1 lan")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-tro-cap-thang"), (reply.outcome, reply.candidates)
    text = "nghe nói luật mới. đủ tuổi mà chưa đủ năm đóng. thì được nhận tiền hàng tháng. có đúng ko"
    reply = engine.answer(text, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-tro-cap-thang"), (reply.outcome, reply.candidates)
    text = "Bố em 61 tuổi rồi, đóng được 12 năm, giờ nộp một cục cho đủ luôn được không hay phải đóng từng tháng tiếp"
    reply = engine.answer(text, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-dong-con-thieu"), (reply.outcome, reply.candidates)
    # the monthly allowance first, but the message says it would pay the rest at once: paying them (07/12/2026, third
    # session; before: a choice between the two); who cannot pay them still asks what is left
    for text in ("đủ tuổi rồi mà thiếu mấy năm, đóng gộp cho đủ thì có bị giới hạn bao nhiêu năm không",
                 "Chú tui năm ni đủ tuổi hưu mà mới đóng có 13 năm, giờ đóng thêm một lần 2 năm cho đủ được không hay "
                 "phải đóng từng tháng?"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-dong-con-thieu"), (reply.outcome, reply.candidates)
    reply = engine.answer("đủ tuổi hưu mà thiếu năm đóng, ko có tiền đóng bù 😭 thì làm sao ad", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-tro-cap-thang"), (reply.outcome, reply.candidates)


@pytest.mark.parametrize("text", [
    "đang đóng tự nguyện mà năm nay thất mùa không có tiền đóng tiếp, vậy mấy năm đã đóng có mất không",
    "Tui lỡ bỏ đóng tự nguyện 2 năm rồi, mấy năm đóng trước còn hông?",
])
def test_stopping_payments_and_losing_the_years_is_not_a_death(engine, text):
    """"mất" (lost) brings the survivors' entry close to the one on stopping payments: a message that says it stopped
    or cannot pay asks the latter (before: a clarifying question between the two); one that tells a death does not."""
    reply = engine.answer(text, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-ngung-dong"), (reply.outcome, reply.candidates[:3])
    reply = engine.answer("chồng em đóng tự nguyện rồi chết, em không có tiền đóng tiếp thì có được nhận gì không",
                          Turn(), day=DAY)
    assert reply.entry_id != "vtn-ngung-dong" and "vtn-tu-tuat" in reply.candidates[:2], (reply.outcome, reply.candidates)


@pytest.mark.parametrize(("told", "text"), [
    ("", "Chồng tui đóng tự nguyện được 11 năm, tháng rồi mất do tai nạn trên biển, tui với hai đứa nhỏ có được hưởng "
         "chi không?"),
    ("", "má tui đang lãnh lương hưu tự nguyện, lỡ bả mất thì con cháu được hưởng gì vậy, hỏi trước để biết"),
    ("lương hưu tự nguyện tính sao vậy ad", "còn lỡ tui chết trước khi lãnh hưu thì vợ con tui có được gì không?"),
    ("Đóng bảo hiểm tự nguyện thì được những quyền lợi gì ạ",
     "thế nếu chẳng may đang đóng mà người đấy mất thì người nhà có được nhận lại gì không ạ"),
])
def test_a_members_death_asks_what_the_family_gets_over_the_pension_siblings(engine, told, text):
    """A voluntary member who died, or may die, and what the family gets: the survivors' entry, not the pension's level,
    age or conditions or the benefits in general, which scored close (before: a clarifying question or staff)."""
    reply = _after(engine, told, text) if told else engine.answer(text, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-tu-tuat"), (reply.outcome, reply.candidates[:3])


@pytest.mark.parametrize("follow_up", [
    "còn nếu nhà em mới được xã công nhận cận nghèo thì được nhà nước bớt cho bao nhiêu ạ",
    "con neu nha em moi duoc xa cong nhan can ngheo thi duoc nha nuoc bot cho bao nhieu a",
])
def test_being_recognised_as_near_poor_names_no_worker(engine, follow_up):
    """"được xã công nhận cận nghèo" (recognised) folds to the words of "công nhân" (a worker, an employer's): with or
    without marks it is not read as moving to a company (before: staff, as compulsory insurance). A worker is."""
    told = "Đóng BHXH tự nguyện mức thấp nhất là bao nhiêu vậy ad?"
    reply = _after(engine, told, follow_up)
    assert reply.outcome == ANSWERED and reply.entry_id == "vtn-ho-tro", (reply.outcome, reply.reason)
    reply = _after(engine, told, "còn em là công nhân thì sao ạ")
    assert reply.outcome == ESCALATED and "bắt buộc" in reply.reason


def test_a_request_for_the_number_asked_first_is_the_main_question(engine):
    """"cho xin số tổng đài, với lại tra cứu quá trình đóng ở đâu": the request is a question, asked first, so the
    contacts answer and the lookup is offered first (before: the lookup answered)."""
    reply = engine.answer("cho xin số tổng đài bhxh, với lại tra cứu quá trình đóng ở đâu", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-lien-he")
    assert reply.choices and reply.choices[0].entry_id == "chung-tra-cuu"


def test_another_provinces_office_goes_to_staff_not_this_offices_details(engine):
    """The contacts entry gives this office's details: a question about another province's office goes to staff,
    one about this province's own office is answered (its name from the province's office details)."""
    from app.knowledge import Office
    from app.provinces import Province

    for text in ("sdt bhxh tinh ca mau la so nao v ad", "địa chỉ bhxh quận bình thạnh tphcm ở đâu ạ",
                 "bhxh tỉnh Bình Dương ở đâu", "bhxh Đồng Nai mấy giờ mở cửa",
                 # nearest to another entry (where to register), but it asks where that office is
                 "BHXH Thái Nguyên ở đâu ạ, em cần nộp hồ sơ đăng ký bhxh tự nguyện ở đấy"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert reply.outcome == ESCALATED and reply.reason == "Hỏi cơ quan BHXH của tỉnh, thành phố khác", text
    assert engine.answer("số điện thoại bhxh tỉnh là bao nhiêu", Turn(), day=DAY).entry_id == "chung-lien-he"
    # put beside small talk, nearest to a greeting, it is still a question about another province's office
    reply = engine.answer("Cho em hỏi bảo hiểm xã hội bên Bắc Ninh thứ 7 có làm việc không ạ, em đang làm ở đấy",
                          Turn(), day=DAY)
    assert reply.outcome == ESCALATED and reply.reason == "Hỏi cơ quan BHXH của tỉnh, thành phố khác"
    assert engine.answer("Xin chào BHXH tỉnh Lâm Đồng, chúc các anh chị ngày mới vui vẻ", Turn(), day=DAY).outcome == \
        SMALLTALK
    camau = Province(code="camau", name="Cà Mau", office=Office(name="Bảo hiểm xã hội tỉnh Cà Mau", phone="0290 000"))
    reply = engine.answer("sdt bhxh tinh ca mau la so nao v ad", Turn(), day=DAY, province=camau)
    assert reply.outcome == ANSWERED and reply.entry_id == "chung-lien-he" and "0290 000" in reply.body
    # this office named by its province, in a message that names where the writer works too (07/12/2026, third
    # session): to that office it is a question about its own details; to another it is still another office's
    works_away = ("Tôi đang làm công nhân ở Bắc Ninh, muốn gọi điện hỏi BHXH tỉnh Cà Mau về sổ của mẹ mà không biết "
                  "số nào, cho tôi xin số điện thoại và địa chỉ")
    reply = engine.answer(works_away, Turn(), day=DAY, province=camau)
    assert reply.outcome == ANSWERED and reply.entry_id == "chung-lien-he" and "0290 000" in reply.body
    assert engine.answer(works_away, Turn(), day=DAY).outcome == ESCALATED
    # where another province's office is, asked of this one, still goes to staff
    reply = engine.answer("tôi ở Cà Mau, cho xin số điện thoại bhxh tỉnh Bắc Ninh", Turn(), day=DAY, province=camau)
    assert reply.outcome == ESCALATED and reply.reason == "Hỏi cơ quan BHXH của tỉnh, thành phố khác"


def test_circumstances_told_then_a_question_are_read_as_one_letter(engine):
    """People split a letter on a chat: what happened in one message, the question in the next. When the first only
    told something that no entry answered, and the question alone is not clear, the two are read together."""
    told = "chồng em làm công ty điện tử 6 năm, tháng 4 vừa rồi bị cho nghỉ, giờ chưa xin được việc"
    asked = "thế bây giờ ảnh rút bảo hiểm được chưa chị"
    first = engine.answer(told, Turn(), day=DAY)
    assert first.outcome == ESCALATED and first.entry_id is None
    assert engine.answer(asked, Turn(), day=DAY).outcome != ANSWERED
    reply = engine.answer(asked, first.next_turn(told), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-nghi-viec")
    # the next turn goes on from the whole story
    assert told in reply.next_turn(asked).text
    # a greeting before the question tells nothing: the question is read alone
    hello = engine.answer("chào ad", Turn(), day=DAY)
    assert engine.answer(asked, hello.next_turn("chào ad"), day=DAY).outcome != ANSWERED
    # an earlier question that was not answered is not the circumstances of the next one
    earlier = "mẹ em đang nằm viện ở Chợ Rẫy thì sao ạ"
    before = engine.answer(earlier, Turn(), day=DAY)
    assert before.entry_id is None
    assert engine.answer(asked, before.next_turn(earlier), day=DAY).outcome != ANSWERED


def test_a_whole_question_after_con_is_asked_not_the_earlier_one_again(engine):
    """"còn X thì sao" asks the earlier question of X; when X is itself a whole question of the same topic, sure on
    its own ("còn lỡ đang đóng mà em qua đời thì con em được hưởng gì" after the benefits), that question is
    answered (before: the earlier entry again)."""
    reply = _after(engine, "bhxh tự nguyện đóng vào thì được những quyền lợi gì ạ",
                   "còn lỡ đang đóng mà em qua đời thì con em được hưởng gì không ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-tu-tuat")
    # a subject alone is still the earlier question asked of it
    reply = _after(engine, "bhyt học sinh đóng bao nhiêu", "thế còn sinh viên thì sao")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hssv-muc-dong")


def test_thanks_that_say_what_the_person_makes_of_the_answer_are_small_talk(engine):
    """"ok e lưu số rồi, cảm ơn ad" after the hotline thanks; its other words ("lưu số") used to get an entry (the
    lump sum's keeping of years) or the previous answer again. A question beside the thanks is still asked."""
    for context in ("số tổng đài bhxh là số nào", "rút bhxh một lần thì thiệt những gì ạ"):
        reply = _after(engine, context, "ok e lưu số rồi, cảm ơn ad")
        assert (reply.outcome, reply.reason) == (SMALLTALK, "thanks"), (context, reply.outcome, reply.entry_id)
    assert engine.answer("ok e lưu số rồi, cảm ơn ad", Turn(), day=DAY).outcome == SMALLTALK
    reply = _after(engine, "rút bhxh một lần thì thiệt những gì ạ", "cảm ơn ad, vậy còn đóng tiếp tự nguyện thì sao")
    assert reply.outcome != SMALLTALK


def test_the_clipped_thanks_mon_is_small_talk_and_a_dish_is_not(engine):
    """"mơn ad", the centre's and the highlands' short thanks, was sent to staff as an unsure question: folded it is
    "món" (a dish), so it is a small-talk filler word (intents.yaml), not a thanks phrase the model learns; a message
    about a dish has other words and is not small talk."""
    for text in ("mơn ad", "dạ mơn nhé", "MƠN AD NHIỀU"):
        assert engine.answer(text, Turn(), day=DAY).outcome == SMALLTALK, text
    assert engine.answer("ad chỉ em cách làm món thịt kho với", Turn(), day=DAY).outcome == ESCALATED
    reply = engine.answer("thẻ bhyt bị mòn chữ có dùng được không", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-the-bhyt")


def test_when_one_may_withdraw_after_leaving_a_job_is_the_leaving_work_entry(engine):
    """"tới khi nào em mới rút được" asks how long after leaving a job (the sibling cue of intents.yaml), not the
    general conditions; asking for the other cases still gets the conditions."""
    reply = _after(engine, "rút bhxh một lần cần điều kiện gì", "vậy tới khi nào em mới rút 1 lần được ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-nghi-viec")
    reply = _after(engine, "rút bhxh một lần cần điều kiện gì", "ngoài nghỉ việc ra thì còn trường hợp nào được rút nữa không ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-dieu-kien")
    # more than twelve months after leaving, in a polite message that tells the dates first
    reply = engine.answer("Dạ cho cháu hỏi. Cháu nghỉ làm ở xưởng may từ tháng 8/2025, tới giờ đã hơn 12 tháng không đóng "
                          "bảo hiểm, cộng lại đóng được 3 năm 8 tháng. Vậy cháu đã đủ điều kiện rút BHXH một lần chưa ạ?",
                          Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-nghi-viec")


def test_renewing_so_that_the_card_does_not_lapse_is_the_renewal_entry(engine):
    """"phải đóng trước ngày nào để khỏi bị đứt" after when a card takes effect asks how to renew in time (a sibling
    cue), while waiting after a first purchase is still when the card takes effect."""
    context = "mua bhyt hộ gia đình bao lâu thì thẻ có giá trị"
    reply = _after(engine, context, "còn thẻ cũ nhà em tới tháng 12 hết hạn, phải đóng trước ngày nào để khỏi bị đứt ạ")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hgd-gia-han")
    reply = _after(engine, context, "mua lần đầu thì phải chờ bao nhiêu ngày mới đi khám được")
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hgd-gia-tri-the")


def test_someone_without_a_pension_in_chat_spelling_asks_for_the_social_pension(engine):
    """"ko có lương hưu", "k có lương hưu" say that the person never paid as "không có lương hưu" does (the sibling cue
    of intents.yaml): the social pension, not the allowance of those who paid too few years."""
    for text in ("Ông nội e 79t ko có lương hưu 🙏 có được nhận trợ cấp hàng tháng ko ạ",
                 "bà em 80t k có lương hưu có được nhận trợ cấp hàng tháng ko"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-hu-tri-xa-hoi"), (text, reply.outcome)


def test_stopping_payments_is_the_entry_on_stopping(engine):
    """"bỏ ngang", "đóng không nổi nữa": a voluntary member who stops paying (the sibling cue of intents.yaml), not
    keeping years instead of withdrawing."""
    reply = engine.answer("giờ em đóng không nổi nữa, bỏ ngang thì 3 năm đó có bị mất không ạ", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-ngung-dong"), (reply.outcome, reply.choices)
    # a month, a quarter or a year without the money, in chat spelling (05/12/2026): not the ways of paying
    for text in ("đóng tự nguyện theo năm, lỡ năm sau kẹt tiền thì sao ad",
                 "em đóng tự nguyện theo quý, quý này hông có tiền thì có sao không",
                 "bhxh tự nguyện đóng theo năm mà năm sau ko đóng được thì có mất mấy năm trước không"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-ngung-dong"), (text, reply.outcome, reply.entry_id)


def test_kept_years_joined_with_later_work_are_the_keeping_entry(engine):
    """Years left as they are and joined with work at another employer later ("sau ni đi làm chỗ khác có cộng tiếp vô
    được không") are keeping the years (the sibling cue of intents.yaml), not continuing under voluntary insurance."""
    reply = engine.answer("em nghỉ công ty ở long an về quê rồi, 6 năm bảo hiểm để nguyên đó, sau ni đi làm chỗ khác có "
                          "cộng tiếp vô được không", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "bhxh1l-bao-luu"), (reply.outcome, reply.choices)


def test_compulsory_and_voluntary_years_added_together_are_the_joining_entry(engine):
    """"bắt buộc với tự nguyện có cộng dồn lại với nhau k ad" asks whether the years are joined (`vtn-cong-noi`, the
    sibling cue of intents.yaml), not how the two schemes differ; asking how they differ still gets the comparison
    (08/12/2026, from `final70`, read after its run)."""
    for text in ("bắt buộc với tự nguyện có cộng dồn lại với nhau k ad", "BHXH BAT BUOC VA TU NGUYEN CO DUOC CONG DON KHONG"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.entry_id) == (ANSWERED, "vtn-cong-noi"), (text, reply.outcome, reply.entry_id)
    reply = engine.answer("bhxh bắt buộc với tự nguyện khác nhau chỗ nào vậy ad", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-bat-buoc-vs-tu-nguyen")


def test_a_request_for_a_person_after_an_answer_is_a_handoff(engine):
    """"vẫn chưa rõ, chuyển em qua nhân viên được không ạ" after an answer asks for a person, as it does alone; the
    previous topic used to turn it into that topic's entry (final45, read after its run)."""
    for text in ("vẫn chưa rõ, chuyển em qua nhân viên được không ạ", "chuyển em qua nhân viên được không ạ"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF
        reply = _after(engine, "thẻ bhyt học sinh có hạn đến khi nào ạ", text)
        assert reply.outcome == HANDOFF, (text, reply.outcome, reply.entry_id)


def test_a_second_question_naming_no_product_is_offered_in_the_answered_product(engine):
    """"…có bắt buộc phải mua bảo hiểm y tế không, mà nếu mua thì một năm hết bao nhiêu tiền": the second question
    names no product, so the student card's amount is offered first, not the household card's."""
    reply = engine.answer("cháu nhà em học lớp 8 có bắt buộc phải mua bảo hiểm y tế không, mà nếu mua thì một năm hết "
                          "bao nhiêu tiền", Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hssv-bat-buoc")
    assert reply.choices[0].entry_id == "hssv-muc-dong", [c.entry_id for c in reply.choices]
    # a second question that names its product keeps it
    reply = engine.answer("bhyt học sinh có bắt buộc không ạ, với lại bhyt hộ gia đình một người bao nhiêu tiền", Turn(),
                          day=DAY)
    assert reply.choices and reply.choices[0].entry_id == "hgd-muc-dong", (reply.entry_id, [c.entry_id for c in reply.choices])


def test_a_letter_telling_of_calls_is_not_a_request_for_a_person_and_asking_to_be_called_back_is(engine):
    """A handoff phrase that normalising shortens ("gọi lại cho tôi" -> "goi lai cho") counts in a letter only as
    written: a letter telling that someone called ("có người gọi cho mẹ tôi", "số đó còn gọi lại") asks its question;
    one that asks to be called back, and a short chat message in any spelling, still go to staff."""
    told = ("Kính gửi BHXH tỉnh. Mẹ tôi năm nay 68 tuổi, tuần trước có người gọi cho mẹ tôi xưng là cán bộ bảo hiểm, "
            "bảo phải chuyển khoản 2 triệu để cập nhật thẻ, sau đó số đó còn gọi lại mấy lần nữa. Xin hỏi số tổng đài "
            "chính thức của ngành BHXH là số nào để gia đình tôi gọi hỏi cho đúng?")
    reply = engine.answer(told, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "chung-lien-he")
    asked = ("Kính gửi cơ quan. Tôi năm nay 72 tuổi, mắt kém, nhắn tin chậm, con cháu đi làm xa cả, chuyện của tôi về "
             "sổ bảo hiểm dài lắm kể không hết được, nhờ anh chị gọi lại cho tôi theo số này với ạ")
    for text in (asked, "gọi lại cho em với ạ", "ad goi lai giup e"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text


def test_a_word_that_folds_into_a_stopword_does_not_make_a_request_for_a_person(engine):
    """Folded, "bán" (sell) is the stopword "bạn" (you), which left the handoff phrase "có ai không" in a question
    where to buy a card; typed with its marks it is a question, while asking whether anyone is there, or saying that
    no automatic answer is wanted, asks for a person."""
    text = "Nhà tui ở tận Sơn Hòa, lên Tuy Hòa mua thẻ bảo hiểm y tế xa quá, ở xã có ai bán hông, mua ở mô?"
    reply = engine.answer(text, Turn(), day=DAY)
    assert (reply.outcome, reply.entry_id) == (ANSWERED, "hgd-mua-o-dau")
    for text in ("có ai giúp em không", "bạn ơi có ai không",
                 "Tôi cần cán bộ nghiệp vụ kiểm tra hồ sơ của tôi, không cần trả lời tự động.",
                 "ko cần máy trả lời đâu ạ"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text


def test_giving_up_on_the_machine_or_asking_someone_to_look_at_ones_file_asks_for_a_person(engine):
    """"thôi bot ko giúp được đâu, để người làm đi" got the goodbye and "ai đó xem hộ tôi cái hồ sơ với" went to staff as
    not sure; both ask for a person. A question who reviews a dossier, or one about letting a relative do the
    paperwork, asks nothing of staff."""
    for text in ("thôi bot ko giúp được đâu, để người làm đi", "ai đó xem hộ tôi cái hồ sơ với, tôi gửi ảnh rồi đấy",
                 "bot này không trả lời được câu của em", "để cán bộ xử lý giúp em nhé",
                 # "coi", the southern and central "xem" (final61, read after its run)
                 "nhờ cô chú cán bộ coi giúp trường hợp của con, rắc rối lắm", "ai coi giùm em cái hồ sơ với"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text
    for text in ("ai xem hồ sơ rút bhxh 1 lần ở đâu", "để người nhà làm thủ tục rút bhxh 1 lần thì cần giấy gì"):
        assert engine.answer(text, Turn(), day=DAY).outcome != HANDOFF, text


def test_refusing_the_machine_asking_for_the_admin_or_someone_to_look_at_ones_file_asks_for_a_person(engine):
    """Read after `final62` and `final63` ran: "…máy thì e k hỏi nữa" says the writer wants a person if a machine answers
    (the question alone, who answers, still gets the greeting); "gặp admin" asks for the page's admin (all its words are
    small-talk words once "admin" is normalised); "nhờ ai đó xem hồ sơ giúp" puts the dossier before "giúp"."""
    for text in ("bạn là máy hay người vậy, nếu là máy thì tôi không hỏi nữa", "ad là bot à, bot thì thôi",
                 "gặp admin", "cho em gặp ad với ạ", "nhờ ai đó xem hồ sơ giúp em với, em không biết làm sao",
                 "có ai coi trường hợp của tui giùm không"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text
    for text in ("ad là người hay máy thế", "đây là máy trả lời tự động à"):
        reply = engine.answer(text, Turn(), day=DAY)
        assert (reply.outcome, reply.reason) == (SMALLTALK, "greeting"), text
    # read after `final64` ran: someone addressed as "chị nào đó" to look at one's case, an officer to consider it,
    # asking a person at the office or privately, said last
    for text in ("nhờ chị nào đó coi giùm trường hợp của mẹ em với, mẹ em già rồi", "em cần một cán bộ xem xét hồ sơ giúp",
                 "máy trả lời thì tôi không tin, cho tôi hỏi người ở cơ quan", "có anh chị nào trực không, cho em hỏi riêng"):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text
    # what an officer did, and a question put to an officer, ask nothing of staff
    for text in ("cán bộ xem xét hồ sơ của tôi rồi bảo thiếu giấy, giờ bổ sung ở đâu",
                 "cho em hỏi cán bộ về thủ tục rút bhxh một lần"):
        assert engine.answer(text, Turn(), day=DAY).outcome != HANDOFF, text
    # a machine in a story is not the assistant ("máy thì em không biết dùng": a phone)
    reply = engine.answer("con em đóng giúp qua vssid chứ máy thì em không biết dùng, vậy đóng ở bưu điện được không",
                          Turn(), day=DAY)
    assert reply.outcome != HANDOFF


def test_asking_the_office_to_assign_an_officer_asks_for_a_person_at_any_length(engine):
    """A formal request that the office assign an officer ("đề nghị cơ quan cử/bố trí một cán bộ …") asks for a person,
    a letter's too: long messages were read only against the handoff phrases, so a letter that ended so went to staff
    as an unsure question. Asking privately ("hỏi riêng") asks for a person anywhere in a short message. Read on
    training lines a new author wrote on 07/12/2026 (fifth session), which did not enter training; over every labelled
    message only requests for a person say either. Whether anyone is there to talk or answer ("có ai giải đáp được
    ko") was read after `final66` ran."""
    letter = ("Kính gửi quý cơ quan. Tôi năm nay 67 tuổi, trước làm ở hợp tác xã rồi ở công ty gạch, sổ bảo hiểm thất "
              "lạc hai lần, giấy tờ mỗi nơi ghi một kiểu nên tôi không biết mình còn quyền lợi gì. Kính mong quý cơ quan "
              "sắp xếp một cán bộ xem hồ sơ của tôi và hẹn ngày để tôi mang giấy tờ lên. Xin cảm ơn.")
    for text in (letter, "Đề nghị cơ quan phân công một chuyên viên gọi lại cho tôi, nhắn tin tôi không rành",
                 "ad ơi cho tui hỏi riêng cán bộ một chút được hông",
                 "em muốn hỏi riêng anh chị ở cơ quan, chuyện nhà em khó nói",
                 # whether anyone is there to talk or answer (read after `final66` ran)
                 "có ai giải đáp được ko vậy", "em ko rành mấy cái app này, có ai nói chuyện với em được không",
                 # an officer asked to consider one's dossier, at a letter's length (read after `final71` ran)
                 "Kính nhờ anh chị cán bộ xem xét giúp hồ sơ của gia đình tôi, tôi đã nhắn nhiều lần mà chỉ nhận được "
                 "trả lời tự động."):
        assert engine.answer(text, Turn(), day=DAY).outcome == HANDOFF, text
    # what the office did ("đã cử cán bộ về xã") or was asked before, and a letter that will ask something else
    # privately, ask no person
    for text in ("Năm ngoái BHXH đã cử cán bộ về xã tuyên truyền, cho tôi hỏi đóng bhxh tự nguyện thấp nhất bao nhiêu một tháng",
                 "Tháng trước tôi đã đề nghị cơ quan cử cán bộ về xã hướng dẫn bà con, nay cho tôi hỏi đóng bhxh tự "
                 "nguyện thấp nhất bao nhiêu một tháng",
                 "Chào ad, chồng tôi sinh tháng 3 năm 1966, đóng tự nguyện đã đủ 15 năm. Chúng tôi muốn biết năm nào thì "
                 "ông ấy đủ tuổi nghỉ hưu, còn chuyện giấy tờ thì tôi sẽ hỏi riêng sau.",
                 "Năm ngoái tôi đã nhờ cán bộ xem hồ sơ rút bhxh 1 lần của tôi, họ nói tôi chưa đủ 12 tháng nghỉ việc. "
                 "Xin hỏi tôi nghỉ việc từ tháng 3/2024 thì bao giờ được rút?"):
        assert engine.answer(text, Turn(), day=DAY).outcome != HANDOFF, text


def test_suggestions_under_an_escalation_are_picked_but_not_a_topic_to_go_on_in(engine):
    """An escalation's suggestions are guesses: a number picks one, but a message that picks none is not read as
    going on in their topic, as it is after a clarifying question of one topic (here the message would get the
    record lookup; read on its own with the earlier message, it goes to staff, as before the suggestions)."""
    first = "em làm ở xưởng may Hòn La, công ty có đóng bhxh cho em. chồng em đi biển thì chưa có chi hết"
    escalated = engine.answer(first, Turn(), day=DAY)
    assert escalated.outcome == ESCALATED and escalated.choices, (escalated.outcome, escalated.choices)
    turn = escalated.next_turn(first)
    assert turn.suggested and turn.entry_id is None
    text = "rứa cái em đang đóng với cái chồng em nếu đi đóng thì khác nhau chỗ mô"
    reply = engine.answer(text, turn, day=DAY)
    assert reply.outcome == ESCALATED, (reply.outcome, reply.entry_id)
    as_clarify = engine.answer(text, Turn(text=first, choices=turn.choices), day=DAY)
    assert as_clarify.outcome == ANSWERED and as_clarify.entry_id == "chung-tra-cuu"
    picked = engine.answer("1", turn, day=DAY)
    assert (picked.outcome, picked.entry_id) == (ANSWERED, turn.choices[0])
