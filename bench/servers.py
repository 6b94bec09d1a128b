"""Server processes and CLI calls for the benchmark.

Every server is started in its own session (process group), so that stopping it reaches
uvicorn's worker processes too, and every started server is registered so that it is
stopped when the harness exits for any reason (normal end, exception, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CACHE = ROOT / "bench" / ".cache"
LOGS = CACHE / "logs"
# Process groups of the servers this harness started, so that a run that was killed outright
# (SIGKILL, a closed terminal) has its servers stopped by the next run.
PIDS = CACHE / "servers.pids"

_running: list[Server] = []


class Server:
    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], port: int) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _running.append(self)
        with PIDS.open("a") as f:
            f.write(f"{self.proc.pid}\n")

    def wait_ready(self, path: str = "/healthz", timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s; see {self.log_path}")

    def pids(self) -> list[int]:
        """The server's process and its worker processes (uvicorn's children)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.proc.pid:
                    children.append(int(stat.parent.name))
        return [self.proc.pid, *children]

    def stop(self) -> None:
        if self in _running:
            _running.remove(self)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        # Whatever is left of the group (a stuck worker) is killed outright.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._log.close()


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each of ``pids`` (gone ones are left out)."""
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def pg_backends(database: str) -> tuple[list[int], int | None]:
    """The PostgreSQL backends serving ``database`` (from their process titles), and the
    postmaster's pid (their parent)."""
    needle = f" {database} ".encode()
    pids, postmaster = [], None
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            title = cmdline.read_bytes()
            if title.startswith(b"postgres: ") and needle in title:
                pid = int(cmdline.parent.name)
                pids.append(pid)
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                postmaster = int(stat[1])
    return pids, postmaster


def reaped_cpu_seconds(pid: int | None) -> float:
    """CPU seconds of the exited children that ``pid`` has reaped (cutime + cstime)."""
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / _TICK
    return 0.0


async def _pg_sessions(dsn: str, database: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        n = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = $1", database
        )
        return int(n or 0)
    finally:
        await conn.close()


class CpuMeter:
    """What one point cost, between :meth:`start` and :meth:`stop`: CPU seconds of the
    server's processes and of PostgreSQL, and the PostgreSQL sessions that ended.

    CPU per operation is a figure that a busy machine barely moves (unlike throughput), so it
    compares across runs and with the baseline. PostgreSQL's CPU is that of the live backends
    of the point's database plus that of every backend that exited meanwhile (reaped by the
    postmaster, whatever its database): a pool that opens and closes connections under load
    pays for each backend's start, and that cost is counted. Ended sessions show that churn.
    """

    def __init__(self, server: Server, database: str | None, admin_dsn: str) -> None:
        self.server = server
        self.database = database
        self.dsn = admin_dsn.rsplit("/", 1)[0] + "/" + (database or "")

    def _sample(self) -> tuple[dict[int, float], dict[int, float], float, int]:
        app = cpu_seconds(self.server.pids())
        if not self.database:
            return app, {}, 0.0, 0
        backends, postmaster = pg_backends(self.database)
        sessions = asyncio.run(_pg_sessions(self.dsn, self.database))
        return app, cpu_seconds(backends), reaped_cpu_seconds(postmaster), sessions

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> tuple[float, float, int]:
        """(server CPU seconds, PostgreSQL CPU seconds, PostgreSQL sessions ended)."""
        app0, db0, reaped0, sessions0 = self._before
        app1, db1, reaped1, sessions1 = self._sample()

        def spent(before: dict[int, float], now: dict[int, float]) -> float:
            # A process that appeared meanwhile (a new pool connection) counts from zero.
            return sum(t - before.get(pid, 0.0) for pid, t in now.items())

        # The session that read the "before" figures ended inside the window: not ours.
        ended = max(0, sessions1 - sessions0 - 1) if self.database else 0
        return spent(app0, app1), spent(db0, db1) + reaped1 - reaped0, ended


def stop_all() -> None:
    for server in list(_running):
        server.stop()
    PIDS.unlink(missing_ok=True)


def reap_leftovers() -> None:
    """Stop the servers that a previous, killed run left behind (by their recorded ids)."""
    if not PIDS.exists():
        return
    for pid in {int(x) for x in PIDS.read_text().split()}:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"ordergate" in cmdline or b"bench.baseline" in cmdline:
                print(f"stopping server {pid} left by an earlier run", flush=True)
                os.killpg(pid, signal.SIGKILL)
    PIDS.unlink(missing_ok=True)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_sigterm)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ordergate_env(database_url: str) -> dict[str, str]:
    # Access logs off for ordergate and the baseline alike: both are measured without
    # writing a log line per request (the figures are about the request path itself).
    return {"ORDERGATE_DATABASE_URL": database_url, "ORDERGATE_LOG_LEVEL": "warning"}


def ordergate(name: str, database_url: str, workers: int) -> Server:
    port = free_port()
    argv = [str(BIN / "ordergate"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers)]
    return Server(name, argv, ordergate_env(database_url), port)


def baseline(name: str, dsn: str, organisation_id: str, workers: int) -> Server:
    port = free_port()
    argv = [str(BIN / "python"), "-m", "uvicorn", "bench.baseline:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    argv += ["--no-access-log", "--log-level", "warning", "--app-dir", str(ROOT)]
    env = {"BENCH_BASELINE_DSN": dsn, "BENCH_BASELINE_ORG": organisation_id}
    return Server(name, argv, env, port)


def cli_json(database_url: str, *args: str) -> Any:
    """Run ``ordergate ARGS --json`` against a database and return what it printed."""
    out = subprocess.run(
        [str(BIN / "ordergate"), *args, "--json"],
        env={**os.environ, **ordergate_env(database_url)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def create_org_and_key(database_url: str, trkref: str) -> tuple[str, str]:
    """(organisation id, bearer token) of a new organisation, made through the CLI."""
    org = cli_json(database_url, "org", "create", trkref)
    key = cli_json(database_url, "key", "create", trkref)
    return org["id"], key["token"]
