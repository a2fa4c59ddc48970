"""O12 with the Zid sandbox's drop switch: webhooks lost, reconciliation books the completed order and its
return from the store's API, once; the demo's "lost webhook" story over real HTTP."""
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
from plugins.zid.testing import ZidDriver


@pytest.fixture
def zid_store(app, served_app) -> Iterator[ConnectedStore]:
    with connect(app, served_app, ZidDriver()) as store:
        yield store


def test_lost_webhooks_are_caught_up_by_reconciliation_once(app, zid_store):
    driver = zid_store.driver
    driver.sandbox.drop = True
    order = driver.new_order([("MUG-01", 3)], shipping="15.00", coupon="SAVE10")
    driver.complete(order)
    driver.refund_line(order, 0, 1)
    pending = driver.new_order([("MUG-01", 1)])  # placed, never completed: not booked
    assert all(d.dropped for d in driver.sandbox.deliveries)
    with app.app_context():
        assert count(SalesInvoice) == 0
        report = reconcile_store(zid_store.store_id)
        assert (report.orders, report.booked) == (2, 1) and report.refunds == {"booked": 1}
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == driver.total(order)
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert returned.lines[0].quantity == Decimal("1")
        assert on_hand(zid_store.ids.mug, zid_store.ids.warehouse) == Decimal("8")
        states = dict(db.session.execute(select(StoreOrder.external_id, StoreOrder.state)).all())
        assert states[str(order["id"])] == "partly_returned"
        assert states.get(str(pending["id"]), "skipped") == "skipped"  # not completed: not booked
        again = reconcile_store(zid_store.store_id)
        assert again.booked == 0 and count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        assert {r.state for r in db.session.execute(select(StoreRefund)).scalars()} == {"booked"}
