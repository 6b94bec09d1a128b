"""Where an ordergate worker spends its time on ``POST /v1/orders`` (``BENCH_PROFILE=S``).

Starts ``ordergate serve`` with one worker on PostgreSQL, loads it with wrk at 16
connections, and samples the worker with py-spy (installed from PyPI into the virtualenv on
first use) for S seconds. Prints and writes the hottest functions, by own time (the leaf
of each sampled stack) and by total time (on the stack at all), plus a flame graph (SVG).
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from bench import loadgen, orders, servers

_LINE = re.compile(r":\d+\)$")


def _py_spy() -> str:
    path = shutil.which("py-spy") or str(servers.BIN / "py-spy")
    if not Path(path).exists():
        print("   installing py-spy from PyPI into the virtualenv ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return path


def _frame(frame: str) -> str:
    """``create (ordergate/orders/service.py:93)`` → ``create (ordergate/orders/service.py)``:
    functions, not lines, are what add up."""
    return _LINE.sub(")", frame)


# Leaves that mean "this thread was waiting", not working (anyio's idle worker threads).
_IDLE = ("Condition.wait (threading.py)", "Condition.notify (threading.py)")


def _package(frame: str) -> str:
    """``create (ordergate/orders/service.py)`` → ``ordergate.orders``."""
    path = frame.rpartition(" (")[2].rstrip(")")
    parts = path.split("/")[:-1] or [path.removesuffix(".py")]
    return ".".join(parts[:2]) if parts[0] == "ordergate" else parts[0]


def summarise(raw: Path, top: int = 20) -> str:
    own: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")]
        if frames[-1] in _IDLE:
            idle += n
            continue
        samples += n
        own[frames[-1]] += n
        packages[_package(frames[-1])] += n
        for f in set(frames):
            if f.partition(" (")[2].startswith("ordergate/") and "cli.py" not in f:
                total[f] += n
    out = [
        f"{samples} samples of one ordergate worker under POST /v1/orders load "
        f"({idle} samples of idle threads left out)",
        "",
    ]
    for title, counter in (
        ("own time, by package (where the CPU goes)", packages),
        ("own time, by function (leaf of the sampled stack)", own),
        ("total time, ordergate's own functions (callees included)", total),
    ):
        out.append(f"-- {title}")
        for frame, n in counter.most_common(top):
            out.append(f"{100 * n / max(samples, 1):6.1f}%  {frame}")
        out.append("")
    return "\n".join(out)


def run(database_url: str, seconds: float, out: Path) -> None:
    print(f"== profile: py-spy on one ordergate worker for {seconds:g} s", flush=True)
    py_spy = _py_spy()
    templates = servers.CACHE / "templates.ndjson"
    templates.write_bytes(b"\n".join(orders.templates(1_000)) + b"\n")
    suffix = uuid.uuid4().hex[:6].upper()
    _, token = servers.create_org_and_key(database_url, f"BENCH-PROFILE-{suffix}")
    raw = servers.CACHE / "profile.raw.txt"
    svg = servers.CACHE / "profile.svg"
    with servers.running(servers.ordergate("profile", database_url, 1)) as s:
        args = ["post", token, str(templates), "/v1/orders", f"PROF{suffix}"]
        load = threading.Thread(
            target=loadgen.run,
            args=(s.url, args),
            kwargs={"connections": 16, "seconds": seconds + 4},
        )
        load.start()
        try:
            # With one worker, uvicorn serves in the `ordergate serve` process itself.
            # --nonblocking: sample without pausing the worker, so it runs at full speed.
            for fmt, path in (("raw", raw), ("flamegraph", svg)):
                subprocess.run(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(s.proc.pid),
                        "--duration",
                        str(max(1, round(seconds / 2))),
                        "--rate",
                        "200",
                        "--nonblocking",
                        "--format",
                        fmt,
                        "--output",
                        str(path),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=seconds + 60,
                )
        finally:
            load.join()
    text = summarise(raw)
    out.write_text(text + "\n")
    print(text)
    print(f"profile: {out.relative_to(servers.ROOT)}; flame graph: {svg.relative_to(servers.ROOT)}")
