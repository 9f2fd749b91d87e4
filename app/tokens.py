"""Channel access tokens kept in the database.

Zalo's refresh token is single-use: refreshing kills it and returns a new pair. So the
refresh is single-flight (a process lock plus a row lock on PostgreSQL), the pair is
re-read under the lock (another worker may have refreshed already), and the new pair is
committed before the new access token is used.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session, select

from app import metrics
from app.models import ChannelToken, utcnow
from app.windows import aware
from webhooks.zalo import OAuthError, TokenPair

log = logging.getLogger(__name__)

REFRESH_AHEAD = dt.timedelta(hours=2)  # access tokens live 25 h: refresh proactively
UNKNOWN_EXPIRY = dt.timedelta(hours=12)  # a token from the environment: assume it is half used
# how long a process trusts its copy of the stored token before reading it again (another
# process may have refreshed it; a send with a stale token gets -216 and refreshes anyway)
CACHE_SECONDS = 5.0


class StoredTokens:
    def __init__(self, db: DbEngine, channel: str, exchange: Callable[[str], TokenPair]):
        self.db = db
        self.channel = channel
        self.exchange = exchange
        self._lock = threading.Lock()
        self._cached: tuple[str, dt.datetime, bool, float] | None = None  # token, expiry, refreshable, read at

    def seed(self, access_token: str, refresh_token: str) -> None:
        """Store the configured pair once; later pairs come from refreshes and win over the environment."""
        if not access_token and not refresh_token:
            return
        with Session(self.db) as session:
            if session.get(ChannelToken, self.channel) is None:
                session.add(ChannelToken(channel=self.channel, access_token=access_token, refresh_token=refresh_token,
                                         expires_at=utcnow() + UNKNOWN_EXPIRY))
                session.commit()

    def _row(self, session: Session, lock: bool = False) -> ChannelToken | None:
        query = select(ChannelToken).where(ChannelToken.channel == self.channel)
        if lock and self.db.dialect.name == "postgresql":
            query = query.with_for_update()
        return session.exec(query).first()

    def access_token(self) -> str:
        cached = self._cached
        if cached is None or time.monotonic() - cached[3] > CACHE_SECONDS:
            with Session(self.db) as session:
                row = self._row(session)
                if row is None:
                    return ""
                cached = (row.access_token, aware(row.expires_at), bool(row.refresh_token), time.monotonic())
            self._cached = cached
        token, expires_at, refreshable, _ = cached
        if expires_at - utcnow() < REFRESH_AHEAD and refreshable:
            try:
                return self.refresh(token)
            except OAuthError as exc:
                log.error("proactive %s token refresh failed: %s", self.channel, exc)
        return token

    def refresh(self, stale_access_token: str) -> str:
        with self._lock, Session(self.db) as session:
            row = self._row(session, lock=True)
            if row is None:
                raise OAuthError("no token stored for " + self.channel)
            if row.access_token != stale_access_token and aware(row.expires_at) - utcnow() >= REFRESH_AHEAD:
                self._cached = (row.access_token, aware(row.expires_at), True, time.monotonic())
                return row.access_token  # another worker refreshed while we waited
            try:
                pair = self.exchange(row.refresh_token)
            except OAuthError as exc:
                row.last_error = str(exc)[:500]
                session.add(row)
                session.commit()
                self._cached = None
                metrics.token_refreshed(self.channel, ok=False)
                log.error("%s token refresh failed, staff must re-authorise the app: %s", self.channel, exc)
                raise
            row.access_token, row.refresh_token = pair.access_token, pair.refresh_token
            row.expires_at = utcnow() + dt.timedelta(seconds=pair.expires_in)
            row.updated_at = utcnow()
            row.refreshes += 1
            row.last_error = ""
            session.add(row)
            session.commit()  # the new single-use refresh token is safe before anything uses the pair
            self._cached = (pair.access_token, aware(row.expires_at), True, time.monotonic())
            metrics.token_refreshed(self.channel, ok=True)
            log.info("%s access token refreshed", self.channel)
            return pair.access_token
