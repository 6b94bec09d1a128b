"""Canonical-model validation alone, in process: what one core spends per order before any
HTTP or SQL, the way ``POST /v1/orders`` and imports validate (``validate_order_json``, and
for a body it leaves, ``parse_json`` + ``validate_order``). No server is running meanwhile."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import orders
from ordergate.orders.model import Order, validate_order, validate_order_json
from ordergate.web import parse_json


@dataclass(frozen=True, slots=True)
class Validation:
    count: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def _validate(body: bytes) -> Order:
    return validate_order_json(body) or validate_order(parse_json(body))


def run(seconds: float) -> Validation:
    bodies = [orders.with_ref(t, f"VAL-{i}") for i, t in enumerate(orders.templates(1_000))]
    for body in bodies[:50]:  # warm the code-table caches, as a running server has them
        _validate(body)
    timings: list[int] = []
    clock = time.perf_counter_ns
    began = clock()
    deadline = began + int(seconds * 1e9)
    i = 0
    while True:
        start = clock()
        _validate(bodies[i % len(bodies)])
        end = clock()
        timings.append(end - start)
        i += 1
        if end >= deadline:
            break
    timings.sort()
    return Validation(
        count=len(timings),
        seconds=(clock() - began) / 1e9,
        p50_ms=timings[len(timings) // 2] / 1e6,
        p99_ms=timings[min(len(timings) - 1, len(timings) * 99 // 100)] / 1e6,
    )
