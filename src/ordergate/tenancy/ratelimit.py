"""Per-API-key rate limits (the ``limits`` library).

The limit is written in limits' notation, e.g. ``50000/10 seconds``: a burst of up to 50,000
requests, 5,000/s sustained. The sliding-window-counter strategy keeps two counters per key
(not one timestamp per request), so memory does not grow with the limit. Buckets live in the
process, or in Redis when ``ORDERGATE_REDIS_URL`` is set, shared by every process.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from ordergate.errors import OrdergateError

log = logging.getLogger("ordergate.ratelimit")


class RateLimited(OrdergateError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


def _redis_uri(url: str) -> str:
    # limits names its async Redis storage "async+redis://"; accept the usual redis:// too.
    return url if url.startswith("async+") else "async+" + url


class RateLimiter:
    def __init__(self, limit: str, redis_url: str | None = None) -> None:
        self.items: list[RateLimitItem] = parse_many(limit) if limit and limit != "off" else []
        storage: Storage = MemoryStorage()
        if redis_url:
            shared = storage_from_string(_redis_uri(redis_url), key_prefix="ordergate")
            assert isinstance(shared, Storage)  # an "async+" URI gives an async storage
            storage = shared
        self._storage = storage
        self._last_failure_log = 0.0
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    def close(self) -> None:
        """Drop the Redis connections (limits' storages have no close of their own)."""
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()

    async def hit(self, key_id: str) -> None:
        """Count one request of this key against every limit; :class:`RateLimited` when over
        one. If the shared store cannot be reached, the request is let through (and logged):
        an outage of Redis must not become an outage of intake."""
        for item in self.items:
            try:
                allowed = await self._limiter.hit(item, key_id)
                if allowed:
                    continue
                stats = await self._limiter.get_window_stats(item, key_id)
            except Exception:
                self._log_store_failure()
                return
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            error = RateLimited(f"More than {item} for this API key; retry in {wait} s")
            error.headers.update(
                {
                    "Retry-After": str(wait),
                    "RateLimit-Limit": str(item.amount),
                    "RateLimit-Remaining": str(stats.remaining),
                    "RateLimit-Reset": str(wait),
                }
            )
            raise error

    def _log_store_failure(self) -> None:
        now = time.monotonic()
        if now - self._last_failure_log > 10:  # at most one line per 10 s
            self._last_failure_log = now
            log.warning("rate-limit store unreachable: requests are let through", exc_info=True)
