"""The ordergate command: org/key management with --json, and the `make run` start-up
(`serve --demo`), which must answer /healthz and accept the curl example it prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ordergate import cli

ORDERGATE = [sys.executable, "-m", "ordergate"]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _run(args: list[str], env: dict[str, str], cwd: Path) -> Ran:
    """The command in this process (fast); ``serve`` is tested as a real process below."""
    result = CliRunner().invoke(cli.app, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"ORDERGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}


def test_org_and_key_commands_with_json(cli_env: dict[str, str], tmp_path: Path) -> None:
    created = _run(["org", "create", "ACME-UK", "--name", "Acme UK", "--json"], cli_env, tmp_path)
    assert created.returncode == 0, created.stderr
    org = json.loads(created.stdout)
    assert org["trkref"] == "ACME-UK"
    assert org["number"] == 1

    listed = json.loads(_run(["org", "list", "--json"], cli_env, tmp_path).stdout)
    assert [o["trkref"] for o in listed] == ["ACME-UK"]

    key = _run(["key", "create", "ACME-UK", "--scope", "orders:read", "--json"], cli_env, tmp_path)
    assert key.returncode == 0, key.stderr
    k = json.loads(key.stdout)
    assert set(k) >= {"key_id", "secret", "token"}
    assert k["token"] == f"{k['key_id']}.{k['secret']}"
    assert k["scopes"] == ["orders:read"]

    revoked = _run(["key", "revoke", k["key_id"]], cli_env, tmp_path)
    assert revoked.returncode == 0
    again = _run(["key", "revoke", "ogk_missing"], cli_env, tmp_path)
    assert again.returncode == 1
    assert "No API key" in again.stderr


def test_invalid_trkref_duplicate_org_and_unknown_scope_fail_clearly(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    bad = _run(["org", "create", "acme"], cli_env, tmp_path)
    assert bad.returncode == 1
    assert "TRKREF must match" in bad.stderr
    assert _run(["org", "create", "ACME"], cli_env, tmp_path).returncode == 0
    dup = _run(["org", "create", "ACME"], cli_env, tmp_path)
    assert dup.returncode == 1
    assert "already exists" in dup.stderr
    scope = _run(["key", "create", "ACME", "--scope", "orders:delete"], cli_env, tmp_path)
    assert scope.returncode == 1
    assert "Unknown scope" in scope.stderr


def test_every_command_has_help(cli_env: dict[str, str], tmp_path: Path) -> None:
    for args in (
        [],
        ["serve"],
        ["migrate"],
        ["org"],
        ["org", "create"],
        ["org", "list"],
        ["key"],
        ["key", "create"],
        ["key", "revoke"],
    ):
        r = _run([*args, "--help"], cli_env, tmp_path)
        assert r.returncode == 0, args
        assert "Usage" in r.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_demo_on_a_fresh_database_prints_a_working_curl_example(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """What `make run` does: migrate, create DEMO, print a token and curl, serve."""
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*ORDERGATE, "serve", "--demo", "--port", str(port)],
            env={**os.environ, **cli_env},
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Uvicorn running" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        assert "Uvicorn running" in text, text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200

        match = re.search(r"(curl -s -X POST .*?)\n\n", text, re.S)
        assert match, text
        curl = match.group(1)
        if shutil.which("curl"):
            out = subprocess.run(
                ["bash", "-c", curl], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        else:  # run the same request without curl
            token = re.search(r"ORDERGATE_TOKEN=(\S+)", text)
            assert token
            body = re.search(r"-d '(.*)'", curl)
            assert body
            out = httpx.post(
                f"http://127.0.0.1:{port}/v1/orders",
                content=body.group(1),
                headers={
                    "Authorization": f"Bearer {token.group(1)}",
                    "Content-Type": "application/json",
                },
            ).text
        order = json.loads(out)
        assert order["order_ref"] == "DEMO-1"
        assert order["status"] == "unfulfilled"
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    # a second start on the same database does not create another organisation
    org_list = _run(["org", "list", "--json"], cli_env, tmp_path)
    assert [o["trkref"] for o in json.loads(org_list.stdout)] == ["DEMO"]
