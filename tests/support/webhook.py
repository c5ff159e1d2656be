"""A real webhook receiver on 127.0.0.1 that keeps one copy per ``Idempotency-Key``, as a careful
receiver would: re-sent alerts are counted, never accepted twice. It can fail its first N calls, and hold
the request that arrives once ``hold_after`` alerts are in until :attr:`release` is set, so a test can kill
the sender while a request is in flight (mid-batch) without guessing at timing. It can also be down for a
while: :meth:`stop` closes its port and :meth:`start` opens the same port again, keeping what it accepted
(a sender's connections are refused meanwhile, as with a receiver that is down)."""
from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class IdempotentReceiver:
    def __init__(self, fail_first: int = 0, hold_after: int | None = None) -> None:
        self.fail_first, self.hold_after = fail_first, hold_after
        self.holding, self.release = threading.Event(), threading.Event()
        self.calls = 0
        self.accepted: dict[str, dict[str, Any]] = {}  # idempotency key → the alert, first copy
        self.seen: Counter[str] = Counter()           # idempotency key → requests answered 200
        self.missing_key = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0  # chosen on the first start, kept by later ones

    def answer(self, key: str | None, body: bytes) -> int:
        if self.hold_after is not None and self.count() >= self.hold_after and not self.release.is_set():
            self.holding.set()
            self.release.wait(120)  # a safety bound only: the test sets release once it has killed the sender
        with self._lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                return 503
            if not key:
                self.missing_key += 1
                return 400
            self.seen[key] += 1
            self.accepted.setdefault(key, json.loads(body))
            return 200

    @property
    def resent(self) -> int:
        with self._lock:
            return sum(self.seen.values()) - len(self.seen)

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answer(self.headers.get("Idempotency-Key"), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    @property
    def up(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
