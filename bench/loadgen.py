"""wrk, the load generator: installing it, running it, reading its result.

wrk (C, epoll, LuaJIT scripting) rather than a Python client: on a 2-core machine that also
runs the server and the database, a Python load generator would need a core of its own to
reach a few thousand requests/s and its own latency would pollute the percentiles. One wrk
thread drives 64 connections at tens of thousands of requests/s for a few percent of a core.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "wrk.lua"


@dataclass(frozen=True, slots=True)
class Load:
    requests: int
    seconds: float
    ok: int
    errors: int  # non-2xx answers + socket errors (connect, read, write, timeout)
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's packages if it is missing."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it with `sudo apt-get install -y wrk`")
    print("installing wrk from Debian's packages ...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "check": False}
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], **quiet)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], **{**quiet, "check": True})
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("could not install wrk")
    return path


def version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def run(url: str, args: list[str], *, connections: int, seconds: float) -> Load:
    """Drive ``url`` for ``seconds`` with ``connections`` and the Lua script's ``args``."""
    argv = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        # Far above any healthy latency: a request slower than this is an error, not a sample.
        "--timeout",
        "10s",
        "--script",
        str(SCRIPT),
        url,
        "--",
        *args,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    if out.stderr.strip():
        print("   wrk: " + out.stderr.strip().replace("\n", "\n   wrk: "), flush=True)
    r = json.loads(line.removeprefix("BENCH_RESULT "))
    return Load(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        ok=r["ok"],
        errors=r["non_2xx"] + r["socket_errors"],
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
    )
