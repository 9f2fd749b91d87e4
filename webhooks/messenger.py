"""Facebook Page (Messenger Platform): webhook (pages, handshake, verify, parse), render, send.

Protocol facts and sources: ../shared/channels.md §1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from webhooks.base import (
    ASK_STAFF,
    ASK_STAFF_TITLE,
    FEEDBACK_HELPFUL,
    FEEDBACK_TITLES,
    FEEDBACK_WRONG,
    Channel,
    ChannelError,
    EventKind,
    InboundEvent,
    OutgoingMessage,
    SendResult,
    checked_parse,
    http_failure,
    json_object,
    read_json,
    split_text,
    transport_failure,
)

NAME = "messenger"
MAX_QUICK_REPLIES = 13
TITLE_LIMIT = 20
TRANSIENT_CODES = {1, 2, 4, 17, 32, 613, 80006}
TOKEN_CODES = {190}
WINDOW_SUBCODES = {2018278, 2534022}


def signature(app_secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


class MessengerChannel(Channel):
    name = NAME
    path = "facebook"
    account_label = "page"
    account_field = "fb_page_id"
    setup_hint = "set FB_APP_SECRET and FB_PAGE_ACCESS_TOKEN (and FB_VERIFY_TOKEN for the handshake)"
    handshake_params = ("hub.mode", "hub.verify_token", "hub.challenge")

    def __init__(self, settings: Any, client: httpx.Client | None = None, creds: Any = None) -> None:
        # Graph base, version and timeouts; fb_app_id, fb_app_secret, fb_page_access_token: one province's
        # (app.provinces.Province) or the settings'
        super().__init__(settings, creds)
        self.client = client or httpx.Client(timeout=settings.http_timeout_seconds)

    @property
    def enabled(self) -> bool:
        return self.creds.messenger_enabled

    @staticmethod
    def accounts(raw: bytes) -> list[str]:
        """The pages (entry[].id) a notification is about, read before the signature is checked."""
        try:
            body = read_json(raw)
        except ChannelError:
            return []
        entries = body.get("entry") if isinstance(body, dict) else None
        return [str(e.get("id") or "") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    @staticmethod
    def entries(raw: bytes) -> list[tuple[str, Any]]:
        """A notification batches events of several pages: its entries, each with its page (entry.id)."""
        try:
            body = read_json(raw)
        except ChannelError:
            return []
        entries = body.get("entry") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            return []
        return [(str(e.get("id") or "") if isinstance(e, dict) else "", e) for e in entries]

    @staticmethod
    def with_entries(raw: bytes, entries: list[Any]) -> bytes:
        return json.dumps(dict(read_json(raw), entry=entries)).encode()

    @classmethod
    def handshake(cls, settings: Any, query: Mapping[str, str]) -> str | None:
        """Meta's subscription check: hub.challenge back when hub.verify_token is FB_VERIFY_TOKEN."""
        mode, token, challenge = (query.get(name, "") for name in cls.handshake_params)
        expected = settings.fb_verify_token
        if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
            return challenge
        return None

    # --- inbound ---------------------------------------------------------------------

    def verify(self, raw: bytes, headers: dict[str, str]) -> bool:
        given = headers.get("x-hub-signature-256", "")
        if not given:
            return False
        return hmac.compare_digest(given.encode(), signature(self.creds.fb_app_secret, raw).encode())

    @checked_parse
    def parse(self, raw: bytes) -> list[InboundEvent]:
        body = read_json(raw)
        if not isinstance(body, dict) or body.get("object") != "page":
            raise ChannelError("expected an object 'page' notification")
        entries = body.get("entry")
        if not isinstance(entries, list):
            raise ChannelError("missing entry list")
        events: list[InboundEvent] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise ChannelError("entry items must be objects")
            items = entry.get("messaging") or entry.get("standby") or []
            if not items and isinstance(entry.get("changes"), list):  # Graph change form of postbacks
                items = [c.get("value") for c in entry["changes"] if isinstance(c, dict) and isinstance(c.get("value"), dict)]
            for item in items:
                if isinstance(item, dict):
                    events.append(self._event(item))
        return events

    def _event(self, item: dict[str, Any]) -> InboundEvent:
        sender = str((item.get("sender") or {}).get("id") or "")
        recipient = str((item.get("recipient") or {}).get("id") or "")
        ts = int(str(item.get("timestamp") or 0)) if str(item.get("timestamp") or "0").isdigit() else 0
        message = item.get("message") if isinstance(item.get("message"), dict) else None
        if message is not None:
            mid = str(message.get("mid") or "") or None
            if message.get("is_echo"):
                ours = str(message.get("app_id") or "") == str(self.creds.fb_app_id) and bool(self.creds.fb_app_id)
                ours = ours or str(message.get("metadata") or "").startswith("bhxh:")
                # our own echo keeps the metadata we sent ("bhxh:bot:123"): it names the outbox row
                kind = EventKind.OWN_ECHO if ours else EventKind.STAFF_ECHO
                return InboundEvent(NAME, mid or f"echo:{recipient}:{ts}", kind, recipient,
                                    text=str(message.get("text") or ""), timestamp_ms=ts, platform_message_id=mid,
                                    staff_id=None if ours else "page_inbox", raw=item,
                                    payload=str(message.get("metadata") or "")[:300] or None if ours else None)
            quick = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) else {}
            text = str(message.get("text") or "")
            if not text and not quick and message.get("attachments"):
                return InboundEvent(NAME, mid or f"att:{sender}:{ts}", EventKind.NON_TEXT, sender, timestamp_ms=ts,
                                    platform_message_id=mid, raw=item)
            return InboundEvent(NAME, mid or f"msg:{sender}:{ts}", EventKind.TEXT, sender, text=text,
                                payload=str(quick.get("payload")) if quick.get("payload") else None, timestamp_ms=ts,
                                platform_message_id=mid, raw=item)
        postback = item.get("postback") if isinstance(item.get("postback"), dict) else None
        if postback is not None:
            mid = str(postback.get("mid") or "") or None
            payload = str(postback.get("payload") or "")
            kind = EventKind.FOLLOW if payload.upper() in ("GET_STARTED", "GET_STARTED_PAYLOAD") else EventKind.TEXT
            return InboundEvent(NAME, mid or f"postback:{sender}:{ts}:{payload}", kind, sender,
                                text=str(postback.get("title") or ""), payload=payload or None, timestamp_ms=ts,
                                platform_message_id=mid, raw=item)
        what = "delivery" if "delivery" in item else "read" if "read" in item else "other"
        return InboundEvent(NAME, f"{what}:{sender}:{ts}", EventKind.IGNORED, sender, timestamp_ms=ts, raw=item)

    # --- outbound --------------------------------------------------------------------

    def render(self, message: OutgoingMessage) -> list[dict[str, Any]]:
        """Text parts; choices, feedback and the button that asks for staff as quick replies on the last part."""
        quick = [{"content_type": "text", "title": c.short_title[:TITLE_LIMIT], "payload": c.payload[:1000]}
                 for c in message.choices]
        if message.feedback:
            quick += [{"content_type": "text", "title": title, "payload": payload}
                      for payload, title in FEEDBACK_TITLES.items() if payload in (FEEDBACK_HELPFUL, FEEDBACK_WRONG)]
        if message.offer_staff:
            quick.append({"content_type": "text", "title": ASK_STAFF_TITLE, "payload": ASK_STAFF})
        quick = quick[:MAX_QUICK_REPLIES]
        text = message.text
        if message.choices and message.choices_prompt:
            text = (text + "\n\n" if text else "") + message.choices_prompt
            if any(len(c.title) > TITLE_LIMIT for c in message.choices):  # full titles, since buttons are cut short
                text += "\n" + "\n".join(f"- {c.title}" for c in message.choices)
        parts: list[dict[str, Any]] = [{"text": p} for p in split_text(text)]
        if parts and quick:
            parts[-1]["quick_replies"] = quick
        return parts

    def send(self, recipient: str, payload: dict[str, Any], *, tag: str | None = None,
             reply_to: str | None = None, ref: str | None = None) -> SendResult:
        """`ref` goes in `metadata` ("bhxh:<ref>"), which Meta returns on the message echo: the echo
        names the outbox row it confirms, even when this call's answer never arrived."""
        s = self.settings
        metadata = f"bhxh:{ref}" if ref else ("bhxh:bot" if tag is None else "bhxh:staff")
        message: dict[str, Any] = {"text": payload["text"], "metadata": metadata}
        if payload.get("quick_replies"):
            message["quick_replies"] = payload["quick_replies"]
        body: dict[str, Any] = {"recipient": {"id": recipient}, "message": message}
        if tag:
            body.update(messaging_type="MESSAGE_TAG", tag=tag)
        else:
            body["messaging_type"] = "RESPONSE"
        url = f"{s.fb_graph_base}/{s.fb_graph_version}/me/messages"
        try:
            r = self.client.post(url, params={"access_token": self.creds.fb_page_access_token}, json=body)
        except httpx.HTTPError as exc:
            return transport_failure("Messenger", exc)
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code == 200 and isinstance(data, dict) and data.get("message_id"):
            return SendResult(ok=True, platform_message_id=str(data["message_id"]))
        err = json_object(data.get("error")) if isinstance(data, dict) else {}
        code = int(err.get("code") or 0) if str(err.get("code") or "0").lstrip("-").isdigit() else 0
        sub = int(err.get("error_subcode") or 0) if str(err.get("error_subcode") or "0").isdigit() else 0
        window = code == 10 or sub in WINDOW_SUBCODES
        transient = (r.status_code >= 500 and not err) or code in TRANSIENT_CODES or r.status_code == 429
        return SendResult(ok=False, error_code=str(code or f"http_{r.status_code}"),
                          error_message=str(err.get("message") or "")[:300] or http_failure("Messenger", r),
                          transient=transient and not window, window_closed=window, token_expired=code in TOKEN_CODES,
                          in_doubt=r.status_code == 504 and not err)
