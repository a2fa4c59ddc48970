"""Domain events in the transactional outbox: written by the commit that made them, none lost, each delivered once.

Stock changes (I1), booked orders and booked refunds are recorded in the same transaction as the
documents; after the commit a job per subscribing plugin runs its hook. Redis unreachable at that
moment loses nothing: the row waits and a later dispatch (``flask jobs recover``) delivers it, once.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core import create_app
from core.extensions import db
from core.hookspecs import hookimpl
from core.integration import outbox
from core.jobs import make_worker
from core.models import (
    Client,
    OutboxDelivery,
    OutboxEvent,
    Product,
    ReturnInvoice,
    SalesInvoice,
    StockMovement,
    Warehouse,
)
from core.models.base import utcnow
from core.plugins import registry
from core.services.domain_events import OrderBooked, record
from core.services.transaction import TransactionRolledBack, atomic
from core.testing.dummy import DummyStore
from tests.builders import Builders
from tests.integration.conftest import DUMMY_PLUGIN, order_payload, purge_queue, redis_url
from tests.integration.reads import count, count_in

#: A closed port on loopback: connecting fails at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def _events(kind: str | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.id)
    if kind is not None:
        query = query.where(OutboxEvent.kind == kind)
    return list(db.session.execute(query).scalars())


def _pushed(ref: str = "shop-1") -> list[tuple[str, Decimal]]:
    return [(q.sku, q.quantity) for push in DummyStore.named(ref).pushes for q in push]


@pytest.fixture
def other_app(app, tmp_path):
    """``other_app(redis=..., **config)``: another app on the session app's database (engines disposed after)."""
    made = []

    def make(*, redis: str | None, plugins: tuple[str, ...] = (DUMMY_PLUGIN,), **config):
        queue = f"mizan-test-{uuid.uuid4().hex}"
        other = create_app({
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_PATH": str(tmp_path / f"instance-{uuid.uuid4().hex[:8]}"),
            "REDIS_URL": redis,
            "JOB_QUEUE": queue,
            "JOB_RETRY_INTERVALS": (0, 0, 0),
            "EXTRA_PLUGINS": plugins,
            **config,
        })
        made.append((other, redis == redis_url()))
        return other

    yield make
    for other, on_redis in made:
        try:
            if on_redis:
                jobs = other.extensions["mizan.jobs"]
                purge_queue(jobs.connection, jobs.queue.name)
        finally:
            with other.app_context():
                db.engine.dispose()


def _sell_one_mug(flask_app, ids) -> None:
    """Post an invoice for one MUG-01 through the service, in ``flask_app``."""
    with flask_app.app_context():
        build = Builders()
        build.invoice(db.session.get(Client, ids.walk_in), _branch(ids), db.session.get(Warehouse, ids.warehouse),
                      [(db.session.get(Product, ids.mug), "1", "25.00")])
        db.session.remove()


def _branch(ids):
    from core.models import Branch

    return db.session.get(Branch, ids.branch)


def test_an_invoice_and_its_stock_event_are_one_commit_and_a_rollback_leaves_neither(app, dummy_shop):
    """I1: the stock event is written by the invoice's own commit; when the transaction rolls back
    (here after the invoice and an OrderBooked event were written) there is no invoice and no event."""
    ids = dummy_shop.ids
    with app.app_context():
        before = len(_events())
        with pytest.raises(RuntimeError, match="abandon"), atomic():
            invoice = Builders().invoice(db.session.get(Client, ids.walk_in), _branch(ids),
                                         db.session.get(Warehouse, ids.warehouse),
                                         [(db.session.get(Product, ids.mug), "1", "25.00")])
            record(OrderBooked(dummy_shop.store_id, "order-x", invoice.id))
            raise RuntimeError("abandon")
        assert count(SalesInvoice) == 0
        assert len(_events()) == before
        assert count(StockMovement) == 1  # only the fixture's receipt
        db.session.remove()
    _sell_one_mug(app, ids)
    with app.app_context():
        [event] = _events("stock_changed")[-1:]
        assert event.payload == {"pairs": [[ids.mug, ids.warehouse]]}
        assert event.dispatched_at is not None  # dispatched after the commit
        db.session.remove()
    assert _pushed() == [("MUG-01", Decimal("9"))]


def test_a_failed_inner_transaction_cannot_be_committed_by_the_outer_one(app, dummy_shop):
    """An inner atomic() joins the outer one; if it fails, swallowing the error commits nothing."""
    ids = dummy_shop.ids
    with app.app_context():
        with pytest.raises(TransactionRolledBack), atomic():
            Builders().stock(db.session.get(Product, ids.mug), db.session.get(Warehouse, ids.warehouse), "5", "7.5")
            try:
                with atomic():
                    raise ValueError("inner")
            except ValueError:
                pass
        assert count(StockMovement) == 1  # only the fixture's receipt
        db.session.remove()


def test_a_booked_order_and_a_booked_refund_record_their_events_with_the_documents(app, dummy_shop):
    """O3, R2: the OrderBooked and RefundBooked rows name the invoice and the return invoice."""
    dummy_shop.deliver("order", order_payload([("MUG-01", "2", "25.00")], external_id="1001"))
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        [booked] = _events("order_booked")
        assert booked.payload == {"store_id": dummy_shop.store_id, "order_external_id": "1001",
                                  "invoice_id": invoice.id}
        db.session.remove()
    dummy_shop.deliver("refund", {"external_id": "r-1", "order_external_id": "1001", "whole_order": True})
    with app.app_context():
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        [refunded] = _events("refund_booked")
        assert refunded.payload == {"store_id": dummy_shop.store_id, "refund_external_id": "r-1",
                                    "return_invoice_id": returned.id}
        assert all(event.dispatched_at is not None for event in _events())
        db.session.remove()


def test_redis_down_after_the_commit_loses_nothing_and_recovery_pushes_the_stock_once(
    app, dummy_shop, other_app
):
    """I1 with the queue unreachable between commit and enqueue: the sale stands, the event waits
    in the outbox, ``flask jobs recover`` dispatches it, and the store gets the quantity once."""
    ids = dummy_shop.ids
    down = other_app(redis=UNREACHABLE_REDIS)
    _sell_one_mug(down, ids)  # no error reaches the caller
    assert count_in(app, SalesInvoice) == 1
    with app.app_context():
        [event] = _events("stock_changed")[-1:]
        assert event.dispatched_at is None and event.attempts == 1
        db.session.remove()
    assert _pushed() == []

    up = other_app(redis=redis_url())
    result = up.test_cli_runner().invoke(args=["jobs", "recover"])
    assert result.exit_code == 0, result.output
    assert "Dispatched 1 outbox events; 0 still waiting." in result.output
    make_worker(up).work(burst=True)  # the event job, which queues the push
    make_worker(up).work(burst=True)  # the push
    assert _pushed() == [("MUG-01", Decimal("9"))]

    again = up.test_cli_runner().invoke(args=["jobs", "recover"])
    assert "Dispatched 0 outbox events" in again.output
    make_worker(up).work(burst=True)
    assert _pushed() == [("MUG-01", Decimal("9"))]
    with app.app_context():
        assert db.session.execute(select(OutboxDelivery.plugin)).scalars().all() == ["dummy"]
        db.session.remove()


def test_an_event_dispatched_twice_runs_each_plugin_hook_once(app, dummy_shop, other_app):
    """A dispatcher that died after queuing but before marking the row: the next dispatch queues
    the jobs again, and the job finds the hook already delivered (I2: no second push)."""
    ids = dummy_shop.ids
    up = other_app(redis=redis_url())
    _sell_one_mug(up, ids)
    make_worker(up).work(burst=True)
    make_worker(up).work(burst=True)
    assert _pushed() == [("MUG-01", Decimal("9"))]
    with up.app_context():
        [event] = _events("stock_changed")[-1:]
        db.session.execute(update(OutboxEvent).where(OutboxEvent.id == event.id)
                           .values(dispatched_at=None, claimed_at=None))
        db.session.commit()
        assert outbox.dispatch_pending() == 1
        db.session.remove()
    make_worker(up).work(burst=True)
    make_worker(up).work(burst=True)
    assert _pushed() == [("MUG-01", Decimal("9"))]
    assert up.extensions["mizan.jobs"].queue.finished_job_registry.count >= 1


def test_two_dispatchers_claim_an_event_once(app, dummy_shop):
    """Concurrent dispatchers (processes or threads) claim each waiting row with one conditional UPDATE."""
    with app.app_context():
        with atomic():
            row = record(OrderBooked(dummy_shop.store_id, "x", 1))
            db.session.flush()
            event_id = row.id
            # keep it from being dispatched after this commit
            row.claimed_at = utcnow()
        assert outbox._claim(event_id) is False  # noqa: SLF001  (claimed above, lease not over)
        db.session.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(claimed_at=None))
        db.session.commit()
        assert outbox._claim(event_id) is True  # noqa: SLF001
        assert outbox._claim(event_id) is False  # noqa: SLF001
        db.session.remove()


class FailingOnStock:
    """A plugin whose stock hook always raises."""

    name = "failing_stock"
    calls = 0

    @hookimpl
    def on_stock_changed(self, product_id, warehouse_id, quantity):  # noqa: ANN001, ANN201
        FailingOnStock.calls += 1
        raise RuntimeError("boom")


def test_one_failing_plugin_does_not_keep_the_stock_from_another_plugins_store(app, dummy_shop, other_app):
    """Each plugin's hook runs in its own job: the failing one is retried and logged, the dummy
    plugin's store still gets the quantity (I1)."""
    from core.models import SyncLogEntry

    FailingOnStock.calls = 0
    up = other_app(redis=redis_url(), plugins=(DUMMY_PLUGIN, f"{__name__}:FailingOnStock"))
    with up.app_context():
        registry().install("failing_stock")
        registry().enable("failing_stock")
        db.session.remove()
    _sell_one_mug(up, dummy_shop.ids)
    make_worker(up).work(burst=True)
    make_worker(up).work(burst=True)
    assert _pushed() == [("MUG-01", Decimal("9"))]
    assert FailingOnStock.calls >= 1
    with up.app_context():
        failures = db.session.execute(
            select(SyncLogEntry).where(SyncLogEntry.kind == "event", SyncLogEntry.status == "failed")
        ).scalars().all()
        assert failures and "plugin failing_stock failed in on_stock_changed" in failures[0].reason
        assert failures[0].retry["job"] == outbox.DELIVER_JOB
        assert db.session.execute(select(OutboxDelivery.plugin)).scalars().all() == ["dummy"]
        db.session.remove()
