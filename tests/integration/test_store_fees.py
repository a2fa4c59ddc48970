"""Store fee lines (gift wrap, cash-on-delivery fees): booked as lines of the non-stock store-fee product (O5, O6, R1)."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from core.extensions import db
from core.integration import products
from core.integration.booking import book_order
from core.integration.connections import get_store, store_api
from core.integration.products import STORE_FEE_CODE
from core.models import (
    InvoiceLine,
    Product,
    ReturnInvoice,
    ReturnLine,
    SalesInvoice,
    StockMovement,
    StoreOrder,
)
from core.platform.schemas import OrderSchema
from core.services.reports import trial_balance
from tests.builders import balance
from tests.integration.conftest import order_payload
from tests.integration.reads import count, on_hand
from tests.test_concurrency import run_in_threads

D = Decimal
#: How long an order's first look for the store-fee product waits for the other order's.
HOLD_BACK_SECONDS = 3


def with_fee(order: dict, name: str, amount: str) -> dict:
    """``order`` with a fee line of ``amount`` (excluding VAT) and its total raised by it and its 15% VAT."""
    fee = {"external_id": f"{order['external_id']}-fee", "kind": "fee", "sku": None, "name": name,
           "quantity": "1", "unit_price": amount}
    total = D(order["total"]) + (D(amount) * D("1.15")).quantize(D("0.01"))
    return {**order, "lines": [*order["lines"], fee], "total": str(total)}


def fee_product() -> Product:
    return db.session.execute(select(Product).where(Product.code == STORE_FEE_CODE)).scalar_one()


def test_an_order_with_a_fee_books_the_fee_as_a_line_of_the_non_stock_store_fee_product(app, dummy_shop):
    """O5/O6: the fee line has no SKU yet the order books; its line is the store-fee product described by the
    fee's name; the total matches the store's; only the mug moves stock and costs anything."""
    order = with_fee(order_payload([("MUG-01", "2", "25.00")]), "Gift wrap", "10.00")
    assert dummy_shop.deliver("order", order).status_code == 200
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == D(order["total"]) == D("69.00")
        assert invoice.rounding == 0
        fee = fee_product()
        assert (fee.name, fee.name_ar, fee.stock_tracked) == ("Store fees", "رسوم المتجر", False)
        lines = db.session.execute(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.position)
        ).scalars().all()
        assert [(line.product_id, line.description) for line in lines] == [
            (dummy_shop.ids.mug, "Item MUG-01"), (fee.id, "Gift wrap")]
        assert (lines[1].net_amount, lines[1].vat_amount, lines[1].cost_amount) == (D("10.00"), D("1.50"), 0)
        assert count(StockMovement) == 2  # the mug's opening stock and its sale; none for the fee
        assert db.session.execute(select(func.count()).select_from(StockMovement)
                                  .where(StockMovement.product_id == fee.id)).scalar_one() == 0
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == D("8")
        assert balance("cogs") == D("15.00")  # 2 mugs at 7.50; the fee costs nothing
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "booked"
        assert trial_balance().difference == 0


def test_a_fee_line_never_holds_the_order_for_a_missing_sku_but_an_item_line_still_does(app, dummy_shop):
    """O6: only a product line without SKU holds the order; the reason names that line, not the fee."""
    order = with_fee(order_payload([("MUG-01", "1", "25.00"), (None, "1", "5.00")]), "COD fee", "5.00")
    dummy_shop.deliver("order", order)
    with app.app_context():
        record = db.session.execute(select(StoreOrder)).scalar_one()
        assert record.state == "needs_attention"
        assert "line 2 (Item None)" in record.reason and "COD fee" not in record.reason
        assert count(SalesInvoice) == 0


def test_orders_with_fees_reuse_the_one_store_fee_product(app, dummy_shop):
    """Two orders with fees book against the same store-fee product, created once."""
    for name in ("Gift wrap", "COD fee"):
        dummy_shop.deliver("order", with_fee(order_payload([("MUG-01", "1", "25.00")]), name, "4.00"))
    with app.app_context():
        assert count(SalesInvoice) == 2
        assert db.session.execute(select(func.count()).select_from(Product)
                                  .where(Product.code == STORE_FEE_CODE)).scalar_one() == 1
        descriptions = db.session.execute(select(InvoiceLine.description).where(
            InvoiceLine.product_id == fee_product().id).order_by(InvoiceLine.id)).scalars().all()
        assert descriptions == ["Gift wrap", "COD fee"]


def test_a_refund_of_the_fee_line_returns_its_amount_and_no_stock(app, dummy_shop):
    """R1: a refund naming the fee line books a return of the fee (10.00 + VAT), restocking nothing."""
    order = with_fee(order_payload([("MUG-01", "2", "25.00")]), "Gift wrap", "10.00")
    dummy_shop.deliver("order", order)
    refund = {"external_id": "r-fee", "order_external_id": order["external_id"],
              "lines": [{"line_external_id": order["lines"][1]["external_id"], "quantity": "1", "restock": True}]}
    dummy_shop.deliver("refund", refund)
    with app.app_context():
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert returned.total == D("11.50")
        line = db.session.execute(select(ReturnLine)).scalar_one()
        assert (line.product_id, line.restock, line.cost_amount) == (fee_product().id, False, 0)
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == D("8")
        assert db.session.execute(select(func.count()).select_from(StockMovement)
                                  .where(StockMovement.product_id == fee_product().id)).scalar_one() == 0
        assert balance("cogs") == D("15.00")
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "partly_returned"
        assert trial_balance().difference == 0


def test_a_hand_made_store_fee_product_that_tracks_stock_holds_the_order(app, dummy_shop):
    """A fee must never move stock: an ERP product with the store-fee code that tracks stock holds the order
    with a reason that says what to change."""
    with app.app_context():
        db.session.add(Product(code=STORE_FEE_CODE, name="Fees", stock_tracked=True))
        db.session.commit()
    dummy_shop.deliver("order", with_fee(order_payload([("MUG-01", "1", "25.00")]), "Gift wrap", "4.00"))
    with app.app_context():
        record = db.session.execute(select(StoreOrder)).scalar_one()
        assert record.state == "needs_attention"
        assert STORE_FEE_CODE in record.reason and "tracks stock" in record.reason
        assert count(SalesInvoice) == 0


def test_a_line_kind_other_than_item_or_fee_is_refused_and_item_is_the_default():
    """The contract: ``kind`` is ``item`` (the default) or ``fee``."""
    order = order_payload([("MUG-01", "1", "25.00")])
    assert OrderSchema().load(order).lines[0].kind == "item"
    order["lines"][0]["kind"] = "shipping"
    with pytest.raises(ValidationError) as refused:
        OrderSchema().load(order)
    assert "kind" in refused.value.messages["lines"][0]


@pytest.mark.slow
def test_two_orders_with_fees_at_once_create_one_store_fee_product(app, dummy_shop, monkeypatch):
    """Concurrency: both orders book, against one store-fee product (its unique code decides). Each order's
    first look for the product waits for the other's, so that both find none and both insert it."""
    real_lookup = products._store_fee_product
    both_looked = threading.Barrier(2)
    looked = threading.local()

    def lookup_after_the_other():  # noqa: ANN202
        found = real_lookup()
        if not getattr(looked, "once", False):
            looked.once = True
            try:
                both_looked.wait(timeout=HOLD_BACK_SECONDS)  # SQLite: the other waits for the write lock instead
            except threading.BrokenBarrierError:
                pass
        return found

    monkeypatch.setattr(products, "_store_fee_product", lookup_after_the_other)
    orders = [OrderSchema().load(with_fee(order_payload([("MUG-01", "1", "25.00")]), "Gift wrap", "4.00"))
              for _ in range(2)]

    def job(order):
        def book() -> str:
            store = get_store(dummy_shop.store_id)
            result = book_order(store, order, api=store_api(store))
            return result.outcome if result.outcome == "booked" else f"{result.outcome}: {result.reason}"
        return book

    assert run_in_threads(app, [job(order) for order in orders]) == [("ok", "booked"), ("ok", "booked")]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Product)
                                  .where(Product.code == STORE_FEE_CODE)).scalar_one() == 1
        assert count(SalesInvoice) == 2
        assert db.session.execute(select(func.count()).select_from(InvoiceLine)
                                  .where(InvoiceLine.product_id == fee_product().id)).scalar_one() == 2
        assert trial_balance().difference == 0
        db.session.remove()
