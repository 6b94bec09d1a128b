"""Per-API-key rate limits (the ``limits`` library).

The limit is written in limits' notation, e.g. ``50000/10 seconds``: a burst of up to 50,000
requests, 5,000/s sustained. The sliding-window-counter strategy keeps two counters per key
(not one timestamp per request), so memory does not grow with the limit. Buckets live in the
process, or in Redis when ``ORDERGATE_REDIS_URL`` is set, shared by every process.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from ordergate.errors import OrdergateError


class RateLimited(OrdergateError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


def _redis_uri(url: str) -> str:
    # limits names its async Redis storage "async+redis://"; accept the usual redis:// too.
    return url if url.startswith("async+") else "async+" + url


class RateLimiter:
    def __init__(self, limit: str, redis_url: str | None = None) -> None:
        self.item: RateLimitItem | None = parse(limit) if limit and limit != "off" else None
        storage: Storage = MemoryStorage()
        if redis_url:
            shared = storage_from_string(_redis_uri(redis_url), key_prefix="ordergate")
            assert isinstance(shared, Storage)  # an "async+" URI gives an async storage
            storage = shared
        self._storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    def close(self) -> None:
        """Drop the Redis connections (limits' storages have no close of their own)."""
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()

    async def hit(self, key_id: str) -> None:
        """Count one request of this key; :class:`RateLimited` when over the limit."""
        if self.item is None:
            return
        if await self._limiter.hit(self.item, key_id):
            return
        stats = await self._limiter.get_window_stats(self.item, key_id)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        error = RateLimited(f"More than {self.item} for this API key; retry in {wait} s")
        error.headers.update(
            {
                "Retry-After": str(wait),
                "RateLimit-Limit": str(self.item.amount),
                "RateLimit-Remaining": str(stats.remaining),
                "RateLimit-Reset": str(wait),
            }
        )
        raise error
