"""Two orders for an SKU new to the ERP, booked at the same moment (issue 9 case 4; O7, O11).

The product created from the store and its opening balance are one transaction, and the
product's unique code decides who creates it: the other order waits for that commit and books
against the product's stock instead of finding it with "0 on hand".
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.integration import products
from core.integration.booking import book_order
from core.integration.connections import get_store, store_api
from core.models import InboundRequisition, Product, SalesInvoice, StockLevel, StoreOrder
from core.platform.data import ProductData
from core.platform.schemas import OrderSchema
from core.services.reports import trial_balance
from core.services.transaction import DEPTH
from core.testing.dummy import DummyStore
from tests.builders import balance
from tests.integration.conftest import order_payload
from tests.test_concurrency import run_in_threads

D = Decimal
pytestmark = pytest.mark.slow

#: How long the creator of the product holds back its opening balance, waiting for the other order
#: to finish: on main the other order is then held ("0 on hand"); with one transaction it cannot
#: finish before the creator commits, so the creator goes on after this bound.
HOLD_BACK_SECONDS = 3


def test_two_orders_for_a_new_sku_at_once_create_it_once_and_both_book(app, dummy_shop, monkeypatch):
    """O7/O11: the store says 3 are left after both sales; each order books, the product and its
    opening balance (3 + the first order's 1, at the store's cost 12.00) exist once, the books balance."""
    DummyStore.named("shop-1").products.append(ProductData(
        external_id="p-77", sku="NEW-1", name="New lamp", price=D("20.00"), cost=D("12.00"), quantity=D("3"),
    ))
    finished = threading.Event()
    real_post_inbound = products.post_inbound

    def held_back_post_inbound(draft):
        if not db.session.info.get(DEPTH):
            db.session.commit()  # outside a transaction, end the read first, as post_inbound's atomic() would
        finished.wait(timeout=HOLD_BACK_SECONDS)  # widen the window between the product and its stock
        return real_post_inbound(draft)

    monkeypatch.setattr(products, "post_inbound", held_back_post_inbound)
    orders = [OrderSchema().load(order_payload([("NEW-1", "1", "20.00")])) for _ in range(2)]

    def job(order):
        def book() -> str:
            try:
                store = get_store(dummy_shop.store_id)
                result = book_order(store, order, api=store_api(store))
                return f"{result.outcome}: {result.reason}" if result.outcome != "booked" else "booked"
            finally:
                finished.set()
        return book

    results = run_in_threads(app, [job(order) for order in orders])

    assert results == [("ok", "booked"), ("ok", "booked")]
    with app.app_context():
        product_ids = db.session.execute(select(Product.id).where(Product.code == "NEW-1")).scalars().all()
        assert len(product_ids) == 1
        assert db.session.execute(select(func.count()).select_from(InboundRequisition).where(
            InboundRequisition.kind == "opening_balance")).scalar_one() == 1
        level = db.session.get(StockLevel, (product_ids[0], dummy_shop.ids.warehouse))
        assert (level.quantity, level.value) == (D("2"), D("24.00"))  # 4 in at 12.00, 2 sold
        assert db.session.execute(select(func.count()).select_from(SalesInvoice)).scalar_one() == 2
        states = db.session.execute(select(StoreOrder.state)).scalars().all()
        assert states == ["booked", "booked"]
        assert balance("cogs") == D("24.00")
        assert trial_balance().difference == 0
        db.session.remove()


def test_a_new_product_with_the_former_sku_of_a_renamed_one_gets_its_own_opening_balance(app, dummy_shop):
    """O7: the opening balance's key names the product, not its SKU, so a product created with an SKU that
    another product had before (renamed since) is created with its stock instead of failing as a duplicate."""
    with app.app_context():
        store = get_store(dummy_shop.store_id)
        first = products.create_from_store(store, ProductData("p-1", "OLD-1", "Kettle", cost=D("9.00")), D("2"))
        db.session.get(Product, first).code = "NEW-2"
        db.session.commit()
        second = products.create_from_store(store, ProductData("p-2", "OLD-1", "Teapot", cost=D("6.00")), D("3"))
        assert second != first
        assert db.session.get(StockLevel, (second, dummy_shop.ids.warehouse)).value == D("18.00")
        assert db.session.execute(select(func.count()).select_from(InboundRequisition).where(
            InboundRequisition.kind == "opening_balance")).scalar_one() == 2
        db.session.remove()
