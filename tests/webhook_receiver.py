"""A real webhook receiver on loopback (http.server in a thread), for tests and the benchmark.

It verifies each request's signature with its own code, written from the Standard Webhooks
specification (https://www.standardwebhooks.com/): the secret is "whsec_" + base64 of the key;
the signed content is "{webhook-id}.{webhook-timestamp}.{body}"; `webhook-signature` is a
space-separated list of "v1,<base64 HMAC-SHA256>" of which one must match. It answers each
request with the next behaviour of its script: an HTTP status, or "hang" (sleeps past the
sender's timeout), and then `default`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: int
    body: dict[str, Any]
    verified: bool
    answer: int | str


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's own check of a Standard Webhooks signature."""
    key = base64.b64decode(secret[len("whsec_") :])
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for signature in headers.get("webhook-signature", "").split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class Receiver:
    def __init__(
        self,
        secret: str = "",
        script: list[int | str] | None = None,
        *,
        default: int | str = 200,
        hang: float = 1.0,
    ) -> None:
        self.secret = secret
        self.script = list(script or [])
        self.default = default
        self.hang = hang
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = receiver._next()
                receiver._log(headers, body, answer)
                if answer == "hang":
                    time.sleep(receiver.hang)
                    answer = 200  # too late: the sender gave up
                self.send_response(int(answer))
                if 300 <= int(answer) < 400:
                    self.send_header("location", "/elsewhere")  # a sender must not follow it
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # many senders at once (the default backlog is 5)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _next(self) -> int | str:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _log(self, headers: dict[str, str], body: bytes, answer: int | str) -> None:
        verified = bool(self.secret) and verify(self.secret, headers, body)
        received = Received(
            webhook_id=headers["webhook-id"],
            timestamp=int(headers["webhook-timestamp"]),
            body=json.loads(body),
            verified=verified,
            answer=answer,
        )
        with self._lock:
            self.received.append(received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
