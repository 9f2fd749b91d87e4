"""A local fake of Zalo OpenAPI, Zalo OAuth and the Meta Graph Send API, plus helpers to play a citizen.

One FastAPI app serves all three platforms on one loopback port, so the service under test points
`zalo_api_base`, `zalo_oauth_base` and `fb_graph_base` at the same URL. Behaviour follows
/work/shared/channels.md (payloads, signatures, errors, token rotation).

    python scripts/fake_platforms.py serve --port 9000 [--echo-zalo-to URL] [--echo-messenger-to URL] ...
    python scripts/fake_platforms.py citizen --app http://127.0.0.1:8000 --fake http://127.0.0.1:9000 \
        --platform zalo --user U1 "Mức đóng BHXH tự nguyện?"
    python scripts/fake_platforms.py citizen --platform messenger --user U1        # interactive

Platform endpoints:
    POST /v3.0/oa/message/cs                  Zalo CS message (header access_token); errors are HTTP 200
    POST /v4/oa/access_token                  Zalo OAuth refresh (header secret_key, form body); rotates tokens
    POST /{version}/me/messages               Messenger Send API (?access_token= or Authorization: Bearer)
    POST /{version}/{page_id}/messages

Control API (JSON): see CONTROL_API below, or GET /_fake/help.

Importable: `create_app(FakeConfig(...))`, `FakePlatformsServer` (runs the fake in a thread), and the
citizen helpers `zalo_user_text`, `zalo_event`, `zalo_signed`, `messenger_text`, `messenger_postback`,
`messenger_echo`, `messenger_delivery`, `messenger_read`, `messenger_signed`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import socket
import sys
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

# --- defaults ------------------------------------------------------------------------------

ZALO_APP_ID = "1234567890123456789"
ZALO_APP_SECRET = "test_app_secret_zalo"
ZALO_OA_ID = "1423847451268726170"
ZALO_OA_SECRET_KEY = "test_oa_secret_key"
FB_APP_ID = "555000111"
FB_APP_SECRET = "test_app_secret"
FB_PAGE_ID = "111111111111111"
FB_PAGE_ACCESS_TOKEN = "fb-page-token"
FB_GRAPH_VERSION = "v25.0"

TEXT_LIMIT = 2000
QUICK_REPLY_LIMIT = 13
QUICK_REPLY_TITLE_LIMIT = 20
PAYLOAD_LIMIT = 1000
METADATA_LIMIT = 1000
ACCEPTED_TAGS = {"HUMAN_AGENT"}
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen", "react", "unreact"}

PLATFORMS = ("zalo", "zalo_oauth", "messenger")
FAIL_MODES = {
    "zalo": {"http500", "timeout", "expired_token", "rate_limit", "outside_window", "blocked", "quota"},
    "zalo_oauth": {"http500", "timeout", "expired_token", "rate_limit"},
    "messenger": {"http500", "timeout", "expired_token", "rate_limit", "outside_window", "blocked"},
}
DEFAULT_TIMEOUT_SLEEP = 12.0  # longer than a 10 s client timeout

# Zalo errors: (error, message), always HTTP 200
ZALO_INVALID_TOKEN = (-216, "Access token is invalid")
ZALO_EXPIRED_TOKEN = (-220, "access_token is expired or removed")
ZALO_ERRORS = {
    "expired_token": ZALO_INVALID_TOKEN,
    "rate_limit": (-32, "Your application/OA reached limit call api"),
    "outside_window": (-230, "User has not interacted with the OA in the past 7 days"),
    "blocked": (-227, "User is banned or has been inactive for more than 45 days"),
    "quota": (-211, "Out of quota"),
}
# Messenger errors: (http status, code, error_subcode, message, type)
FB_INVALID_TOKEN = (400, 190, None, "Invalid OAuth access token.", "OAuthException")
FB_ERRORS = {
    "http500": (500, 2, None, "An unexpected error has occurred. Please retry your request later.", "OAuthException"),
    "expired_token": (400, 190, 463, "Error validating access token: Session has expired.", "OAuthException"),
    "rate_limit": (400, 613, None, "(#613) Calls to this api have exceeded the rate limit.", "OAuthException"),
    "outside_window": (400, 10, 2018278, "(#10) This message is sent outside of allowed window. Learn more about the new "
                       "policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
                       "OAuthException"),
    "blocked": (400, 551, 1545041, "(#551) This person isn't available right now.", "OAuthException"),
}

CONTROL_API = """\
GET  /_fake/health                                   {"ok": true}
GET  /_fake/help                                     this text
GET  /_fake/sent?platform=&recipient=&since=         accepted messages in order (since = minimum seq)
GET  /_fake/requests?platform=&since=                every platform request, incl. rejected ones, with the answer
GET  /_fake/echoes                                   echo webhooks the fake POSTed, with the app's status
GET  /_fake/tokens                                   Zalo token state and refresh counters
GET  /_fake/fail                                     pending injected failures
POST /_fake/fail     {"platform","mode","count"=1,"seconds"?,"deliver"?=false}   queue failures (count 0 clears)
POST /_fake/down     {"platform": zalo|zalo_oauth|messenger|all, "down": true|false}   outage: answers 503
POST /_fake/expire_access_token                      current Zalo access token -> -220 from now on
POST /_fake/config   {"echo_zalo_to","echo_messenger_to","echo_delay","echo_retry_delays","zalo_rps","messenger_rps",
                      "slow_recipients": {"<recipient>": seconds}}   sends to these recipients take that long
POST /_fake/hold     {"platform": zalo|messenger|all, "requests"?: bool, "echoes"?: bool, "recipient"?}
                     requests true: sends (all, or only to `recipient`) wait until /_fake/release;
                     echoes true: echo webhooks wait (false lets them go); `requests` false stops holding new sends
POST /_fake/release  {"platform": zalo|messenger|all, "deliver"?=true, "recipient"?}   held sends go on:
                     processed as usual (deliver) or answered 504 without being processed
GET  /_fake/held                                     held sends and echoes
POST /_fake/staff_reply {"platform","recipient","text","admin_id"?}   echo of a reply typed in the platform inbox
POST /_fake/reset                                    back to the start-up state (records, failures, tokens, config)
"""


@dataclass
class FakeConfig:
    zalo_app_id: str = ZALO_APP_ID
    zalo_app_secret: str = ZALO_APP_SECRET
    zalo_oa_id: str = ZALO_OA_ID
    zalo_oa_secret_key: str = ZALO_OA_SECRET_KEY
    zalo_access_token: str = "zalo-at-0"
    zalo_refresh_token: str = "zalo-rt-0"
    fb_app_id: str = FB_APP_ID
    fb_app_secret: str = FB_APP_SECRET
    fb_page_id: str = FB_PAGE_ID
    fb_page_access_token: str = FB_PAGE_ACCESS_TOKEN
    fb_graph_version: str = FB_GRAPH_VERSION
    zalo_rps: float = 20  # token bucket per second (capacity = one second); 0 = unlimited
    messenger_rps: float = 300
    echo_zalo_to: str | None = None  # e.g. http://127.0.0.1:8000/webhooks/zalo
    echo_messenger_to: str | None = None  # e.g. http://127.0.0.1:8000/webhooks/facebook
    echo_delay: float = 0.05  # seconds between an accepted send and its echo webhook
    # both platforms deliver a webhook again when the app does not answer 200 (Zalo from 30 s, Meta
    # from about 20 s, for hours: channels.md 1.4 and 2.4); here the delays between attempts, shortened
    echo_retry_delays: str = "1,2,4,8,15"
    # more OAs linked to the same Zalo app, each with its own secret key and token pair:
    # [{"oa_id", "oa_secret_key", "access_token", "refresh_token"}]
    zalo_more_oas: list = field(default_factory=list)
    # more Pages of the same Meta app, each with its own page token: [{"page_id", "page_access_token"}]
    fb_more_pages: list = field(default_factory=list)
    # sends to these recipients take this many seconds before they are processed: {"<user id or PSID>": 8.0}
    slow_recipients: dict = field(default_factory=dict)


# --- small helpers ---------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def app_scoped_id(user_id: str) -> str:
    """A stable fake app-scoped id for an OA-scoped user id (Zalo sends both)."""
    n = int(hashlib.sha256(f"uba:{user_id}".encode()).hexdigest()[:16], 16) % 10**18
    return "7" + str(n).zfill(18)


def new_zalo_msg_id() -> str:
    return secrets.token_hex(16)


def new_mid() -> str:
    return "m_" + secrets.token_urlsafe(32)


def fbtrace_id() -> str:
    return secrets.token_urlsafe(8)


def nfc_len(text: str) -> int:
    return len(unicodedata.normalize("NFC", text))


# --- citizen helpers: Zalo ------------------------------------------------------------------------


def zalo_signature(app_id: str, raw: bytes, timestamp: str, oa_secret_key: str) -> str:
    """hex(SHA256(app_id + raw_body + timestamp + oa_secret_key)); plain SHA-256, not HMAC."""
    return hashlib.sha256(app_id.encode() + raw + timestamp.encode() + oa_secret_key.encode()).hexdigest()


def zalo_signed(body: dict, app_id: str = ZALO_APP_ID, oa_secret_key: str = ZALO_OA_SECRET_KEY) -> tuple[bytes, dict[str, str]]:
    """The raw bytes Zalo would POST (compact, UTF-8, unescaped) and its headers."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    timestamp = str(body.get("timestamp", ""))
    return raw, {
        "Content-Type": "application/json",
        "X-ZEvent-Signature": "mac=" + zalo_signature(app_id, raw, timestamp, oa_secret_key),
    }


def zalo_user_text(text: str, user_id: str, msg_id: str | None = None, app_id: str = ZALO_APP_ID,
                   oa_id: str = ZALO_OA_ID, timestamp_ms: int | str | None = None,
                   user_id_by_app: str | None = None, quote_msg_id: str | None = None) -> dict:
    """The `user_send_text` webhook payload (ids and timestamp as strings, key order as Zalo sends it)."""
    message: dict[str, Any] = {"text": text, "msg_id": msg_id or secrets.token_hex(10)}
    if quote_msg_id:
        message["quote_msg_id"] = quote_msg_id
    return {
        "app_id": str(app_id),
        "sender": {"id": str(user_id)},
        "user_id_by_app": user_id_by_app or app_scoped_id(str(user_id)),
        "recipient": {"id": str(oa_id)},
        "event_name": "user_send_text",
        "message": message,
        "timestamp": str(timestamp_ms if timestamp_ms is not None else now_ms()),
    }


_ZALO_ATTACHMENTS = {
    "image": lambda f: {"type": "image", "payload": {"url": f.get("url", "https://photo.example/zalo/img.jpg"),
                                                    "thumbnail": f.get("url", "https://photo.example/zalo/img.jpg")}},
    "gif": lambda f: {"type": "gif", "payload": {"url": f.get("url", "https://photo.example/zalo/a.gif")}},
    "sticker": lambda f: {"type": "sticker", "payload": {"id": f.get("sticker_id", "12345"),
                                                        "url": f.get("url", "https://zalo-api.zadn.vn/sticker/12345")}},
    "audio": lambda f: {"type": "audio", "payload": {"url": f.get("url", "https://voice.example/zalo/a.aac")}},
    "video": lambda f: {"type": "video", "payload": {"url": f.get("url", "https://video.example/zalo/v.mp4")}},
    "file": lambda f: {"type": "file", "payload": {"url": f.get("url", "https://file.example/zalo/f.pdf"),
                                                  "name": f.get("name", "giay-to.pdf"), "size": "12345", "type": "pdf"}},
    "location": lambda f: {"type": "location", "payload": {"coordinates": {"latitude": str(f.get("latitude", "10.7769")),
                                                                          "longitude": str(f.get("longitude", "106.7009"))}}},
    "link": lambda f: {"type": "link", "payload": {"url": f.get("url", "https://example.com"),
                                                  "description": "", "thumbnail": ""}},
}


def zalo_event(event_name: str, user_id: str, **fields: Any) -> dict:
    """A Zalo webhook payload for `event_name` about the citizen `user_id`.

    Recognised keyword fields: app_id, oa_id, timestamp_ms, msg_id, text, admin_id (oa_send_*), user_id_by_app,
    url / sticker_id / name / latitude / longitude (attachments), attachments (explicit list), info (user_submit_info),
    source (follow), quote_msg_id. Anything else is merged into the top level of the payload.
    """
    f = dict(fields)
    app_id = str(f.pop("app_id", ZALO_APP_ID))
    oa_id = str(f.pop("oa_id", ZALO_OA_ID))
    ts = str(f.pop("timestamp_ms", None) or now_ms())
    uba = str(f.pop("user_id_by_app", None) or app_scoped_id(str(user_id)))
    msg_id = f.pop("msg_id", None) or secrets.token_hex(10)
    text = f.pop("text", None)
    admin_id = f.pop("admin_id", None)
    info = f.pop("info", None)
    source = f.pop("source", "oa_profile")
    quote = f.pop("quote_msg_id", None)
    attachments = f.pop("attachments", None)
    att_fields = {k: f.pop(k) for k in ("url", "sticker_id", "name", "latitude", "longitude") if k in f}
    user = str(user_id)

    if event_name in ("follow", "unfollow"):
        body: dict[str, Any] = {"app_id": app_id, "oa_id": oa_id, "follower": {"id": user}, "user_id_by_app": uba,
                                "event_name": event_name, "source": source, "timestamp": ts}
    elif event_name == "user_click_chatnow":
        body = {"event_name": event_name, "app_id": app_id, "oa_id": oa_id, "user_id": user, "user_id_by_app": uba,
                "timestamp": ts}
    elif event_name == "user_submit_info":
        body = {"app_id": app_id, "sender": {"id": user}, "recipient": {"id": oa_id}, "event_name": event_name,
                "timestamp": ts, "info": info or {"name": "Nguyen Van A", "phone": "84912345678"}}
    elif event_name.startswith("oa_send_"):
        sender: dict[str, str] = {"id": oa_id}
        if admin_id:
            sender["admin_id"] = str(admin_id)
        message: dict[str, Any] = {"msg_id": msg_id}
        if text is not None:
            message = {"text": text, "msg_id": msg_id}
        if attachments:
            message["attachments"] = attachments
        body = {"app_id": app_id, "sender": sender, "recipient": {"id": user}, "event_name": event_name,
                "user_id_by_app": uba, "message": message, "timestamp": ts}
    elif event_name in ("user_received_message", "user_seen_message"):
        key = "msg_ids" if event_name == "user_seen_message" else "msg_id"
        body = {"app_id": app_id, "sender": {"id": oa_id}, "recipient": {"id": user}, "event_name": event_name,
                "user_id_by_app": uba, "message": {key: [msg_id] if key == "msg_ids" else msg_id}, "timestamp": ts}
    else:  # user_send_* and anything else a user does
        message = {}
        if text is not None:
            message["text"] = text
        message["msg_id"] = msg_id
        kind = event_name.removeprefix("user_send_")
        if attachments is None and kind in _ZALO_ATTACHMENTS:
            attachments = [_ZALO_ATTACHMENTS[kind](att_fields)]
        if attachments:
            message["attachments"] = attachments
        if quote:
            message["quote_msg_id"] = quote
        body = {"app_id": app_id, "sender": {"id": user}, "user_id_by_app": uba, "recipient": {"id": oa_id},
                "event_name": event_name, "message": message, "timestamp": ts}
    body.update(f)
    return body


# --- citizen helpers: Messenger ---------------------------------------------------------------------


def messenger_signature(app_secret: str, raw: bytes) -> str:
    return hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def messenger_signed(body: dict, app_secret: str = FB_APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """The raw bytes Meta would POST (compact, ASCII-escaped) and its headers (SHA-256 and legacy SHA-1)."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
    return raw, {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + messenger_signature(app_secret, raw),
        "X-Hub-Signature": "sha1=" + hmac.new(app_secret.encode(), raw, hashlib.sha1).hexdigest(),
    }


def _messenger_envelope(event: dict, page_id: str, entry_time_ms: int | None) -> dict:
    return {"object": "page", "entry": [{"id": str(page_id), "time": entry_time_ms or now_ms(), "messaging": [event]}]}


def messenger_text(text: str, psid: str, mid: str | None = None, page_id: str = FB_PAGE_ID,
                   quick_reply_payload: str | None = None, timestamp_ms: int | None = None,
                   entry_time_ms: int | None = None, reply_to_mid: str | None = None) -> dict:
    """A user's text (or tapped quick reply: then `text` is the button title)."""
    message: dict[str, Any] = {"mid": mid or new_mid(), "text": text}
    if quick_reply_payload is not None:
        message["quick_reply"] = {"payload": quick_reply_payload}
    if reply_to_mid:
        message["reply_to"] = {"mid": reply_to_mid}
    event = {"sender": {"id": str(psid)}, "recipient": {"id": str(page_id)}, "timestamp": timestamp_ms or now_ms(),
             "message": message}
    return _messenger_envelope(event, page_id, entry_time_ms)


def messenger_attachment(kind: str, psid: str, url: str = "https://scontent.example/img.jpg", mid: str | None = None,
                         page_id: str = FB_PAGE_ID, timestamp_ms: int | None = None) -> dict:
    """A user's image / audio / video / file / sticker (image with sticker_id) message."""
    att: dict[str, Any] = {"type": "image" if kind == "sticker" else kind, "payload": {"url": url}}
    if kind == "sticker":
        att["payload"]["sticker_id"] = 369239263222822
    event = {"sender": {"id": str(psid)}, "recipient": {"id": str(page_id)}, "timestamp": timestamp_ms or now_ms(),
             "message": {"mid": mid or new_mid(), "attachments": [att]}}
    return _messenger_envelope(event, page_id, None)


def messenger_postback(payload: str, title: str, psid: str, mid: str | None = None, page_id: str = FB_PAGE_ID,
                       timestamp_ms: int | None = None) -> dict:
    event = {"sender": {"id": str(psid)}, "recipient": {"id": str(page_id)}, "timestamp": timestamp_ms or now_ms(),
             "postback": {"mid": mid or new_mid(), "title": title, "payload": payload}}
    return _messenger_envelope(event, page_id, None)


def messenger_echo(text: str, psid: str, app_id: str | None = None, mid: str | None = None, page_id: str = FB_PAGE_ID,
                   metadata: str | None = None, timestamp_ms: int | None = None) -> dict:
    """An echo of a Page message: app_id = your app for your own sends; None (omitted) for a Page Inbox reply."""
    message: dict[str, Any] = {"is_echo": True}
    if app_id is not None:
        message["app_id"] = int(app_id) if str(app_id).isdigit() else app_id
    if metadata is not None:
        message["metadata"] = metadata
    message.update(mid=mid or new_mid(), text=text)
    event = {"sender": {"id": str(page_id)}, "recipient": {"id": str(psid)}, "timestamp": timestamp_ms or now_ms(),
             "message": message}
    return _messenger_envelope(event, page_id, None)


def messenger_delivery(psid: str, mids: list[str] | None = None, watermark: int | None = None,
                       page_id: str = FB_PAGE_ID) -> dict:
    delivery: dict[str, Any] = {}
    if mids:
        delivery["mids"] = list(mids)
    delivery["watermark"] = watermark or now_ms()
    event = {"sender": {"id": str(psid)}, "recipient": {"id": str(page_id)}, "timestamp": now_ms(), "delivery": delivery}
    return _messenger_envelope(event, page_id, None)


def messenger_read(psid: str, watermark: int | None = None, page_id: str = FB_PAGE_ID) -> dict:
    event = {"sender": {"id": str(psid)}, "recipient": {"id": str(page_id)}, "timestamp": now_ms(),
             "read": {"watermark": watermark or now_ms()}}
    return _messenger_envelope(event, page_id, None)


# --- the fake's state -------------------------------------------------------------------------------


class TokenBucket:
    def __init__(self, rate: float):
        self.rate = float(rate)
        self.tokens = float(rate)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FakeState:
    """Everything the fake remembers. Handlers run on one event loop, so no locking is needed."""

    def __init__(self, config: FakeConfig):
        self.initial = replace(config)
        self.echo_tasks: set[asyncio.Task] = set()
        self.reset()

    def reset(self) -> None:
        for task in list(getattr(self, "echo_tasks", ())):
            task.cancel()
        self.echo_tasks = set()
        self.config = replace(self.initial)
        c = self.config
        self.access_token = c.zalo_access_token
        self.refresh_token = c.zalo_refresh_token
        # the other OAs' token pairs, rotated on their own (a refresh token belongs to one OA)
        self.more_oas = {str(o["oa_id"]): {"secret": o["oa_secret_key"], "access": o["access_token"],
                                           "refresh": o["refresh_token"], "generation": 0}
                         for o in c.zalo_more_oas}
        self.generation = 0
        self.superseded_access: set[str] = set()
        self.expired_access: set[str] = set()
        self.burnt_refresh: set[str] = set()
        self.refresh_log: list[dict] = []
        self.refreshes = 0
        self.burnt_reuses = 0
        self.sent: list[dict] = []
        self.requests: list[dict] = []
        self.echoes: list[dict] = []
        self.failures: dict[str, list[dict]] = {p: [] for p in PLATFORMS}
        self.down: set[str] = set()
        self.buckets = {"zalo": TokenBucket(c.zalo_rps), "messenger": TokenBucket(c.messenger_rps)}
        self.seq = 0
        # held sends: platform -> recipient (or "*" for all) being held; the held requests wait on their futures
        self.hold_requests: dict[str, set[str]] = {"zalo": set(), "messenger": set()}
        for held in getattr(self, "held", []):
            if not held["future"].done():
                held["future"].set_result(False)
        self.held: list[dict] = []  # {"platform", "recipient", "seq", "future"}
        for waiter in getattr(self, "echo_gates", {}).values():
            waiter.set()
        self.echo_gates: dict[str, asyncio.Event] = {}  # platform -> open (set) or holding (clear)
        self.held_echoes: dict[str, int] = {"zalo": 0, "messenger": 0}

    def echo_gate(self, platform: str) -> asyncio.Event:
        if platform not in self.echo_gates:
            self.echo_gates[platform] = asyncio.Event()
            self.echo_gates[platform].set()
        return self.echo_gates[platform]

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def take_failure(self, platform: str) -> dict | None:
        queue = self.failures[platform]
        while queue and queue[0]["count"] <= 0:
            queue.pop(0)
        if not queue:
            return None
        queue[0]["count"] -= 1
        failure = dict(queue[0])
        if queue[0]["count"] <= 0:
            queue.pop(0)
        return failure

    def tokens(self) -> dict:
        return {"zalo_access_token": self.access_token, "zalo_refresh_token": self.refresh_token,
                "more_oas": {oa: {"access_token": t["access"], "refresh_token": t["refresh"]}
                             for oa, t in self.more_oas.items()},
                "refreshes": self.refreshes, "burnt_refresh_token_reuses": self.burnt_reuses,
                "refresh_attempts": len(self.refresh_log), "refresh_log": self.refresh_log,
                "expired_access_tokens": sorted(self.expired_access),
                "burnt_refresh_tokens": sorted(self.burnt_refresh)}


def _zalo_error(code: int, message: str) -> tuple[int, dict]:
    return 200, {"error": code, "message": message}


def _fb_error(spec: tuple) -> tuple[int, dict]:
    status, code, subcode, message, kind = spec
    err: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    if code in (2, 613):
        err["is_transient"] = True
    err["fbtrace_id"] = fbtrace_id()
    return status, {"error": err}


def _fb_param_error(message: str, kind: str = "OAuthException", subcode: int | None = None) -> tuple[int, dict]:
    return _fb_error((400, 100, subcode, message, kind))


def _version_tuple(version: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"v(\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _parse_form(raw: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _body_for_log(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if "application/x-www-form-urlencoded" in content_type:
        return _parse_form(raw)
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


_UNAVAILABLE = "<html><head><title>503 Service Unavailable</title></head><body><h1>503 Service Unavailable</h1></body></html>"
_INTERNAL = "<html><head><title>500 Internal Server Error</title></head><body><h1>500 Internal Server Error</h1></body></html>"
_GATEWAY_TIMEOUT = "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>"


# --- the app --------------------------------------------------------------------------------------


def create_app(config: FakeConfig | None = None) -> FastAPI:
    state = FakeState(config or FakeConfig())
    clients: dict[str, httpx.AsyncClient] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        clients["echo"] = httpx.AsyncClient(timeout=10)
        try:
            yield
        finally:
            for task in list(state.echo_tasks):
                task.cancel()
            await clients["echo"].aclose()

    app = FastAPI(title="fake Zalo + Messenger platforms", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.fake = state

    # -- recording ---------------------------------------------------------------------------

    def record(platform: str, request: Request, raw: bytes) -> dict:
        rec = {"seq": state.next_seq(), "at": round(time.time(), 3), "platform": platform, "method": request.method,
               "path": request.url.path, "query": dict(request.query_params),
               "headers": {k: v for k, v in request.headers.items()
                           if k not in ("host", "content-length", "accept-encoding", "connection", "accept")},
               "body": _body_for_log(raw, request.headers.get("content-type", "")),
               "status": None, "response": None, "injected": None}
        state.requests.append(rec)
        return rec

    def answer(rec: dict, status: int, body: Any, html: bool = False) -> Response:
        rec["status"], rec["response"] = status, body
        if html:
            return HTMLResponse(body, status_code=status)
        return JSONResponse(body, status_code=status)

    async def gate(platform: str, rec: dict, failure_answer) -> Response | None:
        """Outage, injected failures, then the rate limit. Returns a response when the request fails here."""
        if platform in state.down:
            rec["injected"] = "down"
            return answer(rec, 503, _UNAVAILABLE, html=True)
        body = rec.get("body") if isinstance(rec.get("body"), dict) else {}
        to = body.get("recipient") if isinstance(body.get("recipient"), dict) else {}
        recipient = str(to.get("user_id") or to.get("id") or "")
        holding = state.hold_requests.get(platform, set())
        if "*" in holding or recipient in holding:
            held = {"platform": platform, "recipient": recipient, "seq": rec["seq"],
                    "future": asyncio.get_running_loop().create_future()}
            state.held.append(held)
            rec["injected"] = "held"
            deliver = await held["future"]
            if not deliver:
                return answer(rec, 504, _GATEWAY_TIMEOUT, html=True)
        slow = state.config.slow_recipients.get(recipient) if isinstance(state.config.slow_recipients, dict) else None
        if slow:
            rec["injected"] = f"slow({slow}s)"
            await asyncio.sleep(float(slow))
        failure = state.take_failure(platform)
        if failure:
            rec["injected"] = failure["mode"]
            if failure["mode"] == "timeout":
                await asyncio.sleep(failure["seconds"])
                if not failure.get("deliver"):
                    return answer(rec, 504, _GATEWAY_TIMEOUT, html=True)
                return None  # processed normally, but the client has long given up
            if failure["mode"] == "http500" and platform != "messenger":
                return answer(rec, 500, _INTERNAL, html=True)
            return answer(rec, *failure_answer(failure["mode"]))
        bucket = state.buckets.get(platform)
        if bucket is not None and not bucket.take():
            rec["injected"] = "rate_limit(bucket)"
            return answer(rec, *failure_answer("rate_limit"))
        return None

    # -- echoes ------------------------------------------------------------------------------

    def schedule_echo(platform: str, url: str, raw: bytes, headers: dict[str, str], message_id: str) -> None:
        async def deliver() -> None:
            await asyncio.sleep(state.config.echo_delay)
            gate_ = state.echo_gate(platform)
            if not gate_.is_set():  # echoes held by the control API
                state.held_echoes[platform] += 1
                try:
                    await gate_.wait()
                finally:
                    state.held_echoes[platform] -= 1
            entry = {"platform": platform, "url": url, "message_id": message_id, "at": round(time.time(), 3),
                     "status": None, "error": None, "attempts": 0, "body": json.loads(raw)}
            state.echoes.append(entry)
            delays = [float(d) for d in str(state.config.echo_retry_delays or "").split(",") if d.strip()]
            for wait in [0.0, *delays]:
                await asyncio.sleep(wait)
                # the webhook URL as configured now: an app restarted on another port gets the redeliveries
                target = (state.config.echo_zalo_to if platform == "zalo" else state.config.echo_messenger_to) or url
                entry["url"] = target
                entry["attempts"] += 1
                try:
                    r = await clients["echo"].post(target, content=raw, headers=headers)
                    entry["status"], entry["error"] = r.status_code, None
                    if r.status_code == 200:
                        return
                except Exception as exc:  # the app may be down: delivered again later, as the platforms do
                    entry["error"] = f"{type(exc).__name__}: {exc}"

        task = asyncio.get_running_loop().create_task(deliver())
        state.echo_tasks.add(task)
        task.add_done_callback(state.echo_tasks.discard)

    def zalo_echo(user_id: str, message: dict, message_id: str, admin_id: str | None = None,
                  oa_id: str | None = None) -> None:
        c = state.config
        if not c.echo_zalo_to:
            return
        oa_id = oa_id or c.zalo_oa_id
        secret = c.zalo_oa_secret_key if oa_id == c.zalo_oa_id else state.more_oas[oa_id]["secret"]
        attachment = message.get("attachment")
        event, extra = "oa_send_text", {}
        if isinstance(attachment, dict):
            payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
            if attachment.get("type") == "file":
                event = "oa_send_file"
            elif payload.get("template_type") == "media":
                event = "oa_send_image"
            else:
                event = "oa_send_template"
            extra["attachments"] = [attachment]
        body = zalo_event(event, user_id, text=message.get("text"), msg_id=message_id, app_id=c.zalo_app_id,
                          oa_id=oa_id, admin_id=admin_id, **extra)
        raw, headers = zalo_signed(body, c.zalo_app_id, secret)
        schedule_echo("zalo", c.echo_zalo_to, raw, headers, message_id)

    def messenger_echo_hook(psid: str, message: dict, mid: str, app_id: str | None, page_id: str | None = None) -> None:
        c = state.config
        if not c.echo_messenger_to:
            return
        body = messenger_echo(message.get("text") or "", psid, app_id=app_id, mid=mid, page_id=page_id or c.fb_page_id,
                              metadata=message.get("metadata"))
        if "text" not in message and message.get("attachment"):
            event_msg = body["entry"][0]["messaging"][0]["message"]
            del event_msg["text"]
            event_msg["attachments"] = [message["attachment"]]
        raw, headers = messenger_signed(body, c.fb_app_secret)
        schedule_echo("messenger", c.echo_messenger_to, raw, headers, mid)

    def add_sent(platform: str, recipient: str, message: dict, message_id: str, messaging_type: str | None = None,
                 tag: str | None = None, account: str | None = None) -> dict:
        """`account`: the OA or Page the message went out from (the one the token belongs to)."""
        item = {"seq": state.next_seq(), "platform": platform, "account": account, "recipient": recipient,
                "text": message.get("text"),
                "quick_replies": message.get("quick_replies"), "messaging_type": messaging_type, "tag": tag,
                "quote_message_id": message.get("quote_message_id"), "metadata": message.get("metadata"),
                "attachment": message.get("attachment"), "message_id": message_id, "at": round(time.time(), 3)}
        state.sent.append(item)
        return item

    # -- Zalo OpenAPI --------------------------------------------------------------------------

    def zalo_failure(mode: str) -> tuple[int, dict]:
        return _zalo_error(*ZALO_ERRORS[mode])

    @app.post("/v3.0/oa/message/cs")
    async def zalo_send(request: Request) -> Response:
        raw = await request.body()
        rec = record("zalo", request, raw)
        failed = await gate("zalo", rec, zalo_failure)
        if failed is not None:
            return failed
        token = request.headers.get("access_token")
        if token and token in state.expired_access:
            return answer(rec, *_zalo_error(*ZALO_EXPIRED_TOKEN))
        # an access token speaks for one OA: the message goes out from that OA
        oa_id = state.config.zalo_oa_id if token and token == state.access_token else next(
            (oa for oa, t in state.more_oas.items() if token and token == t["access"]), None)
        if oa_id is None:
            return answer(rec, *_zalo_error(*ZALO_INVALID_TOKEN))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return answer(rec, *_zalo_error(-201, "body is invalid!"))
        recipient = body.get("recipient")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id.strip():
            return answer(rec, *_zalo_error(-201, "user_id is invalid!"))
        message = body.get("message")
        if not isinstance(message, dict):
            return answer(rec, *_zalo_error(-201, "message is invalid!"))
        attachment = message.get("attachment")
        if attachment is not None:
            if not isinstance(attachment, dict) or not attachment.get("type"):
                return answer(rec, *_zalo_error(-201, "attachment is invalid!"))
        else:
            text = message.get("text")
            if not isinstance(text, str) or not text.strip() or nfc_len(text) > TEXT_LIMIT:
                return answer(rec, *_zalo_error(-201, "text is invalid!"))
        quote = message.get("quote_message_id")
        if quote is not None and (not isinstance(quote, str) or not quote):
            return answer(rec, *_zalo_error(-201, "quote_message_id is invalid!"))
        message_id = new_zalo_msg_id()
        add_sent("zalo", user_id, message, message_id, account=oa_id)
        zalo_echo(user_id, message, message_id, oa_id=oa_id)
        return answer(rec, 200, {"error": 0, "message": "Success", "data": {"message_id": message_id, "user_id": user_id}})

    # -- Zalo OAuth ----------------------------------------------------------------------------

    def oauth_failure(mode: str) -> tuple[int, dict]:
        if mode == "rate_limit":
            return _zalo_error(*ZALO_ERRORS["rate_limit"])
        return 200, {"error": -14014, "error_name": "Invalid refresh token",
                     "error_reason": "refresh_token is expired", "error_description": "Refresh token is expired"}

    @app.post("/v4/oa/access_token")
    async def zalo_oauth(request: Request) -> Response:
        raw = await request.body()
        rec = record("zalo_oauth", request, raw)
        form = _parse_form(raw)
        presented = form.get("refresh_token", "")
        attempt = {"at": round(time.time(), 3), "refresh_token": presented, "outcome": None, "seq": rec["seq"]}
        state.refresh_log.append(attempt)
        if presented and presented in state.burnt_refresh:
            state.burnt_reuses += 1  # counted whatever happens next: the app sent a dead token
            attempt["burnt_reuse"] = True
        failed = await gate("zalo_oauth", rec, oauth_failure)
        if failed is not None:
            attempt["outcome"] = f"injected:{rec['injected']}"
            return failed

        def refuse(outcome: str, code: int, name: str, description: str) -> Response:
            attempt["outcome"] = outcome
            return answer(rec, 200, {"error": code, "error_name": name, "error_reason": description,
                                     "error_description": description})

        c = state.config
        if request.headers.get("secret_key") != c.zalo_app_secret:
            return refuse("bad_secret", -14014, "Invalid refresh token", "Invalid secret key")
        if form.get("grant_type") != "refresh_token":
            return refuse("bad_request", -14001, "Invalid parameter", "grant_type must be refresh_token (fake)")
        if form.get("app_id") != c.zalo_app_id:
            return refuse("bad_request", -14001, "Invalid parameter", "app_id is invalid")
        if presented in state.burnt_refresh:
            return refuse("burnt_reuse", -14014, "Invalid refresh token", "Refresh token has been used")
        other = next((oa for oa, t in state.more_oas.items() if presented and presented == t["refresh"]), None)
        if other is not None:  # another OA's pair rotates on its own
            t = state.more_oas[other]
            t["generation"] += 1
            state.burnt_refresh.add(t["refresh"])
            state.superseded_access.add(t["access"])
            t["access"], t["refresh"] = f"zalo-at-{other}-{t['generation']}", f"zalo-rt-{other}-{t['generation']}"
            state.refreshes += 1
            attempt.update(outcome="rotated", oa_id=other, issued_access_token=t["access"],
                           issued_refresh_token=t["refresh"])
            return answer(rec, 200, {"access_token": t["access"], "refresh_token": t["refresh"], "expires_in": "90000"})
        if not presented or presented != state.refresh_token:
            return refuse("unknown_token", -14014, "Invalid refresh token", "Invalid refresh token")
        state.generation += 1
        state.burnt_refresh.add(state.refresh_token)
        state.superseded_access.add(state.access_token)
        state.access_token = f"zalo-at-{state.generation}"
        state.refresh_token = f"zalo-rt-{state.generation}"
        state.refreshes += 1
        attempt["outcome"] = "rotated"
        attempt["issued_access_token"] = state.access_token
        attempt["issued_refresh_token"] = state.refresh_token
        return answer(rec, 200, {"access_token": state.access_token, "refresh_token": state.refresh_token,
                                 "expires_in": "90000"})

    # -- Messenger Send API ---------------------------------------------------------------------

    def fb_failure(mode: str) -> tuple[int, dict]:
        return _fb_error(FB_ERRORS[mode])

    def fb_field(form: dict[str, str], name: str) -> Any:
        value = form.get(name)
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError:
            return value

    def validate_message(message: Any) -> tuple[int, dict] | None:
        if not isinstance(message, dict):
            return _fb_param_error("(#100) The parameter message is required")
        has_text, has_att = "text" in message, "attachment" in message
        if has_text and has_att:
            return _fb_param_error("(#100) Only one of the parameters message[text] and message[attachment] can be specified")
        if not has_text and not has_att:
            return _fb_param_error("(#100) Must send either message or attachment")
        if has_text:
            text = message["text"]
            if not isinstance(text, str) or not text:
                return _fb_param_error("(#100) Param message[text] must be a non-empty UTF-8 encoded string")
            if len(text) > TEXT_LIMIT:
                return _fb_param_error(f"(#100) Length of param message[text] must be less than or equal to {TEXT_LIMIT}")
        elif not isinstance(message["attachment"], dict) or not message["attachment"].get("type"):
            return _fb_param_error("(#100) Param message[attachment][type] must be one of {IMAGE, AUDIO, VIDEO, FILE, TEMPLATE}")
        metadata = message.get("metadata")
        if metadata is not None and (not isinstance(metadata, str) or len(metadata) > METADATA_LIMIT):
            return _fb_param_error(f"(#100) Length of param message[metadata] must be less than or equal to {METADATA_LIMIT}")
        quick = message.get("quick_replies")
        if quick is None:
            return None
        if not isinstance(quick, list):
            return _fb_param_error("(#100) Param message[quick_replies] must be an array")
        if len(quick) > QUICK_REPLY_LIMIT:
            return _fb_param_error(f"(#100) Param message[quick_replies] must be an array with at most {QUICK_REPLY_LIMIT} items")
        for i, q in enumerate(quick):
            p = f"message[quick_replies][{i}]"
            if not isinstance(q, dict):
                return _fb_param_error(f"(#100) Param {p} must be an object")
            ctype = q.get("content_type")
            if ctype not in ("text", "user_phone_number", "user_email"):
                return _fb_param_error(f"(#100) Param {p}[content_type] must be one of {{TEXT, USER_PHONE_NUMBER, USER_EMAIL}}")
            if ctype != "text":
                continue
            title, payload = q.get("title"), q.get("payload")
            if not isinstance(title, str) or not title:
                return _fb_param_error(f"(#100) Param {p}[title] must be a non-empty string")
            if len(title) > QUICK_REPLY_TITLE_LIMIT:
                return _fb_param_error(
                    f"(#100) Length of param {p}[title] must be less than or equal to {QUICK_REPLY_TITLE_LIMIT}")
            if not isinstance(payload, str | int) or str(payload) == "":
                return _fb_param_error(f"(#100) Param {p}[payload] must be a non-empty string")
            if len(str(payload)) > PAYLOAD_LIMIT:
                return _fb_param_error(f"(#100) Length of param {p}[payload] must be less than or equal to {PAYLOAD_LIMIT}")
        return None

    @app.post("/{version}/{node}/messages")
    async def messenger_send(version: str, node: str, request: Request) -> Response:
        raw = await request.body()
        rec = record("messenger", request, raw)
        failed = await gate("messenger", rec, fb_failure)
        if failed is not None:
            return failed
        c = state.config
        wanted = _version_tuple(c.fb_graph_version)
        asked = _version_tuple(version)
        if asked is None or (wanted is not None and asked > wanted):
            return answer(rec, *_fb_error((400, 2500, None, f"Unknown path components: /{version}/{node}/messages",
                                           "OAuthException")))
        if wanted is not None and asked < wanted:
            return answer(rec, *_fb_error((400, 2635, None, "(#2635) You are calling a deprecated version of the Graph "
                                           f"API. Please update to the latest version: {c.fb_graph_version}.",
                                           "OAuthException")))
        token = request.query_params.get("access_token")
        if token is None:
            auth = request.headers.get("authorization", "")
            token = auth.split(" ", 1)[1].strip() if auth.lower().startswith(("bearer ", "oauth ")) else None
        # a page access token speaks for one Page
        page_id = c.fb_page_id if token == c.fb_page_access_token else next(
            (str(p["page_id"]) for p in c.fb_more_pages if token and token == p["page_access_token"]), None)
        if page_id is None:
            return answer(rec, *_fb_error(FB_INVALID_TOKEN))
        if node not in ("me", page_id):
            return answer(rec, *_fb_param_error(
                f"Unsupported post request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
                "permissions, or does not support this operation. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api", kind="GraphMethodException", subcode=33))
        ctype = request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in ctype:
            form = _parse_form(raw)
            body: Any = {k: fb_field(form, k) for k in form}
        else:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
        if not isinstance(body, dict):
            return answer(rec, *_fb_param_error("(#100) Invalid JSON for postData"))
        recipient = body.get("recipient")
        psid = recipient.get("id") if isinstance(recipient, dict) else None
        if isinstance(psid, int):
            psid = str(psid)
        if not isinstance(psid, str) or not psid:
            return answer(rec, *_fb_param_error("(#100) The parameter recipient is required"))
        if "sender_action" in body:
            if "message" in body:
                return answer(rec, *_fb_param_error(
                    "(#100) Only one of the parameters message and sender_action can be specified"))
            if body["sender_action"] not in SENDER_ACTIONS:
                return answer(rec, *_fb_param_error("(#100) Param sender_action must be one of "
                                                    "{TYPING_ON, TYPING_OFF, MARK_SEEN, REACT, UNREACT}"))
            return answer(rec, 200, {"recipient_id": psid})
        mtype, tag = body.get("messaging_type"), body.get("tag")
        if mtype not in MESSAGING_TYPES:
            return answer(rec, *_fb_param_error("(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"))
        if mtype == "MESSAGE_TAG":
            if not tag:
                return answer(rec, *_fb_param_error("(#100) Param tag is required when messaging_type is MESSAGE_TAG"))
            if tag not in ACCEPTED_TAGS:
                return answer(rec, *_fb_param_error(f"(#100) Param tag must be one of {{{', '.join(sorted(ACCEPTED_TAGS))}}} "
                                                    "(the only tag this app is approved for)"))
        problem = validate_message(body.get("message"))
        if problem:
            return answer(rec, *problem)
        message = body["message"]
        mid = new_mid()
        add_sent("messenger", psid, message, mid, messaging_type=mtype, tag=tag, account=page_id)
        messenger_echo_hook(psid, message, mid, c.fb_app_id, page_id)
        return answer(rec, 200, {"recipient_id": psid, "message_id": mid})

    # -- control API ---------------------------------------------------------------------------

    def bad(detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=400)

    async def json_body(request: Request) -> dict:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {"__invalid__": True}
        return data if isinstance(data, dict) else {"__invalid__": True}

    @app.get("/_fake/health")
    async def health() -> dict:
        return {"ok": True}

    @app.get("/_fake/help")
    async def help_text() -> Response:
        return Response(CONTROL_API, media_type="text/plain")

    @app.get("/_fake/sent")
    async def sent(platform: str | None = None, recipient: str | None = None, since: int = 0) -> list[dict]:
        return [s for s in state.sent if (platform is None or s["platform"] == platform)
                and (recipient is None or s["recipient"] == recipient) and s["seq"] >= since]

    @app.get("/_fake/requests")
    async def requests_(platform: str | None = None, since: int = 0) -> list[dict]:
        return [r for r in state.requests if (platform is None or r["platform"] == platform) and r["seq"] >= since]

    @app.get("/_fake/echoes")
    async def echoes() -> list[dict]:
        return state.echoes

    @app.get("/_fake/tokens")
    async def tokens() -> dict:
        return state.tokens()

    @app.get("/_fake/fail")
    async def pending_failures() -> dict:
        return state.failures

    @app.post("/_fake/fail")
    async def fail(request: Request) -> Response:
        data = await json_body(request)
        platform, mode = data.get("platform"), data.get("mode")
        if platform not in PLATFORMS:
            return bad(f"platform must be one of {list(PLATFORMS)}")
        count = data.get("count", 1)
        if not isinstance(count, int) or count < 0:
            return bad("count must be a non-negative integer")
        if count == 0:
            state.failures[platform].clear()
            return JSONResponse({"ok": True, "pending": state.failures[platform]})
        if mode not in FAIL_MODES[platform]:
            return bad(f"mode for {platform} must be one of {sorted(FAIL_MODES[platform])}")
        seconds = data.get("seconds", DEFAULT_TIMEOUT_SLEEP)
        if not isinstance(seconds, int | float) or seconds < 0:
            return bad("seconds must be a non-negative number")
        state.failures[platform].append({"mode": mode, "count": count, "seconds": float(seconds),
                                         "deliver": bool(data.get("deliver", False))})
        return JSONResponse({"ok": True, "pending": state.failures[platform]})

    @app.post("/_fake/down")
    async def down(request: Request) -> Response:
        data = await json_body(request)
        platform = data.get("platform")
        targets = PLATFORMS if platform == "all" else (platform,)
        if platform != "all" and platform not in PLATFORMS:
            return bad(f"platform must be one of {list(PLATFORMS)} or 'all'")
        for p in targets:
            if data.get("down", True):
                state.down.add(p)
            else:
                state.down.discard(p)
        return JSONResponse({"ok": True, "down": sorted(state.down)})

    @app.post("/_fake/expire_access_token")
    async def expire_access_token() -> dict:
        state.expired_access.add(state.access_token)
        return {"ok": True, "expired": state.access_token}

    @app.post("/_fake/reset")
    async def reset() -> dict:
        state.reset()
        return {"ok": True}

    @app.post("/_fake/config")
    async def set_config(request: Request) -> Response:
        data = await json_body(request)
        allowed = {"echo_zalo_to", "echo_messenger_to", "echo_delay", "echo_retry_delays", "zalo_rps", "messenger_rps",
                   "slow_recipients"}
        unknown = set(data) - allowed
        if unknown:
            return bad(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        slow = data.get("slow_recipients", {})
        if not isinstance(slow, dict) or not all(isinstance(v, int | float) and v >= 0 for v in slow.values()):
            return bad("slow_recipients must map recipient ids to non-negative seconds")
        state.config = replace(state.config, **data)
        if "zalo_rps" in data:
            state.buckets["zalo"] = TokenBucket(state.config.zalo_rps)
        if "messenger_rps" in data:
            state.buckets["messenger"] = TokenBucket(state.config.messenger_rps)
        return JSONResponse({"ok": True, "config": {k: getattr(state.config, k) for k in sorted(allowed)}})

    def platforms_of(data: dict) -> list[str] | None:
        platform = data.get("platform", "all")
        if platform == "all":
            return ["zalo", "messenger"]
        return [platform] if platform in ("zalo", "messenger") else None

    @app.post("/_fake/hold")
    async def hold(request: Request) -> Response:
        data = await json_body(request)
        targets = platforms_of(data)
        if targets is None:
            return bad("platform must be zalo, messenger or all")
        recipient = str(data.get("recipient") or "*")
        for p in targets:
            if "requests" in data:
                if data["requests"]:
                    state.hold_requests[p].add(recipient)
                else:
                    state.hold_requests[p].discard(recipient)
            if "echoes" in data:
                gate_ = state.echo_gate(p)
                gate_.clear() if data["echoes"] else gate_.set()
        return JSONResponse({"ok": True, **held_now()})

    @app.post("/_fake/release")
    async def release(request: Request) -> Response:
        data = await json_body(request)
        targets = platforms_of(data)
        if targets is None:
            return bad("platform must be zalo, messenger or all")
        recipient = data.get("recipient")
        deliver = bool(data.get("deliver", True))
        released = 0
        for held in list(state.held):
            if held["platform"] in targets and (recipient is None or held["recipient"] == str(recipient)):
                state.held.remove(held)
                if not held["future"].done():
                    held["future"].set_result(deliver)
                released += 1
        return JSONResponse({"ok": True, "released": released, **held_now()})

    def held_now() -> dict:
        return {"requests": [{k: h[k] for k in ("platform", "recipient", "seq")} for h in state.held],
                "holding": {p: sorted(r) for p, r in state.hold_requests.items()},
                "echoes_held": dict(state.held_echoes),
                "echoes_holding": [p for p, g in state.echo_gates.items() if not g.is_set()]}

    @app.get("/_fake/held")
    async def held_list() -> dict:
        return held_now()

    @app.post("/_fake/staff_reply")
    async def staff_reply(request: Request) -> Response:
        """A staff member answered in oa.zalo.me / the Page Inbox: only the echo webhook reaches the app."""
        data = await json_body(request)
        platform, recipient, text = data.get("platform"), data.get("recipient"), data.get("text")
        if platform not in ("zalo", "messenger") or not recipient or not text:
            return bad("need platform (zalo|messenger), recipient and text")
        target = state.config.echo_zalo_to if platform == "zalo" else state.config.echo_messenger_to
        if not target:
            return bad(f"no echo URL configured for {platform} (start with --echo-{platform}-to or POST /_fake/config)")
        if platform == "zalo":
            message_id = new_zalo_msg_id()
            zalo_echo(str(recipient), {"text": text}, message_id, admin_id=str(data.get("admin_id") or "5550001112223334444"))
        else:
            message_id = new_mid()
            messenger_echo_hook(str(recipient), {"text": text}, message_id, data.get("app_id"))
        return JSONResponse({"ok": True, "message_id": message_id})

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(path: str, request: Request) -> Response:
        raw = await request.body()
        rec = record("unknown", request, raw)
        return answer(rec, 404, {"error": {"message": f"fake platforms: no route for {request.method} /{path}",
                                           "type": "FakeNotFound", "code": 404}})

    return app


# --- running in a thread (tests, bench) ----------------------------------------------------------


class ThreadedServer:
    """Serve an ASGI app with uvicorn in a daemon thread on a loopback socket (port 0 = any free port)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class FakePlatformsServer(ThreadedServer):
    """The fake in a thread: `with FakePlatformsServer(FakeConfig(...)) as fake: httpx.get(fake.url + ...)`."""

    def __init__(self, config: FakeConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        super().__init__(create_app(config), host, port)

    @property
    def state(self) -> FakeState:
        return self.app.state.fake


# --- CLI: serve ---------------------------------------------------------------------------------


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    for f in fields(FakeConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("float", float):
            p.add_argument(flag, type=float, default=f.default)
        elif f.type in ("list", list):  # JSON, e.g. --fb-more-pages '[{"page_id": "2", "page_access_token": "t2"}]'
            p.add_argument(flag, type=json.loads, default=[])
        elif f.type in ("dict", dict):  # JSON, e.g. --slow-recipients '{"U1": 8}'
            p.add_argument(flag, type=json.loads, default={})
        else:
            p.add_argument(flag, default=f.default)


def cmd_serve(args: argparse.Namespace) -> int:
    config = FakeConfig(**{f.name: getattr(args, f.name) for f in fields(FakeConfig)})
    print(f"fake platforms on http://{args.host}:{args.port}  (control API: GET /_fake/help)", file=sys.stderr)
    print(json.dumps(asdict(config), indent=1), file=sys.stderr)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level)
    return 0


# --- CLI: citizen -------------------------------------------------------------------------------


class Citizen:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.http = httpx.Client(timeout=10)
        self.last_quick_replies: list[dict] = []
        self.last_sent: tuple[bytes, dict[str, str]] | None = None
        self._start = 0

    @property
    def webhook_url(self) -> str:
        a = self.args
        return a.app.rstrip("/") + (a.zalo_path if a.platform == "zalo" else a.messenger_path)

    def build(self, line: str) -> dict | None:
        """A webhook payload for what the citizen typed (plain text, or a /command)."""
        a, user = self.args, self.args.user
        zalo = a.platform == "zalo"
        if not line.startswith("/"):
            if zalo:
                return zalo_user_text(line, user, app_id=a.zalo_app_id, oa_id=a.zalo_oa_id)
            return messenger_text(line, user, page_id=a.fb_page_id)
        cmd, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if cmd == "tap" and not zalo:
            try:
                q = self.last_quick_replies[int(rest) - 1]
            except (ValueError, IndexError):
                print(f"  (no quick reply #{rest}; there are {len(self.last_quick_replies)})")
                return None
            return messenger_text(q.get("title", ""), user, page_id=a.fb_page_id, quick_reply_payload=q.get("payload"))
        if cmd == "postback" and not zalo:
            payload, _, title = rest.partition(" ")
            return messenger_postback(payload, title or payload, user, page_id=a.fb_page_id)
        if cmd in ("image", "sticker", "file", "audio", "video", "location", "follow", "unfollow", "chatnow"):
            if zalo:
                name = {"follow": "follow", "unfollow": "unfollow", "chatnow": "user_click_chatnow"}.get(cmd, f"user_send_{cmd}")
                return zalo_event(name, user, app_id=a.zalo_app_id, oa_id=a.zalo_oa_id)
            if cmd in ("image", "sticker", "file", "audio", "video"):
                return messenger_attachment(cmd, user, page_id=a.fb_page_id)
        if cmd == "event" and zalo and rest:
            return zalo_event(rest, user, app_id=a.zalo_app_id, oa_id=a.zalo_oa_id)
        print("  commands: /tap N, /postback PAYLOAD [title] (messenger); /image /sticker /file /audio /video;"
              " /location /follow /unfollow /chatnow /event NAME (zalo); /again; /quit")
        return None

    def post(self, body: dict | None = None, again: bool = False) -> bool:
        a = self.args
        if again:
            if not self.last_sent:
                print("  (nothing to resend)")
                return False
            raw, headers = self.last_sent
        elif a.platform == "zalo":
            raw, headers = zalo_signed(body, a.zalo_app_id, a.zalo_oa_secret_key)
        else:
            raw, headers = messenger_signed(body, a.fb_app_secret)
        self.last_sent = (raw, headers)
        try:
            r = self.http.post(self.webhook_url, content=raw, headers=headers)
            print(f"-> POST {self.webhook_url}: HTTP {r.status_code}")
        except httpx.HTTPError as exc:
            print(f"-> POST {self.webhook_url}: {type(exc).__name__}: {exc}")
            return False
        return True

    def fake_get(self, path: str, **params: Any) -> list[dict]:
        try:
            r = self.http.get(self.args.fake.rstrip("/") + path, params=params)
            r.raise_for_status()
            return r.json()
        except (httpx.HTTPError, ValueError) as exc:
            print(f"  (fake not reachable: {exc})")
            return []

    def high_water(self) -> int:
        reqs = self.fake_get("/_fake/requests")
        sent = self.fake_get("/_fake/sent")
        return max([r["seq"] for r in reqs] + [s["seq"] for s in sent] + [0]) + 1

    def show_replies(self, since: int) -> int:
        """Poll the fake and print new replies until `wait` s pass, or `quiet` s after the last reply."""
        a = self.args
        start = since
        deadline = time.time() + a.wait
        last_new = None
        shown = 0
        seen_rejections: set[int] = set()
        while time.time() < deadline:
            platform = a.platform
            for s in self.fake_get("/_fake/sent", platform=platform, recipient=a.user, since=since):
                since = max(since, s["seq"] + 1)
                shown += 1
                last_new = time.time()
                tag = f" [{s['messaging_type']}{' ' + s['tag'] if s.get('tag') else ''}]" if s.get("messaging_type") else ""
                text = s.get("text") if s.get("text") is not None else f"<attachment {json.dumps(s.get('attachment'))}>"
                print(f"<- bot{tag}: " + (text or "").replace("\n", "\n   "))
                if s.get("quick_replies"):
                    self.last_quick_replies = s["quick_replies"]
                    for i, q in enumerate(s["quick_replies"], 1):
                        print(f"   [{i}] {q.get('title')}  ->  {q.get('payload')}")
            for r in self.fake_get("/_fake/requests", platform=platform, since=start):
                resp, body = r.get("response"), r.get("body") if isinstance(r.get("body"), dict) else {}
                rejected = r.get("status") != 200 or (isinstance(resp, dict) and resp.get("error") not in (0, None))
                recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else {}
                if rejected and r["seq"] not in seen_rejections and a.user in (recipient.get("user_id"), recipient.get("id")):
                    seen_rejections.add(r["seq"])
                    print(f"   (fake rejected a send: HTTP {r.get('status')} {json.dumps(resp, ensure_ascii=False)[:200]})")
            if last_new is not None and time.time() - last_new >= a.quiet:
                break
            time.sleep(0.25)
        if not shown:
            print(f"   (no reply within {a.wait:g} s)")
        return since

    def say(self, line: str) -> None:
        if line.strip() in ("/again", "/dup"):
            body, again = None, True
        else:
            body, again = self.build(line), False
            if body is None:
                return
        self._start = self.high_water()
        for i in range(max(1, self.args.repeat)):
            if not self.post(body, again=again or i > 0):
                return
        self.show_replies(self._start)


def cmd_citizen(args: argparse.Namespace) -> int:
    citizen = Citizen(args)
    if args.message:
        line = args.message
        if args.quick_reply is not None and args.platform == "messenger":
            body = messenger_text(line, args.user, page_id=args.fb_page_id, quick_reply_payload=args.quick_reply)
            citizen._start = citizen.high_water()
            for i in range(max(1, args.repeat)):
                citizen.post(body, again=i > 0)
            citizen.show_replies(citizen._start)
        else:
            citizen.say(line)
        return 0
    print(f"citizen {args.user} on {args.platform}; type a message (/help for commands, /quit or Ctrl-D to leave)")
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        citizen.say(line)


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the fake platforms")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9000)
    serve.add_argument("--log-level", default="warning")
    _add_config_flags(serve)
    serve.set_defaults(func=cmd_serve)

    cit = sub.add_parser("citizen", help="play a citizen: sign and POST webhooks, print the bot's replies")
    cit.add_argument("--app", default="http://127.0.0.1:8000")
    cit.add_argument("--fake", default="http://127.0.0.1:9000")
    cit.add_argument("--platform", choices=("zalo", "messenger"), default="zalo")
    cit.add_argument("--user", default="U1")
    cit.add_argument("--zalo-path", default="/webhooks/zalo")
    cit.add_argument("--messenger-path", default="/webhooks/facebook")
    cit.add_argument("--zalo-app-id", default=ZALO_APP_ID)
    cit.add_argument("--zalo-oa-id", default=ZALO_OA_ID)
    cit.add_argument("--zalo-oa-secret-key", default=ZALO_OA_SECRET_KEY)
    cit.add_argument("--fb-app-secret", default=FB_APP_SECRET)
    cit.add_argument("--fb-page-id", default=FB_PAGE_ID)
    cit.add_argument("--quick-reply", default=None, help="messenger: send MESSAGE as a tapped quick reply with this payload")
    cit.add_argument("--repeat", type=int, default=1, help="deliver the same signed webhook N times (dedupe test)")
    cit.add_argument("--wait", type=float, default=15.0, help="seconds to wait for replies")
    cit.add_argument("--quiet", type=float, default=1.5, help="stop this many seconds after the last new reply")
    cit.add_argument("message", nargs="?", help="what the citizen writes; omit for an interactive loop")
    cit.set_defaults(func=cmd_citizen)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
