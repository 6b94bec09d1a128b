"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 in a thread.

Every request is recorded with its headers and body, and checked with the public Standard
Webhooks algorithm (the ``standardwebhooks`` package's ``Webhook.verify``). What it answers is
decided per request by ``answer(request)``: a status code, or ``HANG`` to hold the request
open until the receiver is closed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

HANG = -1


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int | None = None

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    secret: str
    answer: Callable[[Received], int] = lambda r: 200
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    body: bytes = b"ok"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except (WebhookVerificationError, ValueError, KeyError):
                    verified = False
                got = Received(headers, body, verified)
                with receiver._lock:
                    receiver.requests.append(got)
                status = receiver.answer(got)
                if status == HANG:
                    receiver._release.wait(30)
                    return
                got.answered = status
                self.send_response(status)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def succeeded(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.answered is not None and r.answered < 300]

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
