"""Per-key token buckets, in process memory: the API's per-IP limit and a hook for the staff
console's login (per IP and per user name).

Each instance counts on its own, so N instances behind a proxy allow up to N times the rate;
put a limit at the reverse proxy too when that matters.
"""

from __future__ import annotations

import math
import threading
import time

from fastapi import HTTPException, Request


class RateLimiter:
    def __init__(self, per_minute: float, burst: int | None = None, max_keys: int = 100_000):
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, int(per_minute)))
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def hit(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens for `key`: 0.0 when allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                allowed = 0.0
            else:
                self._buckets[key] = (tokens, now)
                allowed = (cost - tokens) / self.rate
            if len(self._buckets) > self.max_keys:
                self._prune(now)
            return allowed

    def _prune(self, now: float) -> None:
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]
        while len(self._buckets) > self.max_keys:  # still too many: forget the oldest
            del self._buckets[min(self._buckets, key=lambda k: self._buckets[k][1])]


def client_ip(request: Request) -> str:
    """The client's address; behind a trusted proxy uvicorn has already taken it from X-Forwarded-For
    (FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


def too_many(wait: float) -> HTTPException:
    return HTTPException(status_code=429, detail="Bạn thao tác quá nhanh, vui lòng thử lại sau ít phút.",
                         headers={"Retry-After": str(max(1, math.ceil(wait)))})


def limit_login(request: Request, username: str = "") -> None:
    """For the staff console's login handler: raises 429 (with Retry-After) when this IP, or this
    user name from any IP, tries too often (LOGIN_RATE_PER_MINUTE). Call it before checking the password."""
    limiter: RateLimiter = request.app.state.login_limiter
    wait = limiter.hit("ip:" + client_ip(request))
    if not wait and username:
        wait = limiter.hit("user:" + username.strip().lower())
    if wait:
        raise too_many(wait)
