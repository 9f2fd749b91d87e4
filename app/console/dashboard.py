"""The admin dashboard: what citizens asked and how it went, for a date range (Vietnam dates),
as numbers, server-rendered SVG charts and a CSV. No message text leaves this module."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models
from app.console.inbox import CHANNELS, OUTCOMES, VN_TZ, duration, topic_of
from app.knowledge import KnowledgeBase
from app.models import Author
from app.windows import aware

MAX_DAYS = 366
OUTCOME_ORDER = ("answered", "clarify", "escalated", "handoff", "smalltalk")
COLORS = {"zalo": "#0068ff", "messenger": "#a033ff", "api": "#6b7683", "cli": "#b0b8c2",
          "answered": "#2e8b57", "clarify": "#d4a017", "escalated": "#c0392b", "handoff": "#e67e22", "smalltalk": "#7f8c8d"}


class RangeError(ValueError):
    """A bad date range; the message is Vietnamese."""


def parse_range(start: str | None, end: str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    try:
        last = dt.date.fromisoformat(end) if end else today
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=29)
    except ValueError:
        raise RangeError("Ngày không hợp lệ; hãy dùng dạng YYYY-MM-DD.") from None
    if first > last:
        raise RangeError("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
    if (last - first).days >= MAX_DAYS:
        raise RangeError(f"Khoảng thời gian tối đa là {MAX_DAYS} ngày.")
    return first, last


def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first, dt.time(), VN_TZ).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), VN_TZ).astimezone(dt.UTC)
    return start, end


@dataclass
class Stats:
    first: dt.date
    last: dt.date
    days: list[dt.date]
    per_day: dict[dt.date, Counter]  # day -> channel -> citizen messages
    outcomes_by: dict[tuple[dt.date, str], Counter]  # (day, channel) -> outcome -> citizen messages
    outcomes: Counter
    topics: list[tuple[str, int]]
    first_reply_seconds: list[float]
    unanswered_escalations: int
    helpful: int
    not_helpful: int
    channels: list[str] = field(default_factory=list)
    backlog: dict[dt.date, int] = field(default_factory=dict)  # escalations still open at the end of each day

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    @property
    def median_first_reply(self) -> str:
        if not self.first_reply_seconds:
            return "chưa có"
        return duration(dt.timedelta(seconds=statistics.median(self.first_reply_seconds))) or "dưới 1 phút"


def stats(db: Engine, kb: KnowledgeBase, first: dt.date, last: dt.date, scope: str | None = None,
          tests: bool = False) -> Stats:
    """`scope`: one province's figures only (None: every province); `tests`: count the command line's and
    the API's test conversations too (left out by default: they are not citizens)."""
    start, end = _bounds(first, last)
    msg, conv = models.Message, models.Conversation
    esc = models.Escalation
    in_scope: tuple[ColumnElement[bool], ...] = (col(conv.province) == scope,) if scope is not None else ()
    esc_scope: tuple[ColumnElement[bool], ...] = (col(esc.province) == scope,) if scope is not None else ()
    if not tests:
        real = select(conv.id).where(col(conv.is_test).is_(False))
        in_scope += (col(conv.is_test).is_(False),)
        esc_scope += (col(esc.conversation_id).in_(real),)
    per_day: dict[dt.date, Counter] = defaultdict(Counter)
    outcomes_by: dict[tuple[dt.date, str], Counter] = defaultdict(Counter)
    outcomes: Counter = Counter()
    topics: Counter = Counter()
    with Session(db) as session:
        rows = session.exec(select(msg, conv.channel).join(conv, col(conv.id) == msg.conversation_id)
                            .where(msg.author == Author.CITIZEN, msg.created_at >= start, msg.created_at < end, *in_scope))
        for m, channel in rows:
            day = aware(m.created_at).astimezone(VN_TZ).date()
            per_day[day][channel] += 1
            if m.outcome:
                outcomes[m.outcome] += 1
                outcomes_by[(day, channel)][m.outcome] += 1
                if m.outcome != "smalltalk":
                    topics[topic_of(kb, m)] += 1
        # time from an escalation to the first staff message after it in the same conversation
        escs = session.exec(select(esc).where(esc.created_at >= start, esc.created_at < end, *esc_scope)).all()
        waits, unanswered = [], 0
        for e in escs:
            first_staff = session.exec(select(msg.created_at).where(
                msg.conversation_id == e.conversation_id, msg.author == Author.STAFF, msg.created_at >= e.created_at)
                .order_by(col(msg.created_at)).limit(1)).first()
            if first_staff is None:
                unanswered += 1
            else:
                waits.append((aware(first_staff) - aware(e.created_at)).total_seconds())
        # the backlog: escalations opened by the end of a day and not yet resolved then
        spans = [(aware(c), aware(r)) for c, r in session.exec(
            select(esc.created_at, esc.resolved_at).where(esc.created_at < end, *esc_scope))]
        backlog = {}
        for i in range((last - first).days + 1):
            day_end = _bounds(first + dt.timedelta(days=i), first + dt.timedelta(days=i))[1]
            backlog[first + dt.timedelta(days=i)] = sum(1 for c, r in spans if c < day_end and (r is None or r >= day_end))
        fb = session.exec(select(models.Feedback.helpful).join(conv, col(conv.id) == models.Feedback.conversation_id)
                          .where(models.Feedback.created_at >= start, models.Feedback.created_at < end, *in_scope)).all()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    channels = sorted({c for counter in per_day.values() for c in counter}, key=lambda c: list(CHANNELS).index(c)
                      if c in CHANNELS else 99)
    return Stats(first, last, days, per_day, outcomes_by, outcomes, topics.most_common(10), waits, unanswered,
                 helpful=sum(1 for h in fb if h), not_helpful=sum(1 for h in fb if not h), channels=channels,
                 backlog=backlog)


# --- charts: plain SVG, drawn on the server --------------------------------------------------


def _svg(width: int, height: int, body: list[str], title: str, css: str = "") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" class="chart {css}"><title>{escape(title)}</title>' + "".join(body) + "</svg>")


# Time charts come twice: drawn for a wide screen and for a phone (390 px), where the wide one's labels
# would shrink to 5 px; the stylesheet shows the one that fits.
SIZES = {"wide": (720, 11, 8), "narrow": (360, 13, 4)}  # viewBox width, font size, date labels


def chart_per_day(s: Stats, size: str = "wide") -> str:
    """Stacked bars: citizen messages per day, one colour per channel."""
    (width, font, labels), height, left, bottom, top = SIZES[size], 240, 36, 30, 10
    peak = max([sum(c.values()) for c in s.per_day.values()] + [1])
    plot_w, plot_h = width - left - 10, height - bottom - top
    slot = plot_w / max(1, len(s.days))
    bar = max(1.0, slot * 0.75)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#999"/>',
            f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="{font}">{peak}</text>',
            f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="{font}">0</text>']
    label_every = max(1, -(-len(s.days) // labels))
    for i, day in enumerate(s.days):
        x = left + i * slot + (slot - bar) / 2
        y = float(top + plot_h)
        for channel in s.channels:
            n = s.per_day.get(day, Counter()).get(channel, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{COLORS.get(channel, "#555")}">'
                        f'<title>{day:%d/%m}: {n} tin {escape(CHANNELS.get(channel, channel))}</title></rect>')
        if i % label_every == 0:
            body.append(f'<text x="{x + bar / 2:.1f}" y="{height - 12}" text-anchor="middle" font-size="{font}">'
                        f'{day:%d/%m}</text>')
    return _svg(width, height, body, "Số tin nhắn của công dân mỗi ngày theo kênh", size)


def chart_backlog(s: Stats, size: str = "wide") -> str:
    """A line: escalations still open at the end of each day."""
    (width, font, labels), height, left, bottom, top = SIZES[size], 180, 36, 30, 10
    peak = max(list(s.backlog.values()) + [1])
    plot_w, plot_h = width - left - 10, height - bottom - top
    step = plot_w / max(1, len(s.days) - 1)
    points = " ".join(f"{left + i * step:.1f},{top + plot_h - plot_h * s.backlog.get(day, 0) / peak:.1f}"
                      for i, day in enumerate(s.days))
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#999"/>',
            f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="{font}">{peak}</text>',
            f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="{font}">0</text>',
            f'<polyline points="{points}" fill="none" stroke="#c0392b" stroke-width="2"/>']
    label_every = max(1, -(-len(s.days) // labels))
    for i, day in enumerate(s.days):
        if i % label_every == 0:
            x = min(max(left + i * step, left + 14), width - 24)  # the first and last labels stay inside
            body.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" font-size="{font}">{day:%d/%m}</text>')
    return _svg(width, height, body, "Số yêu cầu còn mở cuối mỗi ngày", size)


def chart_bars(items: list[tuple[str, int, str]], title: str) -> str:
    """Horizontal bars: (label, count, colour). The words are page text (readable at any width, wrapping
    on a phone); only the bar itself is drawn, as a small SVG stretched to the bar's share."""
    total = sum(n for _, n, _ in items) or 1
    peak = max([n for _, n, _ in items] + [1])
    rows = []
    for label, n, color in items:
        rows.append(f'<li><span class="bar-label">{escape(label)}</span>'
                    f'<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
                    f'<rect width="{100 * n / peak:.1f}" height="10" fill="{color}"/></svg>'
                    f'<span class="bar-n">{n} ({100 * n / total:.0f}%)</span></li>')
    return f'<ul class="bars" role="img" aria-label="{escape(title)}">' + "".join(rows) + "</ul>"


def charts(s: Stats) -> dict[str, str]:
    outcome_items = [(OUTCOMES[o], s.outcomes.get(o, 0), COLORS[o]) for o in OUTCOME_ORDER]
    topic_items = [(t, n, "#0b5394") for t, n in s.topics]
    feedback_items = [("Hữu ích", s.helpful, "#2e8b57"), ("Chưa đúng", s.not_helpful, "#c0392b")]
    return {"per_day": chart_per_day(s) + chart_per_day(s, "narrow"),
            "outcomes": chart_bars(outcome_items, "Tỉ lệ kết quả trả lời"),
            "topics": chart_bars(topic_items, "Chủ đề được hỏi nhiều nhất"),
            "feedback": chart_bars(feedback_items, "Đánh giá của công dân"),
            "backlog": chart_backlog(s) + chart_backlog(s, "narrow")}


def to_csv(s: Stats) -> str:
    """One row per day and channel: citizen messages and their outcomes (no message text)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Ngày", "Kênh", "Số tin nhắn của công dân", *(OUTCOMES[o] for o in OUTCOME_ORDER)])
    for day in s.days:
        for channel in s.channels:
            counts = s.outcomes_by.get((day, channel), Counter())
            writer.writerow([day.strftime("%d/%m/%Y"), CHANNELS.get(channel, channel),
                             s.per_day.get(day, Counter()).get(channel, 0)] +
                            [counts.get(o, 0) for o in OUTCOME_ORDER])
    return out.getvalue()
