"""Slow-client probe: a server under gunicorn, connections that never finish their request, timed GETs."""
from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """``gunicorn ARGS --bind 127.0.0.1:<free port>`` from ``cwd``, output to ``log``; ready once ``/healthz`` answers."""

    def __init__(self, gunicorn: Path, args: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [str(gunicorn), *args, "--bind", f"127.0.0.1:{self.port}"]
        self.env, self.cwd, self.log = {**os.environ, **env}, cwd, log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=output,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer within 60 s: {self.log.read_text()[-2000:]}")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SlowClients:
    """``count`` connections that send a request line, then one header byte a second, never finishing.

    A slowloris in miniature, bounded: loopback only, ``count`` sockets, stopped on exit.
    """

    def __init__(self, port: int, count: int, path: str = "/login") -> None:
        self.port, self.count, self.path = port, count, path
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, name="slow-clients", daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            connection.sendall(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
            self.sockets.append(connection)
        self.thread.start()
        return self

    def _trickle(self) -> None:
        while not self.stopped.wait(1.0):
            for connection in self.sockets:
                try:
                    connection.sendall(b"a")
                except OSError:  # the server closed it: that is what a good setup does, in time
                    pass

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stopped.set()
        self.thread.join(5)
        for connection in self.sockets:
            connection.close()


def timed_gets(url: str, count: int, timeout: float) -> list[float | None]:
    """Seconds each of ``count`` sequential GETs of ``url`` took to answer 200 (None: error or timeout)."""
    times: list[float | None] = []
    for _ in range(count):
        started = time.monotonic()
        try:
            ok = httpx.get(url, timeout=timeout).status_code == 200
        except httpx.HTTPError:
            ok = False
        times.append(time.monotonic() - started if ok else None)
    return times
