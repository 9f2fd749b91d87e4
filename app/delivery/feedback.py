"""A citizen's "Hữu ích" / "Chưa đúng" about the bot's latest answer (the buttons, or the words typed)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app import models
from app.engine import ANSWERED
from app.models import Direction
from app.text import fold
from webhooks.base import FEEDBACK_HELPFUL, FEEDBACK_WRONG, EventKind

_FEEDBACK_WORDS = {"huu ich": True, "chua dung": False}
THANKS_HELPFUL = "Cảm ơn bạn đã góp ý!"
THANKS_WRONG = ("Cảm ơn bạn đã góp ý. Bạn có thể nhắn lại câu hỏi chi tiết hơn, hoặc nhắn \"gặp cán bộ\" "
                "để được cán bộ trả lời.")
# after "Chưa đúng": the entries that came next for the question that was answered, the right one most often among them
ALTERNATIVES_PROMPT = "Hay bạn muốn hỏi một trong các nội dung dưới đây? Bạn chọn hoặc nhắn số thứ tự giúp tôi nhé:"


def feedback_of(record: models.InboundRecord) -> bool | None:
    """True for "Hữu ích", False for "Chưa đúng", None when the event is not feedback."""
    if record.payload in (FEEDBACK_HELPFUL, FEEDBACK_WRONG):
        return record.payload == FEEDBACK_HELPFUL
    if record.kind == EventKind.TEXT:
        return _FEEDBACK_WORDS.get(" ".join(fold(record.text).split()).strip(" .!"))
    return None


def last_answered(session: Session, conv_id: int) -> models.Message | None:
    """The citizen's latest message, if the bot answered it: what feedback is about."""
    last = session.exec(select(models.Message)
                        .where(models.Message.conversation_id == conv_id, models.Message.direction == Direction.IN)
                        .order_by(col(models.Message.id).desc()).limit(1)).first()
    return last if last is not None and last.outcome == ANSWERED else None
