"""Messaging windows: whether a reply may go out now, how, and at what cost.

Measured from the citizen's last inbound message in the conversation
(../shared/channels.md §1.6 and §2.6):
- Messenger: 24 h standard window (RESPONSE); staff only, 24 h - 7 days, with the HUMAN_AGENT
  tag when the page is approved for it; nothing after 7 days.
- Zalo: consultation replies free for 48 h; staff 48 h - 7 days as paid messages; nothing after
  7 days (error -230).
The bot replies only inside the free windows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import overload

from app.models import Author

HOUR = dt.timedelta(hours=1)
FREE = {"messenger": 24 * HOUR, "zalo": 48 * HOUR}
HARD_LIMIT = 7 * 24 * HOUR


@overload
def aware(value: dt.datetime) -> dt.datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: dt.datetime | None) -> dt.datetime | None: ...


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes: they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@dataclass
class WindowDecision:
    allowed: bool
    paid: bool = False
    tag: str | None = None
    reason: str = ""  # Vietnamese, shown to staff when refused
    state: str = "free"  # free | paid | human_agent | closed | unknown
    closes_at: dt.datetime | None = None  # when this state ends


def decide(channel: str, last_inbound_at: dt.datetime | None, now: dt.datetime, author: str,
           human_agent_approved: bool = False) -> WindowDecision:
    if channel not in FREE:  # cli, api: no platform window
        return WindowDecision(True, state="free")
    last = aware(last_inbound_at)
    if last is None:
        return WindowDecision(False, state="unknown", reason="Công dân chưa nhắn tin nào trong cuộc trò chuyện này.")
    age = now - last
    free = FREE[channel]
    if age <= free:
        return WindowDecision(True, state="free", closes_at=last + free)
    if age > HARD_LIMIT:
        return WindowDecision(False, state="closed", closes_at=None,
                              reason="Đã quá 7 ngày kể từ tin nhắn cuối của công dân; nền tảng không cho gửi thêm. "
                                     "Công dân cần nhắn lại trước.")
    if author == Author.BOT:
        return WindowDecision(False, state="closed" if channel == "messenger" else "paid", closes_at=last + HARD_LIMIT,
                              reason="Ngoài khung trả lời miễn phí, trợ lý tự động không gửi tin.")
    if channel == "messenger":
        if human_agent_approved:
            return WindowDecision(True, tag="HUMAN_AGENT", state="human_agent", closes_at=last + HARD_LIMIT)
        return WindowDecision(False, state="closed", closes_at=None,
                              reason="Đã quá 24 giờ; trang chưa được Meta duyệt thẻ HUMAN_AGENT nên không gửi được. "
                                     "Công dân cần nhắn lại trước.")
    return WindowDecision(True, paid=True, state="paid", closes_at=last + HARD_LIMIT)
