"""The dispatcher: turns the event feed into signed webhook deliveries.

One loop per process (inside ``ordergate serve`` unless ``ORDERGATE_RUN_DISPATCHER=false``,
and in each ``ordergate worker``). Each turn it queues new events for their endpoints,
claims due deliveries up to its free capacity and sends each in its own task; a finished
delivery wakes the loop, because it may have unblocked the next event of the same order.
Several dispatchers share the work through the database (see ``deliveries``).

Each request carries the Standard Webhooks headers (``webhook-id``: the delivery's id, the
same on every attempt; ``webhook-timestamp``; ``webhook-signature: v1,<base64 HMAC-SHA256>``
signed with the ``standardwebhooks`` package). Any 2xx is success; redirects are not
followed. At most :data:`RESPONSE_LIMIT` bytes of an answer are read.

Outbound policy, checked again at every attempt: unless private targets are allowed, the
host name is resolved, every address must be global, and the request goes to the checked
address (with the original ``Host`` and TLS server name), so a name cannot be re-pointed at
an internal address between the check and the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from standardwebhooks import Webhook

from ordergate import __version__, metrics
from ordergate.db import Database
from ordergate.events import deliveries
from ordergate.settings import Settings

log = logging.getLogger("ordergate.dispatcher")

RESPONSE_LIMIT = 4096  # bytes of a receiver's answer read (the start goes into the log)
FAN_OUT_BATCH = 500  # events queued per endpoint per transaction
QUEUE_DEPTH_EVERY = 5.0  # seconds between two readings of the queue depth for the gauge

Resolver = Callable[[str, int], Awaitable[list[str]]]


class Refused(Exception):
    """The target is not allowed by the outbound policy."""


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def pinned_request(
    url: str, *, allow_private: bool, resolve: Resolver = _resolve
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL to connect to, extra headers and httpx extensions for a delivery to ``url``.

    Raises :class:`Refused` when the target resolves to a non-global address (or to none).
    """
    parts = urlsplit(url)
    if allow_private or parts.hostname is None:
        return url, {}, {}
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in await resolve(host, port)]
        except OSError as exc:
            raise Refused(f"cannot resolve {host}: {exc.strerror or exc}") from None
    if not addresses:
        raise Refused(f"{host} resolves to no address")
    for address in addresses:
        if not address.is_global:
            raise Refused(f"{host} resolves to {address}, which is not a public address")
    target = addresses[0]
    literal = f"[{target}]" if target.version == 6 else str(target)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), headers, extensions


def backoff(settings: Settings, attempt: int) -> dt.timedelta:
    """The wait after failed attempt number ``attempt`` (1-based): exponential, +/-20% jitter."""
    base = settings.webhook_backoff_seconds * settings.webhook_backoff_factor ** (attempt - 1)
    return dt.timedelta(seconds=base * random.uniform(0.8, 1.2))


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        resolve: Resolver = _resolve,
    ) -> None:
        self.db = db
        self.settings = settings
        self._resolve = resolve
        self._client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address check
            limits=httpx.Limits(max_connections=settings.webhook_concurrency),
            headers={"User-Agent": f"ordergate/{__version__} (webhooks)"},
        )
        self._wake = asyncio.Event()
        self._depth_read_at = 0.0
        self._stopping = False
        self._in_flight: dict[asyncio.Task[None], deliveries.Claimed] = {}

    # --- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`; then wind down (see :meth:`_wind_down`). Database errors
        are logged and the turn retried after a pause."""
        log.info("dispatcher started (%d concurrent deliveries)", self.settings.webhook_concurrency)
        try:
            while not self._stopping:
                try:
                    busy = await self.step()
                except Exception:
                    log.exception("dispatcher step failed; retrying shortly")
                    busy = False
                await self._report_queue_depth()
                if busy or self._stopping:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)
        finally:
            await self._wind_down()

    async def _report_queue_depth(self) -> None:
        """Keep the queue-depth gauge current in processes without /metrics (workers)."""
        if time.monotonic() - self._depth_read_at < QUEUE_DEPTH_EVERY:
            return
        self._depth_read_at = time.monotonic()
        with contextlib.suppress(Exception):
            async with self.db.read() as conn:
                metrics.WEBHOOK_QUEUE_DEPTH.set(await deliveries.queue_depth(conn))

    def stop(self) -> None:
        """Ask :meth:`run` to stop claiming and return once attempts in flight are done."""
        self._stopping = True
        self._wake.set()

    async def _wind_down(self) -> None:
        """Let the attempts in flight finish for the shutdown grace (at most the webhook
        timeout, which bounds an attempt anyway); cut the rest short and give their deliveries
        back. Without the give-back a stopped dispatcher's deliveries would wait for their
        leases to expire (a minute by default) before another dispatcher could send them.
        A cut attempt is neither counted nor logged: the receiver may have had the request, so
        it comes again with the same webhook-id (deliveries are at least once)."""
        if self._in_flight:
            grace = min(self.settings.shutdown_grace_seconds, self.settings.webhook_timeout_seconds)
            _, pending = await asyncio.wait(set(self._in_flight), timeout=grace)
            cut = [self._in_flight[task] for task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if cut:
                try:
                    async with self.db.write() as conn:
                        released = await deliveries.release(conn, cut)
                    log.info("gave back %d deliveries cut short by the shutdown", released)
                except Exception:
                    log.exception("could not give deliveries back; their leases will expire")
        await self._client.aclose()
        log.info("dispatcher stopped")

    async def step(self) -> bool:
        """Queue new events and start due deliveries. True if there may be more to do now."""
        queued_more = await self.fan_out()
        free = self.settings.webhook_concurrency - len(self._in_flight)
        if free <= 0:
            return False
        now = dt.datetime.now(dt.UTC)
        async with self.db.write() as conn:
            claimed = await deliveries.claim(
                conn, now=now, limit=free, lease_seconds=self.settings.webhook_lease_seconds
            )
        for c in claimed:
            task = asyncio.create_task(self._deliver(c))
            self._in_flight[task] = c
            task.add_done_callback(self._done)
        return queued_more or len(claimed) == free

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()

    async def fan_out(self) -> bool:
        """Queue deliveries for new events. True if some endpoint may still be behind."""
        async with self.db.read() as conn:
            if not await deliveries.endpoints_behind(conn, 1, lock=False):
                return False
        now = dt.datetime.now(dt.UTC)
        queued = 0
        more = False
        async with self.db.write() as conn:
            for endpoint in await deliveries.endpoints_behind(conn, 50, lock=True):
                n, full = await deliveries.fan_out(
                    conn,
                    endpoint,
                    batch=FAN_OUT_BATCH,
                    max_attempts=self.settings.webhook_max_attempts,
                    now=now,
                )
                queued += n
                more = more or full
        metrics.WEBHOOK_QUEUED.inc(queued)
        return more

    async def drain(self) -> None:
        """Wait for the attempts in flight (tests)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    # --- one attempt --------------------------------------------------------------------

    async def _deliver(self, claimed: deliveries.Claimed) -> None:
        attempt = await self._attempt(claimed)
        number = claimed.attempts + 1
        now = dt.datetime.now(dt.UTC)
        try:
            async with self.db.write() as conn:
                status = await deliveries.finish(
                    conn, claimed, attempt, retry_after=backoff(self.settings, number), now=now
                )
        except Exception:
            # The lease runs out and the delivery is attempted again: at least once.
            log.exception("could not record attempt %d of delivery %s", number, claimed.id)
            return
        metrics.WEBHOOK_LATENCY.observe(attempt.latency_ms / 1000)
        if status is None:
            log.warning("delivery %s was taken over by another dispatcher", claimed.id)
            return
        outcome = {"pending": "retrying"}.get(status, status)
        metrics.WEBHOOK_ATTEMPTS.labels(outcome).inc()
        log.info(
            "webhook %s attempt %d to endpoint %s: %s%s",
            claimed.id,
            number,
            claimed.endpoint_id,
            attempt.status_code or "no answer",
            f" ({attempt.error})" if attempt.error else "",
        )

    async def _attempt(self, claimed: deliveries.Claimed) -> deliveries.Attempt:
        body = orjson.dumps(claimed.event).decode()
        sent_at = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                status, error = await self._post(claimed, body, sent_at)
        except Refused as exc:
            error = f"refused by the outbound policy: {exc}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except Exception as exc:  # noqa: BLE001 - every failure is a failed attempt, logged
            # httpx errors (connection refused, protocol errors) and anything else about this
            # target (a name that cannot be encoded, ...): never leave the delivery unrecorded.
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency_ms = round((time.perf_counter() - started) * 1000)
        return deliveries.Attempt(sent_at, latency_ms, status, error)

    async def _post(
        self, claimed: deliveries.Claimed, body: str, sent_at: dt.datetime
    ) -> tuple[int, str | None]:
        msg_id = str(claimed.id)
        signature = Webhook(claimed.secret).sign(msg_id, sent_at, body)
        url, extra_headers, extensions = await pinned_request(
            claimed.url, allow_private=self.settings.webhook_allow_private, resolve=self._resolve
        )
        headers = {
            **extra_headers,
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",  # the answer is read raw, and only its start
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
        }
        request = self._client.build_request(
            "POST", url, content=body.encode(), headers=headers, extensions=extensions
        )
        response = await self._client.send(request, stream=True)
        try:
            answer = await _read_some(response, RESPONSE_LIMIT)
        finally:
            await response.aclose()
        if 200 <= response.status_code < 300:
            return response.status_code, None
        if response.is_redirect:
            return response.status_code, "redirects are not followed"
        text = answer.decode("utf-8", "replace").strip()
        return response.status_code, f"answer: {text[:200]}" if text else None


async def _read_some(response: httpx.Response, limit: int) -> bytes:
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= limit:
            break
    return data[:limit]
