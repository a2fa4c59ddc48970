"""Retries with real delays and deliveries stored while Redis was down, on a real Redis and real workers.

``flask jobs worker`` subprocesses run rq with its scheduler: a failed job waits its retry delay
in rq's scheduled registry and is then run again; the worker also queues, every few seconds,
the deliveries that were stored but never queued. Nothing here runs ``flask jobs recover``.
"""
from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from core import create_app
from core.extensions import db
from core.models import SalesInvoice, StoreOrder, WebhookDelivery
from core.plugins import registry
from tests.integration.conftest import (
    DUMMY_PLUGIN,
    DummyShop,
    order_payload,
    purge_queue,
    redis_url,
)
from tests.integration.reads import count, count_in, delivery_row
from tests.integration.test_jobs_redis import start_worker, wait_for

#: A closed port on loopback: connecting fails at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def jobs_app(app, tmp_path):
    """``jobs_app(redis=..., **config)``: another app on the session app's database (engines disposed after)."""
    made = []

    def make(*, redis: str | None = None, queue: str = "unused", **config):
        made.append(_jobs_app(app, tmp_path, redis=redis, queue=queue, **config))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def _jobs_app(app, tmp_path, *, redis: str | None, queue: str, **config):
    return create_app({
        "TESTING": True,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path / f"instance-{uuid.uuid4().hex[:8]}"),
        "REDIS_URL": redis,
        "JOB_QUEUE": queue,
        "EXTRA_PLUGINS": (DUMMY_PLUGIN,),
        **config,
    })


@pytest.fixture
def retrying_app(app, tmp_path):
    """Jobs on the real Redis, in a queue of their own, retried after 2 s (not at once)."""
    queue = f"mizan-test-{uuid.uuid4().hex}"
    redis_app = _jobs_app(app, tmp_path, redis=redis_url(), queue=queue, JOB_RETRY_INTERVALS=(2, 2, 2))
    jobs = redis_app.extensions["mizan.jobs"]
    jobs.connection.ping()
    yield redis_app
    try:
        purge_queue(jobs.connection, queue)
    finally:
        with redis_app.app_context():
            db.engine.dispose()


def set_plugin(app, name: str, *, enabled: bool) -> None:
    with app.app_context():
        plugins = registry()
        plugins.enable(name) if enabled else plugins.disable(name)
        db.session.remove()


def wait_or_show(condition, what: str, worker, log) -> None:
    """Wait up to 60 s for ``condition`` while ``worker`` runs; on failure show the worker's log."""
    try:
        wait_for(lambda: condition() or worker.poll() is not None, 60, what)
    except AssertionError as error:
        raise AssertionError(f"{error}; worker log: {log.read_text()[-3000:]}") from None
    assert worker.poll() is None, log.read_text()[-3000:]


def stop(worker) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except Exception:
            worker.kill()
            worker.wait()


@pytest.mark.slow
def test_a_delivery_whose_job_fails_once_is_retried_after_its_delay_by_flask_jobs_worker(
    app, retrying_app, dummy_shop, tmp_path
):
    """Issue 7 item 2: with a 2 s retry delay, the worker's scheduler runs the failed job again."""
    shop = DummyShop(retrying_app.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    response = shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="retry-1")
    assert response.status_code == 200 and response.get_json()["message"] == "received"
    delivery_id = response.get_json()["delivery_id"]
    set_plugin(app, "dummy", enabled=False)  # the job cannot parse the delivery: it fails

    log = tmp_path / "worker.log"
    worker = start_worker(retrying_app, burst=False, log=log)
    try:
        wait_or_show(lambda: delivery_row(app, delivery_id).attempts >= 1, "the first attempt to fail", worker, log)
        first = delivery_row(app, delivery_id)
        assert first.status == "received" and "plugin is not enabled" in first.last_error
        set_plugin(app, "dummy", enabled=True)
        wait_or_show(lambda: delivery_row(app, delivery_id).status == "processed", "the retry to book the order", worker, log)
    finally:
        stop(worker)

    with app.app_context():
        assert count(SalesInvoice) == 1
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "booked"
        db.session.remove()
    assert retrying_app.extensions["mizan.jobs"].queue.failed_job_registry.count == 0


@pytest.mark.slow
def test_a_stock_push_answered_429_is_pushed_later_by_flask_jobs_worker(app, retrying_app, first_connected_store,
                                                                       tmp_path):
    """Issue 7 item 2 (I2): the store answers 429 with a long Retry-After; the push job is retried later."""
    from core.models import Product, Warehouse
    from tests.builders import Builders

    driver, ids = first_connected_store.driver, first_connected_store.ids
    driver.sandbox.bucket.retry_after = 30  # longer than a job waits in line: the job fails and is retried
    driver.sandbox.bucket.throttle_next(1)
    with retrying_app.app_context():
        Builders().stock(db.session.get(Product, ids.mug), db.session.get(Warehouse, ids.warehouse), "5", "7.5")
        db.session.remove()

    log = tmp_path / "worker.log"
    worker = start_worker(retrying_app, burst=False, log=log)
    try:
        wait_or_show(lambda: driver.store_quantity("MUG-01") == 15, "the store to receive the quantity", worker, log)
    finally:
        stop(worker)
    statuses = [entry.status for entry in driver.sandbox.log.entries]
    assert 429 in statuses and 200 <= statuses[-1] < 300  # answered 429, then accepted later


def test_a_webhook_arriving_while_redis_is_down_is_stored_and_answered_200(app, jobs_app, dummy_shop):
    """Issue 7 item 8: stored, answered 200 (not 500), and its platform's retry is a duplicate."""
    down = jobs_app(redis=UNREACHABLE_REDIS)
    shop = DummyShop(down.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    response = shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="down-1")
    assert response.status_code == 200
    # Issue 12: the acknowledgement never calls Redis, so it says "received" whether Redis is up or not.
    assert response.get_json()["message"] == "received"
    row = delivery_row(app, response.get_json()["delivery_id"])
    assert row.status == "received" and row.attempts == 0
    assert count_in(app, WebhookDelivery) == 1 and count_in(app, SalesInvoice) == 0


@pytest.mark.slow
def test_a_delivery_stored_while_redis_was_down_is_booked_by_a_worker_without_flask_jobs_recover(
    app, jobs_app, retrying_app, dummy_shop, tmp_path, monkeypatch
):
    """Issue 7 item 8: the worker's periodic recovery queues it (every 1 s, deliveries older than 1 s)."""
    down = jobs_app(redis=UNREACHABLE_REDIS)
    shop = DummyShop(down.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    response = shop.deliver("order", order_payload([("MUG-01", "2", "25.00")]), delivery="down-2")
    assert response.get_json()["message"] == "received"  # issue 12: Redis is not called on the request
    delivery_id = response.get_json()["delivery_id"]

    monkeypatch.setenv("MIZAN_JOB_RECOVER_INTERVAL", "1")
    monkeypatch.setenv("MIZAN_JOB_RECOVER_AFTER", "1")
    log = tmp_path / "worker.log"
    worker = start_worker(retrying_app, burst=False, log=log)
    try:
        wait_or_show(lambda: delivery_row(app, delivery_id).status == "processed", "the worker to find and book the delivery", worker, log)
    finally:
        stop(worker)
    assert count_in(app, SalesInvoice) == 1


def test_a_redelivery_of_a_delivery_left_unqueued_queues_it_again(app, jobs_app, dummy_shop):
    """Issue 7 item 8: the platform's re-delivery finds its row still "received" and old, and queues it."""
    down = jobs_app(redis=UNREACHABLE_REDIS)
    payload = order_payload([("MUG-01", "1", "25.00")])
    first = DummyShop(down.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    assert first.deliver("order", payload, delivery="again-1").get_json()["message"] == "received"  # issue 12

    inline = jobs_app(JOB_RECOVER_AFTER=0)  # jobs run in the request: the booking is visible
    again = DummyShop(inline.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    response = again.deliver("order", payload, delivery="again-1")
    assert response.status_code == 200 and response.get_json()["message"] == "duplicate delivery; already received"
    assert count_in(app, SalesInvoice) == 1
    assert count_in(app, WebhookDelivery) == 1


def processes_with(marker: bytes) -> list[int]:
    """Live processes whose environment holds ``marker`` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_a_worker_killed_with_sigkill_leaves_no_scheduler_process_behind(retrying_app, tmp_path):
    """The scheduler runs inside the worker: killing the worker leaves nothing running for its queue."""
    queue = retrying_app.extensions["mizan.jobs"].queue
    marker = f"MIZAN_JOB_QUEUE={queue.name}".encode()
    log = tmp_path / "worker.log"
    worker = start_worker(retrying_app, burst=False, log=log)
    try:
        wait_or_show(lambda: queue.connection.exists(f"rq:scheduler-lock:{queue.name}") == 1,
                     "the worker to take the scheduler lock", worker, log)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    wait_for(lambda: processes_with(marker) == [], 10, "no process left for the queue")


def test_an_invoice_posted_while_redis_is_down_answers_201_and_its_stock_event_waits_in_the_outbox(
    app, jobs_app, dummy_shop
):
    """The invoice is committed, so the answer is 201, not a 500 after the commit; the stock
    event that could not be queued waits in the outbox for the next dispatch, not lost (I1)."""
    from core.models import OutboxEvent, SyncLogEntry
    from core.services import users

    down = jobs_app(redis=UNREACHABLE_REDIS)
    with down.app_context():
        token, _row = users.create_api_token(users.create_user("clerk", "password-123", role="accountant"))
        db.session.remove()
    ids = dummy_shop.ids
    response = down.test_client().post("/api/v1/invoices", headers={"Authorization": f"Bearer {token}"}, json={
        "client_id": ids.walk_in, "branch_id": ids.branch, "warehouse_id": ids.warehouse,
        "lines": [{"product_id": ids.mug, "quantity": "1", "unit_price": "25.00"}],
    })
    assert response.status_code == 201, response.get_data(as_text=True)
    assert count_in(app, SalesInvoice) == 1
    with app.app_context():
        event = db.session.execute(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).scalar_one()
        assert event.kind == "stock_changed" and event.payload == {"pairs": [[ids.mug, ids.warehouse]]}
        assert event.dispatched_at is None and event.attempts == 1
        assert db.session.execute(select(SyncLogEntry).where(SyncLogEntry.kind == "event")).first() is None
        db.session.remove()


def test_a_delivery_waits_in_the_queue_once_however_often_it_is_recovered(app, redis_app, dummy_shop):
    """No worker runs: the webhook queues its job, and two recovery rounds add no copy of it."""
    from core.integration.tasks import recover_deliveries
    from core.jobs import dispatch

    shop = DummyShop(redis_app.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    response = shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="once-1")
    assert response.get_json()["message"] == "received"
    queue = redis_app.extensions["mizan.jobs"].queue
    assert queue.count == 0  # issue 12: the acknowledgement does not call Redis; the dispatcher queues it
    assert dispatch(redis_app) == 1
    assert queue.count == 1
    with redis_app.app_context():
        assert recover_deliveries(0) == 1 and recover_deliveries(0) == 1  # asked twice: still waiting
        db.session.remove()
    assert queue.count == 1
