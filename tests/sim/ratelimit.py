"""Discord-style rate limits: per-route buckets with ``X-RateLimit-*`` headers, a global limit, 429s.

Off by default (no headers, no 429s). A test turns them on with :meth:`RateLimits.enable`, or
forces the next 429s on a route with :meth:`RateLimits.force` (what a shared or sub-limit does).
Windows are measured in real (monotonic) time: the bot's rate limiter sleeps in real time too.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

_PRUNE_AT = 10_000  # buckets kept before the expired ones are dropped


@dataclass
class _Bucket:
    limit: int
    window: float
    remaining: int
    reset_at: float


@dataclass
class _Forced:
    method: str
    template: str
    times: int
    retry_after: float
    is_global: bool


@dataclass(frozen=True)
class Limited:
    """A 429 to send."""

    retry_after: float
    is_global: bool
    scope: str
    bucket: str

    def body(self) -> dict[str, object]:
        return {
            "message": "You are being rate limited.",
            "retry_after": round(self.retry_after, 3),
            "global": self.is_global,
            "code": 0,
        }

    def headers(self) -> dict[str, str]:
        headers = {
            "Retry-After": f"{max(self.retry_after, 0.001):.3f}",
            "X-RateLimit-Scope": self.scope,
            "Via": "1.1 google",  # discord.py treats a 429 without Via as a Cloudflare ban
        }
        if self.is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Bucket": self.bucket,
                    "X-RateLimit-Limit": "1",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                    "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
                }
            )
        return headers


@dataclass
class RateLimits:
    enabled: bool = False
    bucket_limit: int = 5
    bucket_window: float = 1.0
    global_limit: int = 50  # per second, across every route (interaction callbacks excepted)
    limited: list[str] = field(default_factory=list)  # "METHOD template" of every 429 sent
    limited_global: list[str] = field(default_factory=list)  # the same, of the global ones only
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _global: list[float] = field(default_factory=list)
    _forced: list[_Forced] = field(default_factory=list)

    def enable(self, *, bucket_limit: int = 5, bucket_window: float = 1.0, global_limit: int = 50) -> None:
        """Answer with bucket headers and 429 when a bucket (per route and major id) or the global limit runs out."""
        self.enabled = True
        self.bucket_limit, self.bucket_window, self.global_limit = bucket_limit, bucket_window, global_limit

    def force(
        self, method: str, template: str, *, times: int = 1, retry_after: float = 0.2, is_global: bool = False
    ) -> None:
        """Answer the next ``times`` requests to ``method template`` with a 429 (whether enabled or not)."""
        self._forced.append(_Forced(method.upper(), template, times, retry_after, is_global))

    def check(self, method: str, template: str, major: str, *, exempt_global: bool) -> tuple[Limited | None, dict[str, str]]:
        """Count one request; return the 429 to send (if any) and the headers for a normal answer."""
        key = f"{method} {template}"
        for forced in self._forced:
            if forced.method == method and forced.template == template and forced.times > 0:
                forced.times -= 1
                self.limited.append(key)
                if forced.is_global:
                    self.limited_global.append(key)
                scope = "global" if forced.is_global else "shared"
                return Limited(forced.retry_after, forced.is_global, scope, _bucket_hash(key)), {}
        if not self.enabled:
            return None, {}
        now = time.monotonic()
        if not exempt_global:
            self._global = [at for at in self._global if now - at < 1.0]
            if len(self._global) >= self.global_limit:
                self.limited.append(key)
                self.limited_global.append(key)
                return Limited(1.0 - (now - self._global[0]), True, "global", ""), {}
            self._global.append(now)
        bucket_id = _bucket_hash(key)
        bucket = self._buckets.get(f"{bucket_id}:{major}")
        if bucket is None and len(self._buckets) >= _PRUNE_AT:
            # One bucket per interaction (or DM channel) adds up: forget the ones whose window ended.
            self._buckets = {name: kept for name, kept in self._buckets.items() if now < kept.reset_at}
        if bucket is None or now >= bucket.reset_at:
            bucket = _Bucket(self.bucket_limit, self.bucket_window, self.bucket_limit, now + self.bucket_window)
            self._buckets[f"{bucket_id}:{major}"] = bucket
        if bucket.remaining <= 0:
            self.limited.append(key)
            return Limited(bucket.reset_at - now, False, "user", bucket_id), {}
        bucket.remaining -= 1
        reset_after = bucket.reset_at - now
        return None, {
            "X-RateLimit-Bucket": bucket_id,
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.remaining),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        }


def _bucket_hash(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]
