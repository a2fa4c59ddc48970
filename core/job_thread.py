"""The embedded job runner: one background thread per process, an in-memory queue, retries with delays."""
from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)


@dataclass(order=True)
class _Task:
    """A job due at ``due`` (monotonic seconds); ``period`` makes it come back after each run."""

    due: float
    seq: int
    job: str = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    retries: int = field(compare=False, default=0)
    attempt: int = field(compare=False, default=0)
    period: float | None = field(compare=False, default=None)


class ThreadQueue:
    """Runs jobs after the request that queued them, each in its own app context, one at a time.

    A failed job runs again after ``intervals[attempt]`` seconds (as rq's ``Retry`` does). When the
    thread starts it runs the app's start-up jobs (what was pending in memory was lost with the
    previous process) and then its periodic jobs every period. The thread is started on first use
    in each process (so a fork, e.g. a gunicorn worker, gets its own) and dies with the process.
    """

    def __init__(self, app: Flask, intervals: tuple[float, ...],
                 resolve: Callable[[str], Callable[..., Any]]) -> None:
        self.app = app
        self.intervals = intervals
        self.resolve = resolve
        self._tasks: list[_Task] = []
        self._seq = itertools.count()
        self._condition = threading.Condition()
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._busy = False

    def enqueue(self, job: str, args: tuple[Any, ...], retries: int, unique: str | None = None) -> None:
        self.start()
        self._push(_Task(time.monotonic(), next(self._seq), job, tuple(args), retries))

    def start(self) -> None:
        """Start this process's thread (once), queueing the start-up and periodic jobs first."""
        with self._condition:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stopping = False
            self._tasks = []
            now = time.monotonic()
            jobs = self.app.extensions.get("mizan.jobs.schedule", {})
            for job, args in jobs.get("at_start", ()):
                heapq.heappush(self._tasks, _Task(now, next(self._seq), job, args))
            for seconds, job, args in jobs.get("every", ()):
                heapq.heappush(self._tasks, _Task(now + seconds, next(self._seq), job, args, period=seconds))
            self._thread = threading.Thread(target=self._work, name="mizan-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Let the running job finish, drop the rest and end the thread (tests; a process exit does it too)."""
        with self._condition:
            self._stopping = True
            self._pid = None
            self._condition.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def idle(self) -> bool:
        """No job running and none due now (later retries and periodic jobs do not count)."""
        with self._condition:
            return not self._busy and not any(t.period is None and t.due <= time.monotonic() for t in self._tasks)

    def _push(self, task: _Task) -> None:
        with self._condition:
            heapq.heappush(self._tasks, task)
            self._condition.notify()

    def _next(self) -> _Task | None:
        with self._condition:
            while not self._stopping:
                now = time.monotonic()
                if self._tasks and self._tasks[0].due <= now:
                    self._busy = True
                    return heapq.heappop(self._tasks)
                self._condition.wait(self._tasks[0].due - now if self._tasks else None)
            return None

    def _work(self) -> None:
        while (task := self._next()) is not None:
            try:
                self._run(task)
            finally:
                with self._condition:
                    self._busy = False

    def _run(self, task: _Task) -> None:
        try:
            with self.app.app_context():
                self.resolve(task.job)(*task.args)
        except Exception:
            log.exception("job %s%r failed (attempt %d)", task.job, task.args, task.attempt + 1)
            if task.attempt < task.retries:
                delay = self.intervals[min(task.attempt, len(self.intervals) - 1)] if self.intervals else 0
                self._push(_Task(time.monotonic() + delay, next(self._seq), task.job, task.args,
                                 task.retries, task.attempt + 1))
        if task.period is not None:
            self._push(_Task(time.monotonic() + task.period, next(self._seq), task.job, task.args,
                             period=task.period))
