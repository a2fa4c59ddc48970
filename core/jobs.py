"""Background jobs: rq on Redis when ``REDIS_URL`` is set, the same job functions in-process otherwise."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import import_module
from typing import Any

from flask import Flask, current_app

from core.extensions import db
from core.job_thread import ThreadQueue
from core.job_ticker import Ticker

log = logging.getLogger(__name__)

#: Seconds to wait for a connection to Redis before an enqueue fails (and its caller carries on).
REDIS_CONNECT_TIMEOUT = 3

#: Seconds between the retries of a failed job (rq's Retry intervals).
RETRY_INTERVALS = (5, 30, 120)

#: True while a ``flask jobs worker`` performs a job (its dispatchers run beside it).
_IN_WORKER: ContextVar[bool] = ContextVar("mizan_in_worker", default=False)


@contextmanager
def as_worker() -> Iterator[None]:
    """Mark the block as a job of a ``flask jobs worker``: work its dispatchers pick up in batches
    (see :func:`dispatcher`) is left to them instead of being handed over at once."""
    token = _IN_WORKER.set(True)
    try:
        yield
    finally:
        _IN_WORKER.reset(token)


def in_worker() -> bool:
    """Whether this runs in a job of a ``flask jobs worker`` (see :func:`as_worker`)."""
    return _IN_WORKER.get()


def enqueue(job: str, *args: Any, retries: int = len(RETRY_INTERVALS), unique: str | None = None) -> None:
    """Run the function at dotted path ``job`` with JSON-able ``args`` in the background.

    Call it after the transaction that made the work has committed. ``unique`` names the job: on
    Redis, while a job of that name is still waiting (queued or scheduled for a retry), queueing it
    again does nothing, so a recovery round never piles copies onto a backed-up queue.
    """
    current_app.extensions["mizan.jobs"].enqueue(job, args, retries, unique)


def hand_over(job: str, *args: Any, unique: str | None = None) -> bool:
    """Queue ``job`` when jobs run in this process (inline: now; thread: wake the thread, no I/O).

    On Redis nothing is sent: returns False, and the caller's dispatcher (see :func:`dispatcher`)
    queues the work from the database in batches, so the caller never waits for Redis.
    """
    queue = current_app.extensions["mizan.jobs"]
    if isinstance(queue, RedisQueue):
        return False
    queue.enqueue(job, tuple(args), len(RETRY_INTERVALS), unique)
    return True


def enqueue_batch(job: str, calls: list[tuple[tuple[Any, ...], str]], retries: int = len(RETRY_INTERVALS)) -> None:
    """Queue ``job`` once per ``(args, unique)`` in ``calls``: on Redis in one pipeline (one round trip)."""
    queue = current_app.extensions["mizan.jobs"]
    if isinstance(queue, RedisQueue):
        queue.enqueue_batch(job, calls, retries)
        return
    for args, unique in calls:
        queue.enqueue(job, args, retries, unique)


def dispatcher(app: Flask, job: str) -> None:
    """Run ``job`` (no arguments; it returns how many jobs it queued) in every ``flask jobs worker``:
    about every :data:`core.job_ticker.DISPATCH_INTERVAL` seconds and whenever a burst worker finds
    its queue empty. Several workers run it at once, so it must claim what it queues."""
    _schedule(app)["dispatch"].append(job)


def dispatch(app: Flask) -> int:
    """Run the app's dispatchers once, each in its own app context; how many jobs they queued."""
    queued = 0
    for job in _schedule(app)["dispatch"]:
        try:
            with app.app_context():
                queued += int(resolve(job)() or 0)
        except Exception:  # e.g. Redis or the database away for a moment: the next round tries again
            log.exception("the dispatcher %s failed", job)
    return queued


def every(app: Flask, seconds: float, job: str, *args: Any) -> None:
    """Run ``job`` every ``seconds`` in the background: in rq workers (once per period across all
    of them) or in the in-process thread. Inline mode (tests) runs no periodic jobs."""
    _schedule(app)["every"].append((float(seconds), job, tuple(args)))


def at_start(app: Flask, job: str, *args: Any) -> None:
    """Run ``job`` when the in-process thread starts: jobs queued in memory died with the last process."""
    _schedule(app)["at_start"].append((job, tuple(args)))


def _schedule(app: Flask) -> dict[str, list[Any]]:
    return app.extensions.setdefault("mizan.jobs.schedule", {"every": [], "at_start": [], "dispatch": []})


def resolve(job: str) -> Callable[..., Any]:
    module_name, _, name = job.rpartition(".")
    return getattr(import_module(module_name), name)


class InlineQueue:
    """Synchronous mode (``JOBS_MODE = "inline"``, tests and commands): run the job now, in a fresh
    app context, retrying at once on error."""

    def enqueue(self, job: str, args: tuple[Any, ...], retries: int, unique: str | None = None) -> None:
        if db.session().in_transaction():
            db.session.commit()  # the caller's work is done; free SQLite's write lock
        function = resolve(job)
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        for attempt in range(retries + 1):
            try:
                with app.app_context():
                    function(*args)
                return
            except Exception:
                log.exception("job %s%r failed (attempt %d)", job, args, attempt + 1)


class RedisQueue:
    """rq on Redis: jobs survive restarts and run in ``flask jobs worker`` processes."""

    def __init__(self, url: str, name: str, intervals: tuple[int, ...]) -> None:
        from redis import Redis
        from rq import Queue

        # An unreachable Redis (packets dropped) fails an enqueue in seconds, not at the TCP timeout.
        self.connection = Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT)
        self.queue = Queue(name, connection=self.connection)
        self.intervals = intervals

    def enqueue(self, job: str, args: tuple[Any, ...], retries: int, unique: str | None = None) -> None:
        from rq import Retry

        # Named per queue (apps may share a Redis); rq takes only letters, digits, "_" and "-".
        job_id = re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.queue.name}--{unique}") if unique is not None else None
        if job_id is not None and self._waiting(job_id):
            return
        retry = Retry(max=retries, interval=list(self.intervals[:retries])) if retries else None
        self.queue.enqueue(job, *args, retry=retry, job_id=job_id, job_timeout=600, failure_ttl=7 * 24 * 3600)

    def enqueue_batch(self, job: str, calls: list[tuple[tuple[Any, ...], str]], retries: int) -> None:
        """Queue ``job`` once per ``(args, unique)``, all in one pipeline (fresh work: no waiting check)."""
        from rq import Queue, Retry

        retry = Retry(max=retries, interval=list(self.intervals[:retries])) if retries else None
        datas = [
            Queue.prepare_data(job, args, retry=retry, timeout=600, failure_ttl=7 * 24 * 3600,
                               job_id=re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.queue.name}--{unique}"))
            for args, unique in calls
        ]
        with self.connection.pipeline() as pipe:
            self.queue.enqueue_many(datas, pipeline=pipe)
            pipe.execute()

    def _waiting(self, job_id: str) -> bool:
        """Whether the job ``job_id`` waits to run (a started one may belong to a dead worker: not counted)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            status = Job.fetch(job_id, connection=self.connection).get_status()
        except NoSuchJobError:
            return False
        return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def init_app(app: Flask) -> None:
    """Pick the queue: Redis when ``REDIS_URL`` is set, else by ``JOBS_MODE`` ("inline" or "thread")."""
    url = app.config.get("REDIS_URL")
    intervals = tuple(app.config.get("JOB_RETRY_INTERVALS", RETRY_INTERVALS))
    mode = app.config.get("JOBS_MODE") or "inline"
    if mode not in ("inline", "thread"):
        raise ValueError(f"JOBS_MODE must be 'inline' or 'thread', not {mode!r}")
    if url:
        app.extensions["mizan.jobs"] = RedisQueue(url, app.config["JOB_QUEUE"], intervals)
    elif mode == "thread":
        app.extensions["mizan.jobs"] = ThreadQueue(app, intervals, resolve)
    else:
        app.extensions["mizan.jobs"] = InlineQueue()


def run_in_background(app: Flask) -> None:
    """Serve without Redis: jobs run in this process's background thread, started now (``flask demo serve``)."""
    if app.config.get("REDIS_URL"):
        return
    app.config["JOBS_MODE"] = "thread"
    if not hasattr(app.extensions.get("mizan.jobs"), "start"):
        init_app(app)
    app.extensions["mizan.jobs"].start()


def make_worker(app: Flask) -> Any:
    """An rq worker that runs each job in its own app context (and so its own session)."""
    from rq import SimpleWorker

    queue: RedisQueue = app.extensions["mizan.jobs"]

    class AppWorker(SimpleWorker):
        def dequeue_job_and_maintain_ttl(self, timeout: int | None, *args: Any, **kwargs: Any) -> Any:
            result = super().dequeue_job_and_maintain_ttl(timeout, *args, **kwargs)
            # A burst worker (no timeout) that finds its queue empty asks the dispatchers first.
            while result is None and timeout is None and dispatch(app):
                result = super().dequeue_job_and_maintain_ttl(timeout, *args, **kwargs)
            return result

        def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
            # rq >= 2 also passes the job's Execution; pass through whatever this rq gives.
            with app.app_context(), as_worker():
                return super().perform_job(job, queue, *args, **kwargs)

    return AppWorker([queue.queue], connection=queue.connection)


def run_worker(app: Flask, *, burst: bool = False) -> bool:
    """``flask jobs worker``: an rq worker that also moves due retries back to the queue (rq's
    scheduler) and queues the app's periodic jobs, in a thread (see :class:`Ticker`).

    A ``burst`` worker queues the retries already due once, at start, and runs no periodic jobs.
    """
    queue: RedisQueue = app.extensions["mizan.jobs"]
    worker = make_worker(app)
    if burst:
        return worker.work(burst=True, with_scheduler=True)  # rq does not fork a scheduler in burst mode
    dispatchers = _schedule(app)["dispatch"]
    ticker = Ticker(queue.queue, list(_schedule(app)["every"]),
                    (lambda: dispatch(app)) if dispatchers else None).start()
    try:
        return worker.work()
    finally:
        ticker.stop()
