"""Plumbing shared by the platform sandboxes: a threaded HTTP server, a rate limiter, a request log."""
from __future__ import annotations

import argparse
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


@dataclass
class RecordedRequest:
    """One API call a sandbox received, kept so tests can assert what a plugin sent."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int = 0


@dataclass
class RequestLog:
    """Thread-safe list of the requests a sandbox answered."""

    entries: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, request: RecordedRequest) -> None:
        with self._lock:
            self.entries.append(request)

    def matching(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        """The requests with ``method`` whose path starts with ``path_prefix``."""
        with self._lock:
            return [r for r in self.entries if r.method == method and r.path.startswith(path_prefix)]

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


class LeakyBucket:
    """A platform-style rate limit: ``capacity`` requests, leaking ``leak_per_second``.

    ``throttle_next(n)`` makes the next ``n`` requests answer 429 whatever the bucket holds,
    so tests can prove a client honours ``Retry-After`` without sending hundreds of calls.
    """

    def __init__(self, capacity: int, leak_per_second: float, retry_after: float = 1.0) -> None:
        self.capacity = capacity
        self.leak_per_second = leak_per_second
        self.retry_after = retry_after
        self._level = 0.0
        self._updated = time.monotonic()
        self._forced = 0
        self._lock = threading.Lock()

    def throttle_next(self, count: int) -> None:
        with self._lock:
            self._forced += count

    def take(self, cost: float = 1.0) -> float | None:
        """Admit one request costing ``cost`` units (None) or return the seconds the caller must wait.

        The cost is 1 for request-counting limits; GraphQL-style limits pass the query's points.
        """
        with self._lock:
            if self._forced:
                self._forced -= 1
                return self.retry_after
            now = time.monotonic()
            self._level = max(0.0, self._level - (now - self._updated) * self.leak_per_second)
            self._updated = now
            if self._level + cost > self.capacity:
                return max(self.retry_after, (self._level + cost - self.capacity) / self.leak_per_second)
            self._level += cost
            return None

    def _level_now(self) -> float:
        """The bucket's level after leaking up to now (call with the lock held; no state change)."""
        elapsed = time.monotonic() - self._updated
        return max(0.0, self._level - elapsed * self.leak_per_second)

    def remaining(self) -> int:
        """Requests the bucket would admit right now (ignores ``throttle_next``)."""
        with self._lock:
            return max(0, math.floor(self.capacity - self._level_now()))

    def seconds_until_empty(self) -> float:
        """Seconds until the bucket has leaked empty (for ``X-RateLimit-Reset``-style headers)."""
        with self._lock:
            return self._level_now() / self.leak_per_second if self.leak_per_second else 0.0

    @staticmethod
    def header_value(seconds: float) -> str:
        """``Retry-After`` takes whole seconds."""
        return str(max(1, math.ceil(seconds)))


class _QuietHandler(WSGIRequestHandler):
    """Request handler that keeps the test output free of access-log lines."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class SandboxServer:
    """Serve a WSGI app on 127.0.0.1 in a background thread; use as a context manager.

    >>> with SandboxServer(app) as server:
    ...     httpx.get(server.url + "/ping")
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        # a short poll interval keeps stop() (and so each test's teardown) quick
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}"

    def start(self) -> SandboxServer:
        """Start serving; calling it again on a running server does nothing."""
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class DemoSandbox:
    """A platform's sandbox store as the demo (``make run``) uses it; see ``PlatformPlugin.demo_sandbox``."""

    #: The sandbox's WSGI app.
    app: Any
    #: Store credentials for the plugin, given the URL the sandbox is served at.
    credentials: Any
    #: Tell the sandbox where to send its webhooks (platforms where the ERP cannot subscribe).
    set_webhook_target: Any
    #: A line for the README/console: how to make the sandbox send an order.
    hint: str = ""


class TickingClock:
    """A sandbox's clock. Inside :meth:`ticking`, every reading is a second after the one before (kept
    between uses, so times never go back), as a store used at a merchant's pace orders its events'
    timestamps: whole-second timestamps stay in order while the simulation test enacts a history in
    milliseconds. Outside, it reads the time now."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.on = False
        self.at: datetime | None = None

    @contextmanager
    def ticking(self) -> Iterator[None]:
        now = datetime.now(self.zone)
        self.at = max(self.at, now) if self.at is not None else now
        self.on = True
        try:
            yield
        finally:
            self.on = False

    def read(self) -> datetime:
        if self.on and self.at is not None:
            self.at += timedelta(seconds=1)
            return self.at
        return datetime.now(self.zone)


def serve_until_interrupted(server: SandboxServer) -> None:
    """Keep a started sandbox serving until Ctrl-C, then stop it (the sandboxes' ``python -m … serve``)."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


def run_demo_sandbox(argv: Sequence[str] | None, *, prog: str, title: str, port: int,
                     make: Callable[[], Any], credentials: Callable[[Any, str], dict[str, str]]) -> None:
    """``python -m <prog> serve [--host H] [--port P]``: serve the seeded sandbox ``make()`` returns, print its
    credentials (``credentials(sandbox, url)``), and keep serving until Ctrl-C."""
    parser = argparse.ArgumentParser(prog=prog, description=f"Run the {title} sandbox store.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the sandbox seeded with the demo catalog")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=port)
    args = parser.parse_args(argv)
    sandbox = make()
    server = sandbox.serve(args.host, args.port).start()
    print(f"{title} sandbox store at {server.url} (control page {server.url}/_sandbox/)")
    for name, value in credentials(sandbox, server.url).items():
        print(f"  {name:16} {value}")
    serve_until_interrupted(server)
