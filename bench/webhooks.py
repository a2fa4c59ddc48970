"""Benchmark: webhook acknowledgements under gunicorn vs. a bare Flask app, and bookings per worker.

What it does, on a scratch database:

1. Builds the schema (the migrations), a warehouse, a branch, a walk-in client, a stocked product
   and a connected dummy store (the reference plugin, :mod:`core.testing.dummy`) with its
   connection key.
2. Serves Mizan with gunicorn (``-w 2`` by default, ``core:create_app()``, env ``DATABASE_URL``,
   ``REDIS_URL``, ``MIZAN_JOB_QUEUE`` and ``MIZAN_EXTRA_PLUGINS``) and fires ``-n`` signed order
   webhooks (distinct orders, distinct delivery ids) from ``--concurrency`` httpx threads:
   acknowledgements per second, p50 and p99 latency. Acknowledging is verify + one INSERT + one
   COMMIT (issue 12): nothing is sent to Redis and nothing is booked yet.
3. The same load against ``bench/bare_app.py`` (a Flask endpoint that only answers 200) under the
   same gunicorn settings: the floor the HTTP stack alone costs on this machine.
4. Times one rq burst worker (in this process, :func:`core.jobs.make_worker`) that also
   dispatches the inbox (it queues the stored deliveries in batches whenever its queue runs dry)
   over ``--bookings`` jobs: bookings per second per worker (jobs include the follow-up plugin
   events each booking enqueues).

Steps 2 and 3 alternate for ``--rounds`` rounds (both servers stay up), each round with fresh
deliveries; each round's ratio compares two runs made side by side.

Run: ``python bench/webhooks.py [-n 1000] [--rounds 3] [--concurrency 16] [--gunicorn-workers 2]
[--database-url URL] [--redis-url URL] [--port-range 8600-8699] [--bookings 300]``. The database defaults to a temporary SQLite file; a
PostgreSQL URL names the server, and the benchmark creates (and then drops) its own database
``<name>_bench_<pid>`` there. Redis defaults to ``REDIS_URL`` or ``redis://127.0.0.1:6379/0``;
the benchmark uses a queue of its own and deletes it afterwards. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import create_app  # noqa: E402
from core.config import normalise_database_url  # noqa: E402
from core.extensions import db  # noqa: E402
from core.testing.dummy import DELIVERY_HEADER, SIGNATURE_HEADER, sign  # noqa: E402

DUMMY_PLUGIN = "core.testing.dummy:DummyPlugin"
SECRET_KEY = secrets.token_hex(32)  # one per run, given to gunicorn and the workers
WEBHOOK_SECRET = "bench-webhook-secret"
BIN = Path(sys.executable).parent
#: Deliveries sent to each server before measuring (their orders are booked with the rest).
WARM_UP = 100


def scratch_database(url: str | None) -> tuple[str, Callable[[], None]]:
    """The database URL to use and a function that removes it afterwards."""
    if not url:
        folder = tempfile.mkdtemp(prefix="mizan-bench-")
        return "sqlite:///" + os.path.join(folder, "bench.sqlite"), lambda: None
    base = make_url(normalise_database_url(url))
    if not base.drivername.startswith("postgresql"):
        return url, lambda: None
    scratch = f"{base.database}_bench_{os.getpid()}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)

    def run(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    run(f'CREATE DATABASE "{scratch}"')
    return base.set(database=scratch).render_as_string(hide_password=False), lambda: run(
        f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'
    )


def app_config(database_url: str, redis_url: str | None, queue: str) -> dict:
    return {
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="mizan-bench-instance-"),
        "REDIS_URL": redis_url,
        "JOB_QUEUE": queue,
        "EXTRA_PLUGINS": (DUMMY_PLUGIN,),
    }


def prepare(database_url: str, stock: int) -> str:
    """Schema, master data and a connected dummy store; returns the store's connection key."""
    from flask_migrate import upgrade

    from core.integration import connections
    from core.models import Branch, Client, Product, Warehouse
    from core.plugins import registry
    from core.services.chart import seed_default_chart
    from core.services.company import company_settings
    from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
    from core.services.master_data import create_record
    from core.services.transaction import atomic

    app = create_app(app_config(database_url, None, "unused"))  # jobs inline while setting up
    with app.app_context():
        upgrade(revision="heads")
        with atomic():
            seed_default_chart()
            company_settings().vat_rate = Decimal("0.15")
        warehouse = create_record(Warehouse, {"code": "MAIN", "name": "Main"})
        branch = create_record(Branch, {"code": "RUH", "name": "Riyadh"})
        walk_in = create_record(Client, {"name": "Walk-in"})
        mug = create_record(Product, {"code": "MUG-01", "name": "Mug", "sale_price": Decimal("25")})
        post_inbound(InboundDraft(warehouse_id=warehouse.id,
                                  lines=[InboundLineDraft(mug.id, Decimal(stock), Decimal("7.50"))]))
        plugins = registry()
        plugins.install("dummy")
        plugins.enable("dummy")
        store, key = connections.create_store("dummy", "Bench shop")
        connections.set_credentials(store.id, {"store_ref": "bench", "secret": WEBHOOK_SECRET})
        connections.update_settings(store.id, {
            "default_client_id": walk_in.id, "warehouse_id": warehouse.id, "branch_id": branch.id,
            "create_financial_invoice": True, "update_inventory": True,
        })
        connections.activate(store.id, key)
        db.session.remove()
        db.engine.dispose()
    return key


def deliveries(n: int) -> list[tuple[bytes, dict[str, str]]]:
    """``n`` signed order webhooks: distinct orders, distinct delivery ids."""
    run = uuid.uuid4().hex[:8]
    signed = []
    for i in range(n):
        external_id = f"{run}-{i}"
        order = {
            "external_id": external_id, "number": f"#{i}", "status": "completed", "currency": "SAR",
            "prices_include_vat": False, "shipping": "10.00", "order_discount": "0", "total": "69.00",
            "lines": [{"external_id": f"{external_id}-1", "sku": "MUG-01", "name": "Mug", "quantity": "2",
                       "unit_price": "25.00"}],
            "customer": None,
        }
        body = json.dumps({"event": "order", "data": order}).encode()
        signed.append((body, {SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body), DELIVERY_HEADER: f"d-{external_id}",
                              "Content-Type": "application/json"}))
    return signed


#: Ports the servers may use (``--port-range``); empty: any free port.
PORTS: list[int] = []


def free_port() -> int:
    """A free local port, from ``--port-range`` when one was given."""
    for port in PORTS or [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError(f"no free port in {PORTS[0]}-{PORTS[-1]}")


class Gunicorn:
    """``gunicorn -w N APP`` on a free local port, started and stopped as a context manager."""

    def __init__(self, app: str, workers: int, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                        "--log-level", "warning", "--backlog", "2048", app]
        self.env = {**os.environ, **env}

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(self.url + "/", timeout=1)
                return self
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"gunicorn did not start: {' '.join(self.command)}") from None
                time.sleep(0.1)

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def fire(url: str, signed: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, float]:
    """POST every delivery from ``concurrency`` threads; throughput and latency percentiles."""
    local = threading.local()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def post(item: tuple[bytes, dict[str, str]]) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        body, headers = item
        start = time.perf_counter()
        response = client.post(url, content=body, headers=headers)
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text[:200]}")

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, signed))
    wall = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} deliveries were refused, e.g. {failures[0]}")
    cuts = statistics.quantiles(latencies, n=100)
    return {"per_second": len(signed) / wall, "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def drain(database_url: str, redis_url: str, queue: str, max_jobs: int | None) -> dict[str, float]:
    """Time one burst worker (which also hands the inbox's deliveries to the queue) over at most
    ``max_jobs`` jobs; bookings (invoices made) per second."""
    from core.jobs import make_worker
    from core.models import SalesInvoice

    app = create_app(app_config(database_url, redis_url, queue))
    jobs = app.extensions["mizan.jobs"]
    waiting = jobs.queue.count
    worker = make_worker(app)
    start = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING", max_jobs=max_jobs)
    elapsed = time.perf_counter() - start
    with app.app_context():
        booked = db.session.execute(select(func.count()).select_from(SalesInvoice)).scalar_one()
        db.session.remove()
        db.engine.dispose()
    failed = jobs.queue.failed_job_registry.count
    return {"jobs": waiting, "booked": booked, "failed": failed, "seconds": elapsed, "per_second": booked / elapsed}


def purge(redis_url: str, queue_name: str) -> None:
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    connection = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    ids = set(queue.get_job_ids())
    for registry in (queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry,
                     queue.scheduled_job_registry, queue.deferred_job_registry, queue.canceled_job_registry):
        ids.update(registry.get_job_ids())
    with connection.pipeline() as pipe:
        for job in Job.fetch_many(list(ids), connection=connection):
            if job is not None:
                job.delete(pipeline=pipe, remove_from_queue=False)
        pipe.execute()
    queue.delete(delete_jobs=True)
    for key in connection.scan_iter(match=f"*:{queue_name}*"):
        connection.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="deliveries (each a distinct order)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved Mizan / bare rounds")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--bookings", type=int, default=300,
                        help="jobs the burst worker runs in step 4 (0: all of them)")
    parser.add_argument("--port-range", default="", help="e.g. 8600-8699; default: any free port")
    args = parser.parse_args()
    if args.port_range:
        first, _, last = args.port_range.partition("-")
        PORTS.extend(range(int(first), int(last or first) + 1))
    logging.getLogger("rq.worker").setLevel(logging.WARNING)

    database_url, drop_database = scratch_database(args.database_url)
    queue = f"mizan-bench-{uuid.uuid4().hex}"
    load_before = os.getloadavg()[0]
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    try:
        key = prepare(database_url, stock=2 * (args.n * args.rounds + WARM_UP) + 10)
        env = {"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "MIZAN_JOB_QUEUE": queue,
               "MIZAN_EXTRA_PLUGINS": DUMMY_PLUGIN, "SECRET_KEY": SECRET_KEY}
        with Gunicorn("core:create_app()", args.gunicorn_workers, env) as mizan_server, \
                Gunicorn("bench.bare_app:app", args.gunicorn_workers, {}) as bare_server:
            fire(mizan_server.url + f"/webhooks/{key}", deliveries(WARM_UP), args.concurrency)
            fire(bare_server.url + f"/webhooks/{key}", deliveries(WARM_UP), args.concurrency)
            for _ in range(args.rounds):  # interleaved: each round's ratio compares runs made side by side
                signed = deliveries(args.n)
                mizan = fire(mizan_server.url + f"/webhooks/{key}", signed, args.concurrency)
                bare = fire(bare_server.url + f"/webhooks/{key}", signed, args.concurrency)
                rounds.append((mizan, bare))
        load_during = os.getloadavg()[0]
        booking = drain(database_url, args.redis_url, queue, args.bookings or None)
    finally:
        purge(args.redis_url, queue)
        drop_database()

    dialect = make_url(normalise_database_url(database_url)).get_backend_name()
    print(f"\nWebhooks: {args.n} signed deliveries x {args.rounds} interleaved rounds, {args.concurrency} client threads, "
          f"gunicorn -w {args.gunicorn_workers}, {dialect}, Redis queue (load average {load_before:.2f} before, "
          f"{load_during:.2f} after the rounds)")
    print(f"{'round':<6} {'Mizan acks/s':>13} {'bare acks/s':>12} {'ratio':>6} {'p50 ms':>13} {'p99 ms':>13} {'p99 ratio':>10}")
    for number, (mizan, bare) in enumerate(rounds, start=1):
        print(f"{number:<6} {mizan['per_second']:>13.0f} {bare['per_second']:>12.0f} "
              f"{mizan['per_second'] / bare['per_second']:>6.2f} {mizan['p50_ms']:>6.1f}/{bare['p50_ms']:<6.1f} "
              f"{mizan['p99_ms']:>6.1f}/{bare['p99_ms']:<6.1f} {mizan['p99_ms'] / bare['p99_ms']:>9.1f}x")
    ratios = [mizan["per_second"] / bare["per_second"] for mizan, bare in rounds]
    p99s = [mizan["p99_ms"] / bare["p99_ms"] for mizan, bare in rounds]
    print(f"Mizan / bare, min/median/max: acks/s {spread(ratios)}; p99 {spread(p99s)}x")
    print(f"\nOne burst worker ({booking['jobs']} jobs waiting at its start; its dispatcher queues the stored "
          f"deliveries and the outbox's events): {booking['booked']} orders booked, "
          f"{booking['failed']} failed, {booking['seconds']:.1f} s -> {booking['per_second']:.1f} bookings/s/worker")


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"

if __name__ == "__main__":
    main()
