"""Reconciliation (O12): what a store's webhooks missed is pulled from its API and booked once."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.extensions import db
from core.integration.reconcile import SAFETY_OVERLAP, reconcile_active_stores, reconcile_store
from core.models import ReturnInvoice, SalesInvoice, StoreConnection, SyncLogEntry
from core.models.base import utcnow
from core.platform.base import StoreAPIError
from core.platform.schemas import OrderSchema, RefundSchema
from core.services.errors import Invalid
from tests.integration.conftest import order_payload
from tests.integration.reads import count, on_hand


def cursor_of(store_id: int) -> datetime | None:
    db.session.expire_all()
    return db.session.get(StoreConnection, store_id).reconciled_through


@pytest.mark.capability("reconcile")
def test_an_order_whose_webhooks_were_dropped_is_booked_by_reconciliation_once(app, connected_store):
    """O12, O3: booked by the first run; the second run and the webhook arriving later say already booked."""
    driver = connected_store.driver
    order = driver.new_order([("MUG-01", 2)], send=False)
    driver.complete(order, send=False)
    with app.app_context():
        assert count(SalesInvoice) == 0
        before = utcnow()
        first = reconcile_store(connected_store.store_id)
        assert (first.booked, first.already_booked) == (1, 0)
        assert count(SalesInvoice) == 1
        assert on_hand(connected_store.ids.mug, connected_store.ids.warehouse) == Decimal("8")
        through = cursor_of(connected_store.store_id)
        assert through is not None and through >= before - timedelta(seconds=1)
        second = reconcile_store(connected_store.store_id)
        assert (second.booked, second.already_booked) == (0, 1)
        assert second.since == through - SAFETY_OVERLAP
        assert cursor_of(connected_store.store_id) >= through
        db.session.remove()
    driver.send_update(order)
    driver.settle()
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == driver.total(order)
        logged = db.session.execute(
            select(SyncLogEntry.reason).where(SyncLogEntry.kind == "reconcile", SyncLogEntry.status == "done")
            .order_by(SyncLogEntry.id)
        ).scalars().all()
        assert "booked 1" in logged[0] and "already booked 1" in logged[1]


@pytest.mark.capability("reconcile")
def test_a_refund_whose_webhook_was_dropped_is_booked_by_reconciliation_once(app, connected_store):
    """O12, R1, R2: the refund the store lists for a booked order is booked, once."""
    driver = connected_store.driver
    order = driver.new_order([("MUG-01", 2)])
    driver.complete(order)
    driver.refund_all(order, send=False)
    with app.app_context():
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 0
        first = reconcile_store(connected_store.store_id)
        second = reconcile_store(connected_store.store_id)
        assert (first.refunds, second.refunds) == ({"booked": 1}, {"already_booked": 1})
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert returned.total == db.session.execute(select(SalesInvoice)).scalar_one().total
        assert on_hand(connected_store.ids.mug, connected_store.ids.warehouse) == Decimal("10")


@pytest.mark.capability("order_annotation")
def test_the_invoice_number_is_written_back_on_the_store_order(app, connected_store):
    """The platform plugin's on_order_completed writes the ERP invoice number onto the store order."""
    driver = connected_store.driver
    order = driver.new_order([("MUG-01", 1)])
    driver.complete(order)
    with app.app_context():
        number = db.session.execute(select(SalesInvoice.number)).scalar_one()
    assert number in driver.written_back(order)


def test_the_cursor_moves_forward_only_over_what_was_looked_at(app, dummy_shop):
    """O12: a run from a later ``since`` leaves the cursor; failed pages do not move it."""
    remote = dummy_shop.remote
    for n in range(3):
        remote.orders[f"o{n}"] = OrderSchema().load(order_payload([("MUG-01", "1", "20")], external_id=f"o{n}"))
    with app.app_context():
        assert cursor_of(dummy_shop.store_id) is None
        remote.failures.append("down")  # the store fails while listing
        with pytest.raises(StoreAPIError, match="down"):
            reconcile_store(dummy_shop.store_id)
        assert cursor_of(dummy_shop.store_id) is None and count(SalesInvoice) == 0
        done = reconcile_store(dummy_shop.store_id)
        assert (done.booked, done.already_booked, done.pages) == (3, 0, 2)
        through = cursor_of(dummy_shop.store_id)
        later = reconcile_store(dummy_shop.store_id, through + timedelta(hours=1))
        assert cursor_of(dummy_shop.store_id) == through and later.through is None
        failed = db.session.execute(
            select(SyncLogEntry).where(SyncLogEntry.kind == "reconcile", SyncLogEntry.status == "failed")
        ).scalar_one()
        assert "down" in failed.reason and failed.retry["args"] == [dummy_shop.store_id]


def test_a_refund_the_store_lists_only_through_its_api_is_booked(app, dummy_shop):
    """O12, R1: refunds come from list_refunds of each booked order."""
    remote = dummy_shop.remote
    remote.orders["r1"] = OrderSchema().load(order_payload([("MUG-01", "2", "20")], external_id="r1"))
    remote.refunds["r1"] = [RefundSchema().load({"external_id": "rf1", "order_external_id": "r1",
                                                 "lines": [{"line_external_id": "r1-1", "quantity": "1"}]})]
    with app.app_context():
        report = reconcile_store(dummy_shop.store_id)
        assert (report.booked, report.refunds) == (1, {"booked": 1})
        assert count(ReturnInvoice) == 1
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("9")


def test_orders_not_bookable_are_not_booked_again_while_their_status_stays(app, dummy_shop):
    """O1, O12: an order still pending is skipped once, then counted unchanged (no log entry each run)."""
    remote = dummy_shop.remote
    remote.orders["p1"] = OrderSchema().load(order_payload([("MUG-01", "1", "20")], external_id="p1",
                                                           status="pending"))
    with app.app_context():
        assert reconcile_store(dummy_shop.store_id).outcomes == {"skipped": 1}
        assert reconcile_store(dummy_shop.store_id).outcomes == {"unchanged": 1}
        remote.orders["p1"] = OrderSchema().load(order_payload([("MUG-01", "1", "20")], external_id="p1"))
        assert reconcile_store(dummy_shop.store_id).outcomes == {"booked": 1}


def test_a_store_that_is_not_active_is_not_reconciled(app, dummy_shop):
    with app.app_context():
        store = db.session.get(StoreConnection, dummy_shop.store_id)
        store.status = "disabled"
        db.session.commit()
        with pytest.raises(Invalid, match="not active"):
            reconcile_store(dummy_shop.store_id)
        assert reconcile_active_stores() == 0


def test_the_periodic_job_reconciles_every_active_store(app, dummy_shop):
    """O12: the periodic job queues one reconciliation per active store (inline here: run at once)."""
    dummy_shop.remote.orders["j1"] = OrderSchema().load(order_payload([("MUG-01", "1", "20")], external_id="j1"))
    with app.app_context():
        assert reconcile_active_stores() == 1
        assert count(SalesInvoice) == 1 and cursor_of(dummy_shop.store_id) is not None


def test_flask_stores_reconcile_books_and_reports(app, dummy_shop):
    """O12: ``flask stores reconcile <id> [--since ISO]``."""
    dummy_shop.remote.orders["c1"] = OrderSchema().load(order_payload([("MUG-01", "1", "20")], external_id="c1"))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["stores", "reconcile", str(dummy_shop.store_id)])
    assert first.exit_code == 0, first.output
    assert re.search(r"1 orders changed since .*: booked 1", first.output)
    assert "Reconciled through" in first.output
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    second = runner.invoke(args=["stores", "reconcile", str(dummy_shop.store_id), "--since", since])
    assert second.exit_code == 0 and "already booked 1" in second.output, second.output
    wrong = runner.invoke(args=["stores", "reconcile", str(dummy_shop.store_id), "--since", "yesterday"])
    assert wrong.exit_code == 2 and "not an ISO 8601 time" in wrong.output
    missing = runner.invoke(args=["stores", "reconcile", "999"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    with app.app_context():
        assert count(SalesInvoice) == 1
