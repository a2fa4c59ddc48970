"""The job path on a real Redis: webhook → inbox → rq queue → worker → booking (SPEC §6 "nothing lost, nothing twice").

These tests need Redis (``REDIS_URL``, default ``redis://127.0.0.1:6379/0``) and fail, not skip,
without it. Each test has its own queue (see the ``redis_app`` fixture). Workers run as
subprocesses on the session app's database: ``flask jobs worker`` when the app has that command,
else a ``python -c`` script around :func:`core.jobs.make_worker`.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from rq import Queue, Worker
from sqlalchemy import func, select, text

from core.extensions import db
from core.integration.tasks import recover_deliveries
from core.jobs import dispatch, make_worker
from core.models import (
    JournalEntry,
    Product,
    SalesInvoice,
    StockLevel,
    StockMovement,
    StoreOrder,
    Warehouse,
    WebhookDelivery,
)
from core.services.reports import trial_balance
from tests.builders import Builders
from tests.integration.conftest import DUMMY_PLUGIN, DummyShop, order_payload
from tests.integration.reads import count, on_hand

ROOT = Path(__file__).resolve().parents[2]

#: The fallback worker: the app from the environment, one rq worker (burst when argv[1] says so).
WORKER_SCRIPT = (
    "import sys\n"
    "from core import create_app\n"
    "from core.jobs import make_worker\n"
    "make_worker(create_app()).work(burst=sys.argv[1] == 'burst')\n"
)


def worker_command(app, *, burst: bool) -> list[str]:
    """``flask jobs worker [--burst]`` when the app has it, else the ``make_worker`` script."""
    group = app.cli.commands.get("jobs")
    flask = Path(sys.executable).with_name("flask")
    if group is not None and "worker" in getattr(group, "commands", {}) and flask.exists():
        return [str(flask), "jobs", "worker", *(["--burst"] if burst else [])]
    return [sys.executable, "-c", WORKER_SCRIPT, "burst" if burst else "forever"]


def start_worker(app, *, burst: bool, log: Path) -> subprocess.Popen:
    """A worker process on ``app``'s database and queue, loading the dummy plugin; output to ``log``."""
    env = dict(os.environ)
    env.update({
        "FLASK_APP": "core",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "MIZAN_JOB_QUEUE": app.config["JOB_QUEUE"],
        "MIZAN_EXTRA_PLUGINS": DUMMY_PLUGIN,
        "SECRET_KEY": app.config["SECRET_KEY"],  # decrypts the store's credentials
    })
    with log.open("ab") as output:
        return subprocess.Popen(worker_command(app, burst=burst), cwd=ROOT, env=env, stdout=output,
                                stderr=subprocess.STDOUT)


def rq_queue(app) -> Queue:
    return app.extensions["mizan.jobs"].queue


#: A worker that books nothing for this long is stuck (however busy the machine, some job finishes sooner).
STALL_SECONDS = 300


def wait_while_progressing(workers: list[subprocess.Popen], remaining, log: Path) -> list[int]:
    """The workers' exit codes, waiting as long as ``remaining()`` (jobs left) keeps going down:
    a loaded machine books slowly, a stuck worker books nothing for STALL_SECONDS."""
    last, last_change = remaining(), time.monotonic()
    while any(worker.poll() is None for worker in workers):
        now_remaining = remaining()
        if now_remaining != last:
            last, last_change = now_remaining, time.monotonic()
        if time.monotonic() - last_change > STALL_SECONDS:
            raise AssertionError(f"workers stuck at {last} jobs for {STALL_SECONDS}s: {log.read_text()[-3000:]}")
        time.sleep(0.5)
    return [worker.returncode for worker in workers]


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)




def test_a_webhook_is_acknowledged_before_booking_and_a_worker_books_it(app, redis_app, redis_shop):
    """Speed + nothing lost: the acknowledgement only stores; the dispatcher queues; the worker books."""
    response = redis_shop.deliver("order", order_payload([("MUG-01", "2", "25.00")]), delivery="only-1")
    assert response.status_code == 200 and response.get_json()["message"] == "received"
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "received"
        assert count(SalesInvoice) == 0 and count(StoreOrder) == 0
        db.session.remove()
    # Issue 12: the acknowledgement does not call Redis; the workers' dispatcher queues the delivery.
    assert rq_queue(redis_app).count == 0
    assert dispatch(redis_app) == 1
    assert rq_queue(redis_app).count == 1

    make_worker(redis_app).work(burst=True)

    with app.app_context():
        assert count(SalesInvoice) == 1
        assert db.session.execute(select(WebhookDelivery.status)).scalar_one() == "processed"
        assert on_hand(redis_shop.ids.mug, redis_shop.ids.warehouse) == Decimal("8")
        db.session.remove()
    assert rq_queue(redis_app).failed_job_registry.count == 0


def test_100_orders_each_delivered_20_times_concurrently_and_out_of_order_give_exactly_100_invoices(
    app, redis_app, redis_shop, tmp_path
):
    """O3 under load: 2000 deliveries from 8 threads while 2 worker processes book them: each order once."""
    ids = redis_shop.ids
    with app.app_context():
        build = Builders()
        warehouse = db.session.get(Warehouse, ids.warehouse)
        build.stock(db.session.get(Product, ids.mug), warehouse, "1000", "7.5")
        tea = build.product("TEA-1", "10")
        build.stock(tea, warehouse, "1000", "4")
        tea_id = tea.id
        before = {"mug": on_hand(ids.mug, ids.warehouse), "tea": on_hand(tea_id, ids.warehouse)}
        db.session.remove()

    chance = random.Random(2000)
    orders, sold = [], Counter()
    for _ in range(100):
        mug, tea_qty = chance.randint(1, 3), chance.randint(0, 2)
        lines = [("MUG-01", str(mug), "25.00")] + ([("TEA-1", str(tea_qty), "10.00")] if tea_qty else [])
        orders.append(order_payload(lines))
        sold["mug"] += mug
        sold["tea"] += tea_qty
    deliveries = [(order, f"{order['external_id']}-{n}") for order in orders for n in range(20)]
    chance.shuffle(deliveries)

    def send(chunk: list) -> list[tuple[int, str]]:
        shop = DummyShop(redis_app.test_client(), redis_shop.key, redis_shop.store_id, ids)
        answers = []
        for order, delivery in chunk:
            response = shop.deliver("order", order, delivery=delivery)
            answers.append((response.status_code, response.get_json()["message"]))
        return answers

    def stored() -> int:
        with app.app_context():
            stored_now = count(WebhookDelivery)
            db.session.remove()
        return stored_now

    # The workers start once the first deliveries are stored (issue 12: the workers' dispatcher
    # queues them; the acknowledgement does not) and book while the rest still arrive.
    log = tmp_path / "workers.log"
    queue = rq_queue(redis_app)
    workers: list[subprocess.Popen] = []
    try:
        with ThreadPoolExecutor(8) as pool:
            sending = [pool.submit(send, deliveries[i::8]) for i in range(8)]
            wait_for(lambda: stored() >= 100 or all(f.done() for f in sending), 60, "the first deliveries")
            workers = [start_worker(redis_app, burst=True, log=log) for _ in range(2)]
            answers = [answer for future in sending for answer in future.result()]
        assert Counter(answers) == {(200, "received"): 2000}
        for _ in range(5):  # a burst worker that found the queue empty for a moment has left: start more
            codes = wait_while_progressing(workers, lambda: queue.count, log)
            assert codes == [0] * len(workers), log.read_text()[-3000:]
            if queue.count == 0:
                break
            workers = [start_worker(redis_app, burst=True, log=log) for _ in range(2)]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    assert (queue.count, queue.failed_job_registry.count) == (0, 0), log.read_text()[-3000:]
    with app.app_context():
        assert count(SalesInvoice) == 100
        invoice_keys = db.session.execute(select(SalesInvoice.external_key)).scalars().all()
        assert sorted(invoice_keys) == sorted(f"store:{redis_shop.store_id}:order:{o['external_id']}" for o in orders)
        records = db.session.execute(select(StoreOrder.state, StoreOrder.invoice_id)).all()
        assert len(records) == 100 and {state for state, _ in records} == {"booked"}
        assert len({invoice_id for _, invoice_id in records if invoice_id is not None}) == 100
        statuses = Counter(db.session.execute(select(WebhookDelivery.status)).scalars())
        assert statuses == {"processed": 2000}
        assert on_hand(ids.mug, ids.warehouse) == before["mug"] - sold["mug"]
        assert on_hand(tea_id, ids.warehouse) == before["tea"] - sold["tea"]
        totals = db.session.execute(select(func.sum(SalesInvoice.total))).scalar_one()
        assert totals == sum(Decimal(o["total"]) for o in orders)
        assert trial_balance().difference == 0
        db.session.remove()


def test_a_worker_killed_in_the_middle_of_a_booking_leaves_no_partial_invoice_and_the_order_is_booked_once_after_retry(
    app, redis_app, redis_shop, tmp_path
):
    """§6: kill -9 a worker blocked inside the booking; nothing half-written; recovery books once."""
    ids = redis_shop.ids
    response = redis_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="doomed")
    assert response.status_code == 200
    delivery_id = response.get_json()["delivery_id"]
    queue = rq_queue(redis_app)
    queue.empty()  # the job is enqueued again below, once the worker is up and the lock is held
    with app.app_context():
        journal_before, movements_before = count(JournalEntry), count(StockMovement)
        stock_before = on_hand(ids.mug, ids.warehouse)
        db.session.remove()

    log = tmp_path / "worker.log"
    worker = start_worker(redis_app, burst=False, log=log)
    try:
        # The app is built (its startup reads the database) before the worker registers with Redis.
        wait_for(lambda: Worker.count(queue=queue) == 1 or worker.poll() is not None, 30, "the worker to start")
        assert worker.poll() is None, log.read_text()
        with app.app_context():
            blocker = db.engine.connect()
        # SQLite: the engine begins every transaction with BEGIN IMMEDIATE, so this holds the write
        # lock. PostgreSQL: SELECT ... FOR UPDATE locks the stock level row post_invoice locks.
        blocker_transaction = blocker.begin()
        try:
            blocker.execute(
                select(StockLevel)
                .where(StockLevel.product_id == ids.mug, StockLevel.warehouse_id == ids.warehouse)
                .with_for_update()
            ).one()
            with redis_app.app_context():
                from core.jobs import enqueue

                enqueue("core.integration.tasks.process_delivery", delivery_id)
            wait_for(lambda: queue.started_job_registry.count == 1, 30, "the worker to start the job")
            if blocker.dialect.name == "postgresql":
                with app.app_context():
                    wait_for(lambda: _lock_waiters() == 1, 30, "the worker to wait for the stock level lock")
                    db.session.remove()
            else:
                time.sleep(0.5)  # the job's first statement is waiting for SQLite's write lock
            assert worker.poll() is None
            os.kill(worker.pid, signal.SIGKILL)
            assert worker.wait(timeout=10) == -signal.SIGKILL
        finally:
            blocker_transaction.rollback()
            blocker.close()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    with app.app_context():
        assert count(SalesInvoice) == 0
        assert count(JournalEntry) == journal_before and count(StockMovement) == movements_before
        assert on_hand(ids.mug, ids.warehouse) == stock_before
        assert db.session.get(WebhookDelivery, delivery_id).status == "received"
        db.session.remove()

    with redis_app.app_context():
        assert recover_deliveries(older_than_seconds=0) == 1
    make_worker(redis_app).work(burst=True)

    with app.app_context():
        assert count(SalesInvoice) == 1
        assert db.session.get(WebhookDelivery, delivery_id).status == "processed"
        assert on_hand(ids.mug, ids.warehouse) == stock_before - 1
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "booked"
        assert trial_balance().difference == 0
        db.session.remove()


def _lock_waiters() -> int:
    """Backends of this database waiting for a lock (a fresh transaction: pg_stat_activity is cached per one)."""
    waiting = db.session.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    ).scalar_one()
    db.session.rollback()
    return waiting


def test_a_burst_of_stock_changes_pushes_the_latest_quantity_once(app, redis_app, redis_shop):
    """I2: three receipts of one product before a worker runs → one push, with the final quantity."""
    from core.models import PendingStockPush, Product, Warehouse
    from tests.builders import Builders

    with redis_app.app_context():
        mug = db.session.get(Product, redis_shop.ids.mug)
        main = db.session.get(Warehouse, redis_shop.ids.warehouse)
        for _ in range(3):
            Builders().stock(mug, main, "5", "7.5")
        db.session.remove()
    make_worker(redis_app).work(burst=True)  # runs the event jobs, which queue the pushes
    make_worker(redis_app).work(burst=True)  # runs the pushes
    assert redis_shop.remote.pushes and [q.quantity for push in redis_shop.remote.pushes for q in push] == [Decimal("25")]
    with app.app_context():
        assert count(PendingStockPush) == 0
        db.session.remove()
