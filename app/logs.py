"""Logging set-up: text or JSON lines (LOG_FORMAT), personal numbers masked (app.privacy) and
secrets redacted in every record, including uvicorn's access log and httpx's request log."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

from app.privacy import MaskingFilter, mask
from app.settings import Settings

# query parameters and headers that carry credentials (httpx logs Graph API URLs with ?access_token=)
_SECRET_PARAMS = re.compile(
    r"((?:access_token|refresh_token|verify_token|app_secret|appsecret_proof|secret_key)"
    r"[\"']?\s*[=:]\s*[\"']?)[^&\s\"',}]+", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")
REDACTED = "[redacted]"

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName", "color_message"}


def _secret_values(settings: Settings) -> list[str]:
    names = ("admin_api_token", "zalo_oa_secret_key", "zalo_app_secret", "zalo_access_token", "zalo_refresh_token",
             "fb_app_secret", "fb_verify_token", "fb_page_access_token", "metrics_token")
    values = {str(getattr(settings, n, "") or "") for n in names}
    for secrets in (getattr(settings, "province", None) or {}).values():  # PROVINCE__<CODE>__...
        values |= {str(v or "") for k, v in secrets.model_dump().items() if k not in ("zalo_app_id", "fb_app_id")}
    return sorted((v for v in values if len(v) >= 6), key=len, reverse=True)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    for value in secrets:
        text = text.replace(value, REDACTED)
    text = _SECRET_PARAMS.sub(lambda m: m.group(1) + REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


class SecretFilter(logging.Filter):
    """Redacts configured secret values and credential-looking parameters. Runs after MaskingFilter."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        # format once, so arguments (a URL, a header dict) are redacted whatever their type
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = redact(mask(message), self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(mask(record.exc_text), self.secrets)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extra fields, exception."""

    secrets: Sequence[str] = ()  # values redacted from every field (handler() sets the settings' secrets)

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        secrets = self.secrets
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value if isinstance(value, int | float | bool | type(None)) else redact(mask(str(value)), secrets)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def handler(settings: Settings) -> logging.Handler:
    h = logging.StreamHandler(sys.stderr)
    h.addFilter(MaskingFilter())
    h.addFilter(SecretFilter(_secret_values(settings)))
    if settings.log_format.lower() == "json":
        formatter = JsonFormatter()
        formatter.secrets = _secret_values(settings)
        h.setFormatter(formatter)
    else:
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return h


def configure(settings: Settings) -> None:
    """Root logging for every command; uvicorn's loggers propagate to it (serve passes log_config=None)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(settings))
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
