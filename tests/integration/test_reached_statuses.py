"""An order the store says was completed before its current status is booked, then returned (O1, O11, R2)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.models import ReturnInvoice, SalesInvoice, StoreOrder, StoreRefund
from tests.integration.conftest import order_payload
from tests.integration.reads import count, on_hand


def _order(number: str) -> StoreOrder:
    return db.session.execute(select(StoreOrder).where(StoreOrder.number == number)).scalar_one()


def test_an_order_first_seen_returned_that_went_through_completed_is_booked_then_its_refund(app, dummy_shop):
    """O1, O11: the first version the ERP sees is already ``refunded`` (the webhooks were handled late), but the
    store says it went through ``completed``: the sale is booked, then the waiting refund returns it."""
    order = order_payload([("MUG-01", "2", "10.00")], number="#RS-1", status="refunded")
    order["reached_statuses"] = ["new", "completed"]
    dummy_shop.deliver("refund", {"external_id": "rs-1", "order_external_id": order["external_id"],
                                  "whole_order": True})
    dummy_shop.deliver("order", order)
    with app.app_context():
        record = _order("#RS-1")
        assert record.invoice_id is not None and record.state == "returned"
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        refund = db.session.execute(select(StoreRefund)).scalar_one()
        assert refund.state == "booked"
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == 10


def test_an_order_that_never_reached_a_completed_status_is_not_booked(app, dummy_shop):
    """O1: ``refunded`` straight from ``new`` (paid, then refunded before it was completed) books nothing."""
    order = order_payload([("MUG-01", "1", "10.00")], number="#RS-2", status="refunded")
    order["reached_statuses"] = ["new"]
    dummy_shop.deliver("order", order)
    with app.app_context():
        record = _order("#RS-2")
        assert record.invoice_id is None and record.state == "skipped"
        assert count(SalesInvoice) == 0


def test_a_cancelled_order_is_not_booked_whatever_it_went_through(app, dummy_shop):
    """O10: a cancelled order that had been completed is not booked when the ERP first sees it cancelled."""
    order = order_payload([("MUG-01", "1", "10.00")], number="#RS-3", status="cancelled")
    order["reached_statuses"] = ["completed"]
    order["cancelled"] = True
    dummy_shop.deliver("order", order)
    with app.app_context():
        assert _order("#RS-3").invoice_id is None and count(SalesInvoice) == 0
