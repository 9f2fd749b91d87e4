"""What every channel adapter provides: its webhook (path, accounts, URL check, handshake, verify,
parse) and its replies (render, send).

The core never knows which platform a message came from: it sees `InboundEvent`s
and produces `OutgoingMessage`s; each adapter turns platform bytes into the first
and the second into platform API calls. The adapters are listed in webhooks/registry.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol


class EventKind(StrEnum):
    """What an inbound event means for the conversation (stored in inbound_event.kind)."""

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
    kind: EventKind
    user_id: str  # the citizen's platform id (PSID / Zalo user id)
    text: str = ""
    payload: str | None = None  # quick reply / postback payload
    timestamp_ms: int = 0
    platform_message_id: str | None = None
    staff_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    province: str = "default"  # set by the webhook route from the OA or page the event was sent to


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
    # offer "Gặp cán bộ" where the platform has buttons: the greeting says how to reach staff, and the button sends
    # those words (a request for a person) in one tap
    offer_staff: bool = False


@dataclass
class SendResult:
    ok: bool
    platform_message_id: str | None = None
    error_code: str | None = None
    error_message: str = ""
    transient: bool = False  # worth retrying later
    token_expired: bool = False  # refresh the access token and retry once
    window_closed: bool = False
    # the request may have reached the platform (a read timeout, a connection cut after sending, a
    # gateway timeout): wait for the platform's echo before sending it again
    in_doubt: bool = False


def http_failure(platform: str, response) -> str:
    """A failed HTTP answer described in one line without its body when that is not JSON (an outage's
    HTML page never reaches the logs or the staff console)."""
    kind = (response.headers.get("content-type") or "").split(";")[0].strip() or "no content type"
    try:
        response.json()
    except ValueError:
        return (f"{platform} answered HTTP {response.status_code} with a body that is not JSON "
                f"({kind}, {len(response.content)} bytes)")
    return f"{platform} answered HTTP {response.status_code}: {response.text[:200]}"


def transport_failure(platform: str, exc: Exception) -> SendResult:
    """A send that got no answer. Whether the platform received it is known only when the connection
    was never made; otherwise the send is in doubt."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError | httpx.PoolTimeout):
        return SendResult(ok=False, error_code="network", transient=True,
                          error_message=f"could not connect to {platform}: {type(exc).__name__}")
    if isinstance(exc, httpx.TimeoutException):
        return SendResult(ok=False, error_code="timeout", transient=True, in_doubt=True,
                          error_message=f"{platform} did not answer in time ({type(exc).__name__})")
    return SendResult(ok=False, error_code="network", transient=True, in_doubt=True,
                      error_message=f"the connection to {platform} failed: {type(exc).__name__}: {str(exc)[:200]}")


class ChannelError(ValueError):
    """A webhook body that cannot be understood: answered with 400 and the reason."""


def read_json(raw: bytes) -> Any:
    """A webhook body parsed as JSON, or ChannelError: not JSON, not UTF-8, or nested too deeply for
    the parser (a RecursionError is bad input like any other, never a server error)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise ChannelError(f"body is not JSON: {reason}") from None


# the columns the events are stored in (app.models.InboundRecord)
_ID_LIMITS = {"user_id": 120, "platform_message_id": 200, "staff_id": 120}
_KEY_LIMIT = 250
_NOT_IN_IDS = re.compile(r"[\x00-\x1f\x7f{}\[\]'\"\s]")


def json_object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (a part of a payload missing or of another shape)."""
    return value if isinstance(value, dict) else {}


def clean_text(text: str) -> str:
    """Storable text: NUL bytes dropped (PostgreSQL refuses them), lone UTF-16 surrogates (valid
    JSON escapes, invalid UTF-8) replaced by '?'."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def checked_parse(parse):
    """Wraps a channel's `parse`: a body of an unexpected shape (a list where an object belongs, an
    id that is an object or too long for its column) is a ChannelError (400),
    never a crash and never stored. NUL bytes are dropped from texts (PostgreSQL refuses them)."""

    def wrapper(self, raw: bytes) -> list[InboundEvent]:
        try:
            events = parse(self, raw)
        except ChannelError:
            raise
        except (TypeError, AttributeError, ValueError, KeyError, OverflowError, RecursionError) as exc:
            raise ChannelError(f"unexpected event structure ({type(exc).__name__})") from None
        for event in events:
            for name, limit in _ID_LIMITS.items():
                value = getattr(event, name)
                value = None if value is None else clean_text(value)
                setattr(event, name, value)
                if value is not None and (len(value) > limit or _NOT_IN_IDS.search(value)):
                    raise ChannelError(f"{name} is not a platform id")
            if len(event.dedupe_key) > _KEY_LIMIT or clean_text(event.dedupe_key) != event.dedupe_key:
                event.dedupe_key = "sha256:" + hashlib.sha256(event.dedupe_key.encode("utf-8", "replace")).hexdigest()
            event.text = clean_text(event.text)
            if event.payload is not None:
                event.payload = clean_text(event.payload)
        return events

    wrapper.__doc__ = parse.__doc__
    return wrapper


class OAuthError(RuntimeError):
    """A platform refused to exchange a refresh token."""


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class TokenSource(Protocol):
    def access_token(self) -> str: ...

    def refresh(self, stale_access_token: str) -> str: ...


class TokenStore(TokenSource, Protocol):
    """A token pair kept where every process finds it (app.tokens.StoredTokens)."""

    def seed(self, access_token: str, refresh_token: str) -> None: ...


class Host(Protocol):
    """What the adapters are built from (app.service.Runtime): the settings (API bases, timeouts),
    the provinces whose credentials they use, and a store for the tokens a platform rotates."""

    settings: Any
    provinces: Any  # iterable of credentials with a `code` (app.provinces.Province)

    def stored_tokens(self, key: str, exchange: Callable[[str], TokenPair]) -> TokenStore: ...


class Channel(ABC):
    """One messaging platform: a subclass per platform, listed in webhooks/registry.py, and an
    instance per province holding that province's credentials (`creds`).

    The class says how the platform's webhook is served by the one generic route (app/api.py):
    its path, the accounts (OA, page) a body is for, the unsigned URL check, the GET handshake.
    An instance verifies and parses a body for its province, and renders and sends replies."""

    name: ClassVar[str]  # stored on events, conversations and outbox rows (at most 20 characters)
    path: ClassVar[str]  # its webhook: POST /webhooks/<path>
    account_label: ClassVar[str] = "account"  # what a log line calls the account a webhook is for ("OA", "page")
    # the attribute of a province (app.provinces.Province) that holds the province's account id on this
    # platform, by which a webhook is routed when there are several provinces; "" routes nothing there
    account_field: ClassVar[str] = ""
    setup_hint: ClassVar[str] = ""  # which settings enable it: said on a 503 and in the start-up warning
    # the query parameters of the platform's GET handshake (a GET route only when there are some)
    handshake_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Any, creds: Any = None) -> None:
        self.settings = settings  # API bases and timeouts
        self.creds = creds or settings  # one province's credentials (app.provinces.Province) or the settings'

    @classmethod
    def build(cls, host: Host, province: Any) -> Channel:
        """This platform's channel for `province`."""
        return cls(host.settings, creds=province)

    @property
    @abstractmethod
    def enabled(self) -> bool: ...

    # --- the webhook, before the signature is checked (class level) -------------------

    @staticmethod
    def accounts(raw: bytes) -> list[str]:
        """The accounts (OA, page) the body is for, to pick the province whose key verifies it; [] when
        the body says none."""
        return []

    @staticmethod
    def entries(raw: bytes) -> list[tuple[str, Any]] | None:
        """For a platform that batches several accounts' events in one notification: its entries, each
        with its account ("" when it names none), [] when there are none to read. None (the default):
        one account's events per request."""
        return None

    @staticmethod
    def with_entries(raw: bytes, entries: list[Any]) -> bytes:
        """The notification holding only `entries` (some of what `entries(raw)` returned)."""
        return raw

    @staticmethod
    def url_check(raw: bytes, headers: Mapping[str, str]) -> bool:
        """Whether this is the unsigned request a platform sends when the webhook URL is saved: answered
        200 {"ok": true} and otherwise ignored. `headers` have lower-case names."""
        return False

    @classmethod
    def handshake(cls, settings: Any, query: Mapping[str, str]) -> str | None:
        """The answer to the GET handshake (`handshake_params`), or None to refuse it (403)."""
        return None

    # --- the webhook, for one province ------------------------------------------------

    @abstractmethod
    def verify(self, raw: bytes, headers: dict[str, str]) -> bool:
        """The signature on the raw bytes, constant-time; `headers` have lower-case names."""

    @abstractmethod
    def parse(self, raw: bytes) -> list[InboundEvent]:
        """The body's events (wrap it in `checked_parse`); ChannelError for a body that cannot be understood."""

    # --- replies ----------------------------------------------------------------------

    @abstractmethod
    def render(self, message: OutgoingMessage) -> list[dict[str, Any]]: ...

    @abstractmethod
    def send(self, recipient: str, payload: dict[str, Any], *, tag: str | None = None,
             reply_to: str | None = None, ref: str | None = None) -> SendResult:
        """`ref`: the outbox row's reference ("bot:123"), sent where the platform echoes it back."""


FEEDBACK_HELPFUL = "FEEDBACK_HELPFUL"
FEEDBACK_WRONG = "FEEDBACK_WRONG"
FEEDBACK_TITLES = {FEEDBACK_HELPFUL: "Hữu ích", FEEDBACK_WRONG: "Chưa đúng"}
# the button that asks for a person: tapped, Messenger sends its title as the citizen's text, a handoff phrase
ASK_STAFF = "ASK_STAFF"
ASK_STAFF_TITLE = "Gặp cán bộ"


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
