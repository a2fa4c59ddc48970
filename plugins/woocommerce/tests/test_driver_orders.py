"""WooCommerce orders booked through the real webhook endpoint: gift-wrap fees, coupons and both tax modes to the
halala (O5), and an order completed then refunded before its first delivery went out (booked, then returned, once)."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import InvoiceLine, Product, ReturnInvoice, SalesInvoice, StoreOrder
from core.testing.kit.builders import count, on_hand
from core.testing.kit.pytest_plugin import ConnectedStore, connect
from plugins.woocommerce.testing import WooCommerceDriver


@pytest.fixture
def woo_store(app, served_app) -> Iterator[ConnectedStore]:
    with connect(app, served_app, WooCommerceDriver()) as store:
        yield store


def invoice_of(store: ConnectedStore, order: dict) -> SalesInvoice:
    record = db.session.execute(select(StoreOrder).where(StoreOrder.store_id == store.store_id,
                                                         StoreOrder.external_id == str(order["id"]))).scalar_one()
    assert record.state == "booked", record.reason
    return db.session.get(SalesInvoice, record.invoice_id)


@pytest.mark.parametrize("prices_include_tax", [True, False])
def test_an_order_with_a_coupon_shipping_and_gift_wrap_books_to_the_halala(app, woo_store, prices_include_tax):
    """O5: the invoice total is the store's, the gift wrap a STORE-FEE line that moves no stock."""
    driver = woo_store.driver
    order = driver.new_order([("MUG-01", 3)], shipping="15.00", coupon="save10", fee="10.00",
                             prices_include_tax=prices_include_tax)
    driver.complete(order)
    with app.app_context():
        invoice = invoice_of(woo_store, order)
        assert invoice.total == driver.total(order)
        assert invoice.vat_total == Decimal(driver.sandbox.order(order["id"])["total_tax"])
        codes = set(db.session.execute(select(Product.code).join(InvoiceLine, InvoiceLine.product_id == Product.id)
                                       .where(InvoiceLine.invoice_id == invoice.id)).scalars())
        assert "STORE-FEE" in codes and "MUG-01" in codes
        assert on_hand(woo_store.ids.mug, woo_store.ids.warehouse) == Decimal("7")


def test_an_order_completed_then_refunded_before_its_first_delivery_is_booked_then_returned(app, woo_store):
    """The one delivery carries the refunded order (date_completed set): the sale is booked, then its refund."""
    driver = woo_store.driver
    driver.sandbox.deferred = True
    order = driver.new_order([("MUG-01", 2)])
    driver.complete(order)
    driver.refund_all(order)
    with app.app_context():
        assert count(SalesInvoice) == 0
    driver.sandbox.flush()
    with app.app_context():
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        record = db.session.execute(select(StoreOrder).where(StoreOrder.external_id == str(order["id"]))).scalar_one()
        assert record.state == "returned"
        assert on_hand(woo_store.ids.mug, woo_store.ids.warehouse) == Decimal("10")
    driver.send_update(order)  # a late copy changes nothing
    with app.app_context():
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1


def test_the_stock_the_erp_pushes_comes_back_as_product_updated_and_changes_nothing(app, woo_store):
    """I1 with WooCommerce's own echo: the ERP's stock push fires product.updated at the ERP; it is handled once,
    no push loop follows, and store and ERP agree."""
    driver = woo_store.driver
    driver.sandbox.echo_api_writes = True
    order = driver.new_order([("MUG-01", 3)])
    driver.complete(order)
    driver.settle()
    echoes = [d for d in driver.sandbox.deliveries if d.topic == "product.updated"]
    assert echoes and {d.status for d in echoes} == {200}
    driver.settle()
    assert len([d for d in driver.sandbox.deliveries if d.topic == "product.updated"]) == len(echoes)
    assert driver.store_quantity("MUG-01") == 7
    with app.app_context():
        assert on_hand(woo_store.ids.mug, woo_store.ids.warehouse) == Decimal("7") and count(SalesInvoice) == 1
