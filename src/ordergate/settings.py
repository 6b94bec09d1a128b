"""All configuration, read once from ``ORDERGATE_*`` environment variables.

One :class:`Settings` object is built by ``create_app`` or the CLI and handed down; nothing
reads the environment at import time. Every field is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGATE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./ordergate.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)

    # A request body must arrive within body_timeout_seconds of its first byte (imports: no
    # total), with never more than body_idle_timeout_seconds between two pieces; else 408.
    # Slow-body (slowloris-style) clients cannot hold a worker's connection for long.
    body_timeout_seconds: float = Field(default=30, gt=0)
    body_idle_timeout_seconds: float = Field(default=10, gt=0)
    # Requests whose body is larger answer 413 before the body is read further.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The same for POST /v1/orders/batch (up to 1,000 orders) and for NDJSON imports.
    batch_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    import_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    # An import's body is spooled and processed in chunks of about this many bytes (whole
    # lines; one transaction each). A runner holds an import this long between two chunks.
    import_chunk_bytes: int = Field(default=1024 * 1024, ge=1024)
    import_lease_seconds: float = Field(default=60, gt=0)
    # Processes that parse and validate import lines beside the one writing them (0: in the
    # writing process itself). Each runs the whole validation of a chunk.
    import_processes: int = Field(default=2, ge=0, le=32)
    # How long a verified API key is trusted before the database is asked again. Bounds how
    # long a revoked key keeps working on a process that has just seen it (0 = ask every time).
    # Half a second, so that a revocation reaches every process within a second even counting
    # the look-up and the request in flight (one indexed read per key per process per 0.5 s).
    auth_cache_seconds: float = Field(default=0.5, ge=0)
    # Pool of database connections per process (PostgreSQL; SQLite readers).
    db_pool_size: int = Field(default=20, ge=1)

    # Oldest-first listings on PostgreSQL show orders once their time is this old, so that a
    # client paging forward never passes an order whose transaction commits late.
    list_settle_seconds: float = Field(default=1.0, ge=0, le=60)

    # Per API key, in the notation of the `limits` library ("off" disables). The default is
    # 5,000 requests/s sustained with bursts up to 50,000: far above what an integration sends.
    rate_limit: str = "50000/10 seconds"
    # Shared rate-limit buckets for all processes (redis://host:port/db); per process if unset.
    redis_url: str | None = None

    # Webhook URLs may point at loopback, private and link-local addresses (tests, and
    # deployments whose receivers live on a private network).
    webhook_allow_private: bool = False

    # Whether `ordergate serve` also runs the background jobs: the event dispatcher and the
    # import runner (turn it off when separate `ordergate worker` processes run them).
    run_dispatcher: bool = True
    # Webhook delivery: per-attempt timeout; attempts in all (the first included); the wait
    # before the first retry, multiplied by the factor for each retry after it (each wait then
    # jittered by +/-20%). Defaults: 8 attempts over about 23 hours.
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=15, gt=0)
    webhook_backoff_factor: float = Field(default=4, ge=1)
    # A dispatcher holds a claimed delivery this long; past it (the dispatcher died), another
    # takes it over. Longer than the timeout, so a live attempt is never taken over.
    webhook_lease_seconds: float = Field(default=60, gt=0)
    # How often an idle dispatcher looks for new events and due retries; how many deliveries
    # one dispatcher makes at once.
    webhook_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)

    # At SIGTERM: how long `serve` lets HTTP requests in flight finish, and then how long a
    # stopping dispatcher lets its webhook attempts run (at most the webhook timeout) before
    # it cuts them short and gives their deliveries back for another dispatcher at once.
    shutdown_grace_seconds: float = Field(default=10, gt=0, le=300)

    # Idempotency-Key: how long a stored response is replayed; after how long an unfinished
    # claim (its process died) is taken over; how often expired keys are purged.
    idempotency_retention_seconds: float = Field(default=86400, gt=0)
    idempotency_lock_seconds: float = Field(default=60, gt=0)
    idempotency_purge_seconds: float = Field(default=600, gt=0)

    # The operator console (/console): how long a sign-in lasts; whether its cookie is marked
    # Secure (unset: when the request came over https, which behind a TLS-terminating proxy it
    # does not, since `serve` ignores forwarded headers: set true there).
    console_session_hours: float = Field(default=12, gt=0, le=720)
    console_secure_cookie: bool | None = None

    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _lease_outlasts_timeout(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must be longer than webhook_timeout_seconds")
        return self

    @field_validator("rate_limit")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        if value and value != "off":
            from limits import parse_many

            parse_many(value)  # raises ValueError with limits' own message
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    log_format: Literal["text", "json"] = "text"
