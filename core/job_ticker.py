"""A worker's clock: rq's scheduler and the app's periodic jobs, in a thread of the worker process."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: Seconds between two looks at rq's scheduled jobs (retries waiting for their delay).
SCHEDULER_INTERVAL = 1  # whole seconds: rq derives its lock expiry from it
#: Seconds between two rounds of the dispatchers (:func:`core.jobs.dispatcher`); a round that
#: queued something is followed by another at once.
DISPATCH_INTERVAL = 0.5
#: Seconds before a starting worker's first dispatch round (the recovery and the other workers
#: cover the inbox meanwhile); tests/integration/test_jobs_redis.py's killed-worker test relies on it.
DISPATCH_START_DELAY = 2.0


class Ticker:
    """A daemon thread in a ``flask jobs worker`` process; it dies with the process.

    * **rq's scheduler**: the worker holding the queue's scheduler lock moves retries (and other
      delayed jobs) whose time has come back to the queue, once a second. rq's own
      ``with_scheduler`` forks a process for this, which outlives a worker killed with SIGKILL;
      a thread cannot. When the holder dies its lock expires and another worker takes it.
    * **dispatchers** (:func:`core.jobs.dispatcher`): run here directly, every
      :data:`DISPATCH_INTERVAL` (the first round :data:`DISPATCH_START_DELAY` after the start), again at once while
      they find work; they claim what they queue, so every worker may run them.
    * **periodic jobs** (:func:`core.jobs.every`): every worker runs the clock, and the first to
      take the job's lock (``SET NX`` expiring a little before the period ends) queues it; the
      others skip that round.

    A Redis error is logged and tried again at the next round, so a worker that outlives a Redis
    outage resumes on its own.
    """

    def __init__(self, queue: Any, every: list[tuple[float, str, tuple[Any, ...]]],
                 dispatch: Callable[[], int] | None = None) -> None:
        self.queue = queue  # an rq Queue
        self.every = every
        self.dispatch = dispatch
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._work, name="mizan-ticker", daemon=True)

    def start(self) -> Ticker:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(10)

    def _work(self) -> None:
        from rq.scheduler import RQScheduler

        scheduler = RQScheduler([self.queue], connection=self.queue.connection, interval=SCHEDULER_INTERVAL)
        due = [time.monotonic() + seconds for seconds, _job, _args in self.every]
        next_schedule = time.monotonic()
        next_dispatch = time.monotonic() + DISPATCH_START_DELAY if self.dispatch else float("inf")
        try:
            while not self.stopped.is_set():
                now = time.monotonic()
                if next_schedule <= now:
                    next_schedule = now + SCHEDULER_INTERVAL
                    self._schedule(scheduler)
                if next_dispatch <= now and self.dispatch is not None:
                    # Errors are logged by the dispatch itself; work found: look again at once.
                    next_dispatch = now if self.dispatch() else time.monotonic() + DISPATCH_INTERVAL
                for index, (seconds, job, args) in enumerate(self.every):
                    if due[index] <= now:
                        due[index] = now + seconds
                        self._tick(seconds, job, args)
                self.stopped.wait(max(0.05, min([next_schedule, next_dispatch, *due]) - time.monotonic()))
        finally:
            try:
                if scheduler.acquired_locks:
                    scheduler.release_locks()
                    scheduler.register_death()
            except Exception:
                log.exception("could not release the scheduler lock")

    def _schedule(self, scheduler: Any) -> None:
        try:
            if scheduler.should_reacquire_locks and scheduler.acquire_locks():
                scheduler.register_birth()
            if scheduler.acquired_locks:
                scheduler.heartbeat()
                scheduler.enqueue_scheduled_jobs()
        except Exception:  # e.g. Redis unreachable for a while
            log.exception("could not move due retries to the queue")

    def _tick(self, seconds: float, job: str, args: tuple[Any, ...]) -> None:
        lock = f"mizan:periodic:{self.queue.name}:{job}"
        try:
            if self.queue.connection.set(lock, "1", nx=True, px=max(1, int(seconds * 900))):
                self.queue.enqueue(job, *args, job_timeout=600, result_ttl=600)
        except Exception:  # e.g. Redis unreachable for a while
            log.exception("could not queue the periodic job %s", job)
