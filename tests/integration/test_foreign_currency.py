"""An order in another currency than the company's is held, never booked as the base currency (O5)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.integration.manual import reprocess_order
from core.models import JournalEntry, SalesInvoice, StockMovement, StoreOrder, StoreRefund
from core.platform.schemas import OrderSchema
from tests.integration.conftest import order_payload
from tests.integration.reads import count, on_hand


def _order(number: str) -> StoreOrder:
    return db.session.execute(select(StoreOrder).where(StoreOrder.number == number)).scalar_one()


def _booked() -> tuple[int, int, int]:
    """How many invoices, journal entries and stock movements exist."""
    return count(SalesInvoice), count(JournalEntry), count(StockMovement)


def test_a_completed_order_in_a_foreign_currency_is_held_with_its_reason_and_books_nothing(app, dummy_shop):
    """O5: a 6 KWD order is not booked as 6 SAR: it needs attention (reason ``foreign_currency`` naming
    both currencies); no invoice, no journal entry, no stock movement; its refund waits."""
    order = order_payload([("MUG-01", "2", "3.00")], number="#K-1")
    order["currency"] = "kwd"
    with app.app_context():
        before = _booked()
        assert before[0] == 0
    dummy_shop.deliver("order", order)
    dummy_shop.deliver("refund", {"external_id": "r-k1", "order_external_id": order["external_id"],
                                  "whole_order": True})
    with app.app_context():
        held = _order("#K-1")
        assert held.state == "needs_attention" and held.invoice_id is None
        assert held.reason.startswith("foreign_currency:") and "KWD" in held.reason and "SAR" in held.reason
        assert _booked() == before and on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == 10
        refund = db.session.execute(select(StoreRefund)).scalar_one()
        assert refund.state == "waiting" and refund.reason.startswith("order_not_booked:")


def test_reprocessing_a_foreign_currency_order_that_nobody_changed_keeps_it_held(app, dummy_shop):
    """O5, O6: re-processing (the store still answers the order in KWD) books nothing and keeps the reason."""
    order = order_payload([("MUG-01", "1", "6.00")], number="#K-2")
    order["currency"] = "KWD"
    dummy_shop.remote.orders[order["external_id"]] = OrderSchema().load(order)
    with app.app_context():
        before = _booked()
    dummy_shop.deliver("order", order)
    with app.app_context():
        result = reprocess_order(_order("#K-2").id)
        assert result.outcome == "needs_attention" and result.reason.startswith("foreign_currency:")
        again = _order("#K-2")
        assert again.state == "needs_attention" and again.reason.startswith("foreign_currency:")
        assert _booked() == before and before[0] == 0


def test_an_order_in_the_company_currency_in_any_case_is_booked(app, dummy_shop):
    """O5: the currency compares case-insensitively: ``sar`` is the company's SAR, so the order is booked."""
    order = order_payload([("MUG-01", "1", "25.00")], number="#S-1")
    order["currency"] = "sar"
    dummy_shop.deliver("order", order)
    with app.app_context():
        assert _order("#S-1").state == "booked" and count(SalesInvoice) == 1
