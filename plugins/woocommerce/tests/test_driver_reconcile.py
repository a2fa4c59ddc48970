"""O12 with the WooCommerce sandbox's drop switch: webhooks lost, reconciliation books the completed order and its
refund from the store's API, once; a refund whose webhook was lost after the order was booked is booked once too."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.extensions import db
from core.integration.reconcile import reconcile_store
from core.models import ReturnInvoice, SalesInvoice, StoreOrder, StoreRefund
from core.testing.kit.builders import count, on_hand
from core.testing.kit.pytest_plugin import ConnectedStore, connect
from plugins.woocommerce.testing import WooCommerceDriver


@pytest.fixture
def woo_store(app, served_app) -> Iterator[ConnectedStore]:
    with connect(app, served_app, WooCommerceDriver()) as store:
        yield store


def test_lost_webhooks_are_caught_up_by_reconciliation_once(app, woo_store):
    driver = woo_store.driver
    driver.sandbox.drop = True
    order = driver.new_order([("MUG-01", 3)], shipping="15.00", coupon="save10")
    driver.complete(order)
    driver.refund_line(order, 0, 1)
    pending = driver.new_order([("MUG-01", 1)])  # placed, never completed: not booked
    assert all(d.dropped for d in driver.sandbox.deliveries if d.topic != "ping")
    with app.app_context():
        assert count(SalesInvoice) == 0
        report = reconcile_store(woo_store.store_id)
        assert report.booked == 1 and report.refunds == {"booked": 1}
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == driver.total(order)
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert returned.lines[0].quantity == Decimal("1")
        assert on_hand(woo_store.ids.mug, woo_store.ids.warehouse) == Decimal("8")
        states = dict(db.session.execute(select(StoreOrder.external_id, StoreOrder.state)).all())
        assert states[str(order["id"])] == "partly_returned"
        assert states.get(str(pending["id"]), "skipped") == "skipped"
        again = reconcile_store(woo_store.store_id)
        assert again.booked == 0 and count(SalesInvoice) == 1 and count(ReturnInvoice) == 1


def test_a_refund_whose_webhook_was_lost_is_booked_once(app, woo_store):
    """The order is booked from its webhook; the refund's order.updated is lost; reconciliation books the
    refund; the late webhook then changes nothing (R1, O12)."""
    driver = woo_store.driver
    order = driver.new_order([("MUG-01", 2)])
    driver.complete(order)
    with app.app_context():
        assert count(SalesInvoice) == 1
    driver.sandbox.drop = True
    driver.refund_all(order)
    with app.app_context():
        assert count(ReturnInvoice) == 0
        reconcile_store(woo_store.store_id)
        assert count(ReturnInvoice) == 1
    driver.sandbox.drop = False
    driver.send_update(order)
    with app.app_context():
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        assert {r.state for r in db.session.execute(select(StoreRefund)).scalars()} == {"booked"}
        assert on_hand(woo_store.ids.mug, woo_store.ids.warehouse) == Decimal("10")
