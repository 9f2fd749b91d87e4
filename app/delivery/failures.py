"""Failed sends for staff: why a reply could not be delivered, in Vietnamese, on an open escalation."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app import models
from app.models import EscalationStatus

PLATFORMS = {"zalo": "Zalo", "messenger": "Messenger"}

_ERRORS_VI = {
    "timeout": "nền tảng không trả lời kịp",
    "network": "không kết nối được tới nền tảng",
    "http_429": "nền tảng báo gửi quá nhiều yêu cầu (HTTP 429)",
    "-32": "vượt giới hạn số lần gọi API của nền tảng",
    "4": "vượt giới hạn số lần gọi API của nền tảng",
    "613": "vượt giới hạn số lần gọi API của nền tảng",
    "-227": "người dùng bị khóa hoặc không hoạt động quá 45 ngày",
    "-213": "người dùng chưa quan tâm OA",
    "-211": "OA đã hết hạn mức tin nhắn",
    "-224": "OA cần nâng cấp gói dịch vụ",
    "-223": "OA chưa cấp quyền cho ứng dụng",
    "551": "người này hiện không nhận tin nhắn của trang (đã chặn hoặc tắt nhận tin)",
    "190": "mã truy cập (access token) của trang không hợp lệ hoặc đã hết hạn",
    "-216": "mã truy cập (access token) không hợp lệ",
    "-220": "mã truy cập (access token) đã hết hạn",
    "refresh_failed": "không làm mới được mã truy cập (access token)",
    "no_token": "chưa cấu hình mã truy cập (access token)",
    "-201": "nội dung tin không hợp lệ",
    "100": "nội dung tin không hợp lệ",
    "2018108": "ứng dụng đang ở chế độ phát triển, chỉ nhắn được cho quản trị viên và người thử nghiệm",
    "no_province": "tỉnh của cuộc trò chuyện chưa được cấu hình",
    "error": "lỗi trong ứng dụng khi gửi",
}


def failure_reason(channel: str, code: str | None, window_closed: bool, attempts: int = 0,
                   until_window: bool = False) -> str:
    """Why a reply could not be delivered, for staff: Vietnamese, with the platform's error code and
    never the platform's raw answer (an outage's HTML page stays out of the console)."""
    platform = PLATFORMS.get(channel, channel)
    code = code or "không rõ"
    if window_closed:
        what = "đã hết khung thời gian nhắn tin của nền tảng"
    elif code.startswith("http_") and code[5:].isdigit() and code != "http_429":
        what = f"nền tảng báo lỗi máy chủ (HTTP {code[5:]})"
    else:
        what = _ERRORS_VI.get(code, "nền tảng từ chối tin")
    text = f"Không gửi được tin qua {platform}: {what} (mã lỗi {code})."
    if until_window:
        text += f" Đã thử {attempts} lần cho đến khi hết khung thời gian nhắn tin."
    return text[:200]


def show_failure(session: Session, row: models.OutboxMessage, reason: str) -> None:
    """A reply that can never be delivered goes onto an open escalation, for staff to see: the one it
    answered, else the conversation's open one, else a new one on the conversation's latest message."""
    escalation = session.get(models.Escalation, row.escalation_id) if row.escalation_id else None
    if escalation is None:
        escalation = session.exec(select(models.Escalation).where(
            models.Escalation.conversation_id == row.conversation_id,
            models.Escalation.status == EscalationStatus.OPEN)).first()
    if escalation is None:
        last_in = session.exec(select(models.Message.id).where(models.Message.conversation_id == row.conversation_id)
                               .order_by(col(models.Message.id).desc())).first()
        if last_in is None:
            return
        escalation = models.Escalation(conversation_id=row.conversation_id, message_id=last_in, kind="escalated",
                                       province=row.province)
    escalation.reason = reason[:200]
    session.add(escalation)
    session.flush()
    row.escalation_id = escalation.id
    session.add(row)
