"""What every channel adapter provides: verify, parse, render, send.

The core never knows which platform a message came from: it sees `InboundEvent`s
and produces `OutgoingMessage`s; each adapter turns platform bytes into the first
and the second into platform API calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

# What an inbound event means for the conversation
TEXT = "text"  # the citizen wrote (or tapped a quick reply / postback carrying `payload`)
NON_TEXT = "non_text"  # image, sticker, file, location...: asked to type instead
FOLLOW = "follow"  # followed the OA / started the chat: welcome
OWN_ECHO = "own_echo"  # the platform's echo of a message we sent
STAFF_ECHO = "staff_echo"  # a person replied from the platform's own inbox: pauses the bot
IGNORED = "ignored"  # delivery, read receipts, unknown events

MESSAGE_LIMIT = 2000


@dataclass
class InboundEvent:
    channel: str
    dedupe_key: str  # platform message id, or a key built from the event when it has none
    kind: str
    user_id: str  # the citizen's platform id (PSID / Zalo user id)
    text: str = ""
    payload: str | None = None  # quick reply / postback payload
    timestamp_ms: int = 0
    platform_message_id: str | None = None
    staff_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Choice:
    title: str  # full title
    short_title: str  # at most 20 characters (Messenger quick reply)
    payload: str  # an entry id, or FEEDBACK_HELPFUL / FEEDBACK_WRONG


@dataclass
class OutgoingMessage:
    text: str
    choices: list[Choice] = field(default_factory=list)
    choices_prompt: str = ""
    feedback: bool = False  # offer "Hữu ích / Chưa đúng" after an answer


@dataclass
class SendResult:
    ok: bool
    platform_message_id: str | None = None
    error_code: str | None = None
    error_message: str = ""
    transient: bool = False  # worth retrying later
    token_expired: bool = False  # refresh the access token and retry once
    window_closed: bool = False


class ChannelError(ValueError):
    """A webhook body that cannot be understood: answered with 400 and the reason."""


class Channel(Protocol):
    name: str

    @property
    def enabled(self) -> bool: ...

    def verify(self, raw: bytes, headers: dict[str, str]) -> bool: ...

    def parse(self, raw: bytes) -> list[InboundEvent]: ...

    def render(self, message: OutgoingMessage) -> list[dict[str, Any]]: ...

    def send(self, recipient: str, payload: dict[str, Any], *, tag: str | None = None,
             reply_to: str | None = None) -> SendResult: ...


FEEDBACK_HELPFUL = "FEEDBACK_HELPFUL"
FEEDBACK_WRONG = "FEEDBACK_WRONG"
FEEDBACK_TITLES = {FEEDBACK_HELPFUL: "Hữu ích", FEEDBACK_WRONG: "Chưa đúng"}


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split into messages of at most `limit` characters, at line breaks, then sentence ends,
    then spaces; lines are never joined differently from the original."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    units: list[str] = []
    for line in text.split("\n"):
        if len(line) <= limit:
            units.append(line)
            continue
        for sentence in re.split(r"(?<=[.!?;:])\s+", line):
            while len(sentence) > limit:
                cut = sentence.rfind(" ", 0, limit)
                cut = cut if cut > 0 else limit
                units.append(sentence[:cut].strip())
                sentence = sentence[cut:].strip()
            units.append(sentence)
    parts: list[str] = []
    current: str | None = None
    for unit in units:
        if current is None:
            current = unit
        elif len(current) + 1 + len(unit) <= limit:
            current = current + "\n" + unit
        else:
            parts.append(current)
            current = unit
    if current is not None:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]
