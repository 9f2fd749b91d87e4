"""Zalo Official Account: webhook (OA, URL check, verify, parse), render, send, refresh token (Open API v3,
OAuth v4).

Protocol facts and sources: ../shared/channels.md §2.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from typing import Any

import httpx

from webhooks.base import (
    FEEDBACK_TITLES,
    Channel,
    ChannelError,
    EventKind,
    Host,
    InboundEvent,
    OAuthError,
    OutgoingMessage,
    SendResult,
    TokenPair,
    TokenSource,
    checked_parse,
    http_failure,
    json_object,
    read_json,
    split_text,
    transport_failure,
)

NAME = "zalo"
TOKEN_ERRORS = {-216, -220, -124}
WINDOW_ERRORS = {-230, -232}
PERMANENT_ERRORS = {-213, -227, -211, -201, -224, -223, -240, -305, -311} | WINDOW_ERRORS
TRANSIENT_ERRORS = {-32}


def signature(app_id: str, raw: bytes, timestamp: str, oa_secret_key: str) -> str:
    """mac = sha256(app_id + raw body + body timestamp + OA secret key), hex (not an HMAC)."""
    digest = hashlib.sha256(app_id.encode() + raw + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return "mac=" + digest


class ZaloChannel(Channel):
    name = NAME
    path = "zalo"
    account_label = "OA"
    account_field = "zalo_oa_id"
    setup_hint = ("set ZALO_APP_ID and ZALO_OA_SECRET_KEY (and ZALO_APP_SECRET, ZALO_ACCESS_TOKEN, ZALO_REFRESH_TOKEN "
                  "to reply)")

    def __init__(self, settings: Any, tokens: TokenSource | None = None, client: httpx.Client | None = None,
                 creds: Any = None) -> None:
        # zalo_app_id, zalo_oa_secret_key, zalo_app_secret: one province's (app.provinces.Province) or the settings'
        super().__init__(settings, creds)
        self.tokens = tokens
        self.client = client or httpx.Client(timeout=settings.http_timeout_seconds)

    @classmethod
    def build(cls, host: Host, province: Any) -> ZaloChannel:
        """With the province's token pair, stored under "zalo" (the default province) or "zalo:<province>"
        and seeded once from its configured tokens."""
        channel = cls(host.settings, creds=province)
        key = NAME if province.code == "default" else f"{NAME}:{province.code}"
        tokens = host.stored_tokens(key, channel.refresh_tokens)
        tokens.seed(province.zalo_access_token, province.zalo_refresh_token)
        channel.tokens = tokens
        return channel

    @property
    def enabled(self) -> bool:
        return self.creds.zalo_enabled

    @staticmethod
    def account(raw: bytes) -> str:
        """The OA an event belongs to, read before the signature is checked (to pick the province's key):
        `oa_id` where the event has it, else the sender of an OA's own message (oa_send_*), else the
        recipient of a user's message. "" when the body says nothing."""
        try:
            body = read_json(raw)
        except ChannelError:
            return ""
        if not isinstance(body, dict):
            return ""
        if body.get("oa_id"):
            return str(body["oa_id"])
        side = "sender" if str(body.get("event_name") or "").startswith("oa_send_") else "recipient"
        party = body.get(side)
        return str(party.get("id") or "") if isinstance(party, dict) else ""

    @staticmethod
    def accounts(raw: bytes) -> list[str]:
        """Zalo sends one OA's event per request."""
        return [ZaloChannel.account(raw)]

    @staticmethod
    def url_check(raw: bytes, headers: Mapping[str, str]) -> bool:
        """Zalo's unsigned check when the webhook URL is saved: an empty body or "{}"."""
        return "x-zevent-signature" not in headers and raw.strip() in (b"", b"{}")

    # --- inbound ---------------------------------------------------------------------

    def verify(self, raw: bytes, headers: dict[str, str]) -> bool:
        given = headers.get("x-zevent-signature", "")
        if not given:
            return False
        try:
            body = read_json(raw)
        except ChannelError:  # Zalo signs with the body's timestamp: a body that is not JSON cannot be genuine
            return False
        timestamp = str(body.get("timestamp", "")) if isinstance(body, dict) else ""
        candidates = [timestamp]
        if headers.get("x-zevent-timestamp"):  # some senders use a header; the body value comes first
            candidates.append(headers["x-zevent-timestamp"])
        s = self.creds
        return any(
            hmac.compare_digest(given.encode(), signature(s.zalo_app_id, raw, ts, s.zalo_oa_secret_key).encode())
            for ts in candidates if ts
        )

    @checked_parse
    def parse(self, raw: bytes) -> list[InboundEvent]:
        body = read_json(raw)
        if not isinstance(body, dict):
            raise ChannelError("body must be a JSON object")
        name = str(body.get("event_name") or "")
        if not name:
            raise ChannelError("missing event_name")
        ts = str(body.get("timestamp") or "0")
        ts_ms = int(ts) if ts.isdigit() else 0
        sender = json_object(body.get("sender"))
        recipient = json_object(body.get("recipient"))
        message = json_object(body.get("message"))
        msg_id = str(message.get("msg_id") or "") or None

        def event(kind: EventKind, user: str, **kw) -> InboundEvent:
            key = msg_id or f"{name}:{user}:{ts}"
            return InboundEvent(channel=NAME, dedupe_key=key, kind=kind, user_id=user, timestamp_ms=ts_ms,
                                platform_message_id=msg_id, raw=body, **kw)

        if name == "user_send_text":
            user = str(sender.get("id") or "")
            if not user:
                raise ChannelError("user_send_text without sender.id")
            return [event(EventKind.TEXT, user, text=str(message.get("text") or ""))]
        if name.startswith("user_send_"):
            return [event(EventKind.NON_TEXT, str(sender.get("id") or ""), text=str(message.get("text") or ""))]
        if name in ("follow", "user_click_chatnow"):
            follower = json_object(body.get("follower"))
            user = str(follower.get("id") or body.get("user_id") or "")
            return [event(EventKind.FOLLOW, user)] if user else []
        if name.startswith("oa_send_"):
            user = str(recipient.get("id") or "")
            staff = sender.get("admin_id")
            kind = EventKind.STAFF_ECHO if staff else EventKind.OWN_ECHO
            # our own send: the platform's send time (payload "ts:<ms>") bounds the match by text
            return [event(kind, user, text=str(message.get("text") or ""), staff_id=str(staff) if staff else None,
                          payload=None if staff else f"ts:{ts_ms}")]
        return [event(EventKind.IGNORED, str(sender.get("id") or body.get("user_id") or ""))]

    # --- outbound --------------------------------------------------------------------

    def render(self, message: OutgoingMessage) -> list[dict[str, Any]]:
        """Plain text; choices as numbered options the citizen answers with a digit."""
        text = message.text
        if message.choices:
            lines = [message.choices_prompt] if message.choices_prompt else []
            lines += [f"{i}. {c.title}" for i, c in enumerate(message.choices, 1)]
            text = (text + "\n\n" if text else "") + "\n".join(lines)
        if message.feedback:
            text += "\n\nCâu trả lời có giúp được bạn không? Nhắn: " + " / ".join(FEEDBACK_TITLES.values())
        return [{"text": part} for part in split_text(unicodedata.normalize("NFC", text))]

    def send(self, recipient: str, payload: dict[str, Any], *, tag: str | None = None,
             reply_to: str | None = None, ref: str | None = None) -> SendResult:
        """Zalo's CS message has no field that comes back on the echo: `ref` is not sent (the echo is
        matched by recipient and text instead)."""
        if self.tokens is None:
            return SendResult(ok=False, error_code="no_token", error_message="Zalo access token is not configured")
        token = self.tokens.access_token()
        result = self._post(token, recipient, payload, reply_to)
        if result.token_expired:
            try:
                token = self.tokens.refresh(token)
            except OAuthError as exc:
                return SendResult(ok=False, error_code="refresh_failed", error_message=str(exc), transient=True)
            result = self._post(token, recipient, payload, reply_to)
        return result

    def _post(self, token: str, recipient: str, payload: dict[str, Any], reply_to: str | None) -> SendResult:
        message: dict[str, Any] = {"text": payload["text"]}
        if reply_to:
            message["quote_message_id"] = reply_to
        url = f"{self.settings.zalo_api_base}/v3.0/oa/message/cs"
        try:
            r = self.client.post(url, headers={"access_token": token},
                                 json={"recipient": {"user_id": recipient}, "message": message})
        except httpx.HTTPError as exc:
            return transport_failure("Zalo", exc)
        if r.status_code >= 500 or r.status_code == 429:
            return SendResult(ok=False, error_code=f"http_{r.status_code}", error_message=http_failure("Zalo", r),
                              transient=True, in_doubt=r.status_code == 504)
        try:
            body = r.json()
        except ValueError:
            return SendResult(ok=False, error_code=f"http_{r.status_code}", error_message=http_failure("Zalo", r),
                              transient=True)
        code = body.get("error", -1) if isinstance(body, dict) else -1
        if code == 0:
            data = body.get("data") or {}
            return SendResult(ok=True, platform_message_id=str(data.get("message_id") or "") or None)
        text = str(body.get("message") or "")
        return SendResult(
            ok=False, error_code=str(code), error_message=text, token_expired=code in TOKEN_ERRORS,
            transient=code in TRANSIENT_ERRORS or code in TOKEN_ERRORS or code not in PERMANENT_ERRORS,
            window_closed=code in WINDOW_ERRORS,
        )

    def refresh_tokens(self, refresh_token: str) -> TokenPair:
        """Exchange the single-use refresh token for a new pair (the old one dies at once)."""
        c = self.creds
        try:
            r = self.client.post(
                f"{self.settings.zalo_oauth_base}/v4/oa/access_token",
                headers={"secret_key": c.zalo_app_secret},
                data={"refresh_token": refresh_token, "app_id": c.zalo_app_id, "grant_type": "refresh_token"},
            )
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OAuthError(f"token refresh failed: {exc}") from exc
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            detail = body.get("error_description") or body.get("error_name") or body if isinstance(body, dict) else body
            raise OAuthError(f"token refresh refused: {detail}")
        return TokenPair(str(body["access_token"]), str(body["refresh_token"]), int(str(body.get("expires_in") or 90000)))
