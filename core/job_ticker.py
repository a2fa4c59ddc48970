"""Periodic jobs for rq workers: each queued at most once per period across every worker (a Redis lock)."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)


class Ticker:
    """A daemon thread in a worker process that queues the app's periodic jobs when they are due.

    Every worker runs one; the first to take the job's lock (``SET NX`` expiring a little
    before the period ends) queues it, the others skip that round. A Redis error is logged and tried again at
    the next round, so a worker that outlives a Redis outage resumes on its own.
    """

    def __init__(self, queue: Any, every: list[tuple[float, str, tuple[Any, ...]]]) -> None:
        self.queue = queue  # an rq Queue
        self.every = every
        self.stopped = threading.Event()

    def start(self) -> Ticker:
        if self.every:
            threading.Thread(target=self._work, name="mizan-ticker", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def _work(self) -> None:
        due = [time.monotonic() + seconds for seconds, _job, _args in self.every]
        while not self.stopped.is_set():
            now = time.monotonic()
            for index, (seconds, job, args) in enumerate(self.every):
                if due[index] <= now:
                    due[index] = now + seconds
                    self._tick(seconds, job, args)
            self.stopped.wait(max(0.05, min(due) - time.monotonic()))

    def _tick(self, seconds: float, job: str, args: tuple[Any, ...]) -> None:
        lock = f"mizan:periodic:{self.queue.name}:{job}"
        try:
            if self.queue.connection.set(lock, "1", nx=True, px=max(1, int(seconds * 900))):
                self.queue.enqueue(job, *args, job_timeout=600, result_ttl=600)
        except Exception:  # e.g. Redis unreachable for a while
            log.exception("could not queue the periodic job %s", job)
