"""Background jobs: rq on Redis when ``REDIS_URL`` is set, the same job functions in-process otherwise."""
from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from flask import Flask, current_app

from core.extensions import db

log = logging.getLogger(__name__)

#: Seconds between the retries of a failed job (rq's Retry intervals).
RETRY_INTERVALS = (5, 30, 120)


def enqueue(job: str, *args: Any, retries: int = len(RETRY_INTERVALS)) -> None:
    """Run the function at dotted path ``job`` with JSON-able ``args`` in the background.

    Call it after the transaction that made the work has committed.
    """
    current_app.extensions["mizan.jobs"].enqueue(job, args, retries)


def resolve(job: str) -> Callable[..., Any]:
    module_name, _, name = job.rpartition(".")
    return getattr(import_module(module_name), name)


class InlineQueue:
    """The embedded default: run the job now, in a fresh app context, retrying at once on error."""

    def enqueue(self, job: str, args: tuple[Any, ...], retries: int) -> None:
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

        self.connection = Redis.from_url(url)
        self.queue = Queue(name, connection=self.connection)
        self.intervals = intervals

    def enqueue(self, job: str, args: tuple[Any, ...], retries: int) -> None:
        from rq import Retry

        retry = Retry(max=retries, interval=list(self.intervals[:retries])) if retries else None
        self.queue.enqueue(job, *args, retry=retry, job_timeout=600, failure_ttl=7 * 24 * 3600)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        intervals = tuple(app.config.get("JOB_RETRY_INTERVALS", RETRY_INTERVALS))
        app.extensions["mizan.jobs"] = RedisQueue(url, app.config["JOB_QUEUE"], intervals)
    else:
        app.extensions["mizan.jobs"] = InlineQueue()


def make_worker(app: Flask) -> Any:
    """An rq worker that runs each job in its own app context (and so its own session)."""
    from rq import SimpleWorker

    queue: RedisQueue = app.extensions["mizan.jobs"]

    class AppWorker(SimpleWorker):
        def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
            # rq >= 2 also passes the job's Execution; pass through whatever this rq gives.
            with app.app_context():
                return super().perform_job(job, queue, *args, **kwargs)

    return AppWorker([queue.queue], connection=queue.connection)
