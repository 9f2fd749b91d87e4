"""Prometheus metrics (prometheus-client). Every metric object lives here; the rest of the code
calls the small functions below, which never raise.

Counters and histograms are per process. With several worker processes set
PROMETHEUS_MULTIPROC_DIR to an empty directory shared by them (prometheus-client's multiprocess
mode); `/metrics` then sums every process's files. Database gauges (outbox depth, oldest
pending reply) are computed from the database on each scrape, so every instance reports the
same, shared figures.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session, col, select

from app.models import InboundStatus, OutboxStatus, SendOutcome

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST

MESSAGES = Counter("bhxh_messages_total", "Citizen messages answered, by channel and outcome", ["channel", "outcome"])
ANSWER_SECONDS = Histogram("bhxh_answer_seconds", "Time to compute one reply (normalise, retrieve, decide, render)",
                           buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10))
HTTP_REQUESTS = Counter("bhxh_http_requests_total", "HTTP requests by route template and status code", ["route", "status"])
SENDS = Counter("bhxh_sends_total", "Platform send attempts, by channel and result (sent, retry, failed)",
                ["channel", "result"])
SEND_FAILURES = Counter("bhxh_send_failures_total", "Failed platform sends, by channel and platform error code",
                        ["channel", "code"])
TOKEN_REFRESHES = Counter("bhxh_token_refreshes_total", "Access token refreshes, by channel and result (ok, error)",
                          ["channel", "result"])


def _safe(fn):
    def wrapper(*args, **kwargs):
        try:
            fn(*args, **kwargs)
        except Exception:  # metrics must never break answering or sending
            log.debug("metric update failed", exc_info=True)
    return wrapper


@_safe
def reply_computed(seconds: float) -> None:
    ANSWER_SECONDS.observe(seconds)


@_safe
def answered(channel: str, outcome: str) -> None:
    """A citizen's message and the bot's reply were stored."""
    MESSAGES.labels(channel or "unknown", outcome).inc()


QUEUE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)  # bhxh_outbox_depth


@_safe
def send_result(channel: str, outcome: SendOutcome, error_code: str | None = None) -> None:
    """One platform send, by what it came to: sent, retry (a retry follows) or failed."""
    SENDS.labels(channel, outcome).inc()
    if outcome != SendOutcome.SENT:
        SEND_FAILURES.labels(channel, str(error_code or "unknown")[:40]).inc()


@_safe
def token_refreshed(channel: str, ok: bool) -> None:
    TOKEN_REFRESHES.labels(channel, "ok" if ok else "error").inc()


@_safe
def http_request(route: str, status: int) -> None:
    HTTP_REQUESTS.labels(route, str(status)).inc()


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


class DatabaseCollector:
    """Queue gauges read from the database at scrape time."""

    def __init__(self, db: DbEngine):
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from app import models
        from app.models import utcnow
        from app.windows import aware

        depth = GaugeMetricFamily("bhxh_outbox_depth", "Replies in the outbox not yet sent, by status", labels=["status"])
        oldest = GaugeMetricFamily("bhxh_outbox_oldest_pending_seconds",
                                   "Age of the oldest reply waiting in the outbox (0 when none)")
        inbound = GaugeMetricFamily("bhxh_inbound_pending", "Webhook events stored but not answered yet")
        up = GaugeMetricFamily("bhxh_database_up", "1 when the database answered the scrape's queries")
        try:
            with Session(self.db) as session:
                counts = dict(session.exec(
                    select(models.OutboxMessage.status, func.count()).where(
                        col(models.OutboxMessage.status).in_(QUEUE_STATUSES))
                    .group_by(models.OutboxMessage.status)).all())
                first = session.exec(select(func.min(models.OutboxMessage.created_at)).where(
                    col(models.OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))).first()
                waiting = session.exec(select(func.count()).select_from(models.InboundRecord).where(
                    col(models.InboundRecord.status).in_((InboundStatus.PENDING, InboundStatus.WORKING)))).one()
        except Exception as exc:
            log.warning("metrics: database query failed: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        for status in QUEUE_STATUSES:
            depth.add_metric([status], counts.get(status, 0))
        if isinstance(first, str):  # SQLite may hand back text for an aggregate
            import datetime as dt

            first = dt.datetime.fromisoformat(first)
        oldest.add_metric([], max(0.0, (utcnow() - aware(first)).total_seconds()) if first else 0.0)
        inbound.add_metric([], waiting)
        up.add_metric([], 1)
        yield from (depth, oldest, inbound, up)


def render(db: DbEngine | None) -> bytes:
    """The text exposition for one scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        if db is not None:
            registry.register(DatabaseCollector(db))
        return generate_latest(registry)
    out = generate_latest(REGISTRY)
    if db is not None:
        registry = CollectorRegistry()
        registry.register(DatabaseCollector(db))
        out += generate_latest(registry)
    return out
