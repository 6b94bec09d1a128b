"""Prometheus metrics (``GET /metrics``; ``ordergate worker --metrics-port``).

Metrics live in the process that records them: with several processes, scrape each one (the
queue depth is read from the database at scrape time, so any process reports it).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOK_ATTEMPTS = Counter(
    "ordergate_webhook_attempts",
    "Webhook delivery attempts by outcome: succeeded, retrying (failed, another attempt is "
    "scheduled) or failed (failed, no attempts left)",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "ordergate_webhook_delivery_seconds",
    "Time from sending a webhook to its receiver's answer (or the failure)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_QUEUE_DEPTH = Gauge(
    "ordergate_webhook_queue_depth", "Webhook deliveries pending (due now or waiting to retry)"
)
WEBHOOK_QUEUED = Counter(
    "ordergate_webhook_deliveries_queued", "Webhook deliveries queued from the event feed"
)

for _outcome in ("succeeded", "retrying", "failed"):
    WEBHOOK_ATTEMPTS.labels(_outcome)
