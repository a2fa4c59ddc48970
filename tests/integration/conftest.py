"""Fixtures for the integration pipeline tests: a connected dummy store and a way to send it webhooks."""
from __future__ import annotations

import itertools
import json
import os
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from core.extensions import db
from core.integration import connections
from core.plugins import registry
from core.testing.dummy import DELIVERY_HEADER, SIGNATURE_HEADER, DummyStore, sign
from tests.builders import Builders

SECRET = "dummy-webhook-secret"
_ids = itertools.count(1000)


class DummyShop:
    """A connected dummy store: send it orders and refunds as signed webhooks."""

    def __init__(self, client, key: str, store_id: int, ids: SimpleNamespace) -> None:
        self.client, self.key, self.store_id, self.ids = client, key, store_id, ids
        self.remote = DummyStore.named("shop-1")

    def deliver(self, event: str, data: dict[str, Any], *, delivery: str | None = None, secret: str = SECRET,
                body: bytes | None = None):
        body = body if body is not None else json.dumps({"event": event, "data": data}).encode()
        headers = {SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"}
        if delivery:
            headers[DELIVERY_HEADER] = delivery
        return self.client.post(f"/webhooks/{self.key}", data=body, headers=headers)


def order_payload(lines: list[tuple[str | None, str, str]], *, status: str = "completed", number: str | None = None,
                  customer: dict | None = None, shipping: str = "0", order_discount: str = "0",
                  total: str | None = None, external_id: str | None = None, include_vat: bool = False) -> dict:
    """A dummy order: ``lines`` are (sku, quantity, unit price excluding VAT); total computed at 15%."""
    external_id = external_id or str(next(_ids))
    net = sum(Decimal(q) * Decimal(p) for _, q, p in lines) - Decimal(order_discount) + Decimal(shipping)
    computed = net if include_vat else (net * Decimal("1.15")).quantize(Decimal("0.01"))
    return {
        "external_id": external_id,
        "number": number or f"#{external_id}",
        "status": status,
        "currency": "SAR",
        "prices_include_vat": include_vat,
        "lines": [
            {"external_id": f"{external_id}-{i}", "sku": sku, "name": f"Item {sku}", "quantity": q, "unit_price": p}
            for i, (sku, q, p) in enumerate(lines, start=1)
        ],
        "shipping": shipping,
        "order_discount": order_discount,
        "total": total or str(computed),
        "customer": customer,
    }


@pytest.fixture
def dummy_shop(app, client) -> DummyShop:
    """A dummy store connected and activated: warehouse MAIN (MUG-01: 10 at 7.50), branch, default client."""
    DummyStore.reset()
    with app.app_context():
        build = Builders()
        warehouse, branch, walk_in = build.warehouse("MAIN"), build.branch("RUH"), build.client("Walk-in")
        other = build.warehouse("OTHER")
        mug = build.product("MUG-01", "25")
        build.stock(mug, warehouse, "10", "7.5")
        plugins = registry()
        plugins.install("dummy")
        plugins.enable("dummy")
        store, key = connections.create_store("dummy", "Dummy shop")
        connections.set_credentials(store.id, {"store_ref": "shop-1", "secret": SECRET})
        connections.update_settings(store.id, {
            "default_client_id": walk_in.id, "warehouse_id": warehouse.id, "branch_id": branch.id,
            "create_financial_invoice": True, "update_inventory": True,
        })
        connections.activate(store.id, key)
        ids = SimpleNamespace(warehouse=warehouse.id, other_warehouse=other.id, branch=branch.id,
                              walk_in=walk_in.id, mug=mug.id)
        store_id = store.id
        db.session.remove()
    return DummyShop(client, key, store_id, ids)


# --- Jobs on a real Redis (tests/integration/test_jobs_redis.py) ------------------------------------

DUMMY_PLUGIN = "core.testing.dummy:DummyPlugin"


def redis_url() -> str:
    """The Redis the job tests use: ``REDIS_URL`` from the environment, else the local default."""
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_app(app, tmp_path):
    """The app again, on the session app's database, with jobs on Redis in a queue of its own.

    Nothing is skipped: an unreachable Redis fails the test at the ping. Retries run at once
    (intervals 0) and the queue, its registries, jobs and workers are deleted afterwards.
    """
    from core import create_app

    queue_name = f"mizan-test-{uuid.uuid4().hex}"
    redis_app = create_app({
        "TESTING": True,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "REDIS_URL": redis_url(),
        "JOB_QUEUE": queue_name,
        "JOB_RETRY_INTERVALS": (0, 0, 0),
        "EXTRA_PLUGINS": (DUMMY_PLUGIN,),
    })
    jobs = redis_app.extensions["mizan.jobs"]
    jobs.connection.ping()
    yield redis_app
    try:
        purge_queue(jobs.connection, queue_name)
    finally:
        with redis_app.app_context():
            db.engine.dispose()


def purge_queue(connection, name: str) -> None:
    """Delete the rq queue ``name``: its jobs (in any registry), registries and worker records."""
    from rq import Queue, Worker
    from rq.job import Job

    queue = Queue(name, connection=connection)
    registries = (queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry,
                  queue.deferred_job_registry, queue.scheduled_job_registry, queue.canceled_job_registry)
    job_ids = set(queue.get_job_ids())
    for registry_ in registries:
        job_ids.update(registry_.get_job_ids())
    with connection.pipeline() as pipe:
        for job in Job.fetch_many(list(job_ids), connection=connection):
            if job is not None:
                job.delete(pipeline=pipe, remove_from_queue=False)  # the queue itself goes below
        pipe.execute()
    for key in connection.scan_iter(match="rq:worker:*"):  # live, killed or lately finished workers of the queue
        if connection.type(key) == b"hash" and name.encode() in (connection.hget(key, "queues") or b"").split(b","):
            connection.delete(key)
            connection.srem(Worker.redis_workers_keys, key)
    queue.delete(delete_jobs=True)
    for key in connection.scan_iter(match=f"*:{name}*"):
        connection.delete(key)
    connection.srem(Queue.redis_queues_keys, queue.key)


@pytest.fixture
def redis_shop(redis_app, dummy_shop) -> DummyShop:
    """The connected dummy store, receiving its webhooks through the Redis-backed app."""
    return DummyShop(redis_app.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)

