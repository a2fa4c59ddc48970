"""Shopify product costs (issue 9 case 5; O7, P1): a variant's cost lives on its inventory item, which
the product webhooks leave out. The ERP reads it through the API when it creates a product, and follows
``inventory_items/update``. Through the sandbox shop and the ERP, both served over HTTP."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import InboundRequisition, Product, StockLevel, SyncLogEntry, WebhookDelivery
from core.services.reports import trial_balance
from core.testing.kit.pytest_plugin import ConnectedStore, connect
from plugins.shopify.testing import ShopifyDriver

D = Decimal


@pytest.fixture
def shopify_store(app, served_app) -> Iterator[ConnectedStore]:
    with connect(app, served_app, ShopifyDriver()) as store:
        yield store


def cogs() -> Decimal:
    from core.services.chart import account_by_key
    from core.services.reports import account_balance

    return account_balance(account_by_key("cogs").id)


def product(sku: str) -> Product:
    return db.session.execute(select(Product).where(Product.code == sku)).scalar_one()


def opening_balance(sku: str) -> InboundRequisition:
    return db.session.execute(
        select(InboundRequisition).where(InboundRequisition.kind == "opening_balance",
                                         InboundRequisition.reference == sku)).scalar_one()


def stock(product_id: int, warehouse_id: int) -> tuple[Decimal, Decimal]:
    level = db.session.get(StockLevel, (product_id, warehouse_id))
    return level.quantity, level.value


def not_processed() -> list[tuple[str, str | None]]:
    return [(d.status, d.last_error) for d in db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.status != "processed")).scalars()]


@pytest.mark.parametrize("announced", [False, True], ids=["order-first", "products-create-first"])
def test_an_order_for_a_new_sku_books_its_opening_balance_and_cogs_at_the_shopify_cost(
        app, shopify_store, announced):
    """O7: the new product, first met in the order or in ``products/create`` (which carries no cost),
    is valued at its inventory item's cost 40.00: 5 in at 40.00, 1 sold costs 40.00."""
    shop, ids = shopify_store.driver.sandbox, shopify_store.ids
    shop.add_product("LAMP-1", "Desk lamp", "100.00", 5, cost="40.00", send=announced)
    shopify_store.driver.settle()
    order = shopify_store.driver.new_order([("LAMP-1", 1)])
    shopify_store.driver.complete(order)
    with app.app_context():
        lamp = product("LAMP-1")
        assert lamp.purchase_price == D("40.00")
        assert opening_balance("LAMP-1").total == D("200.00")  # 5 (4 left in the store + 1 sold) at 40.00
        assert cogs() == D("40.00")
        assert stock(lamp.id, ids.warehouse) == (D("4"), D("160.00"))
        assert trial_balance().difference == 0
        assert not_processed() == []


def test_an_inventory_item_update_sets_the_cost_the_next_sale_uses(app, shopify_store):
    """P1: a product created before its cost was set (opening balance at 0.00) gets the cost of
    ``inventory_items/update``: its purchase price, and the stock left from the store's opening balance
    revalued (against opening balance equity), so the next sale costs 40.00; a later change applies too."""
    shop, ids = shopify_store.driver.sandbox, shopify_store.ids
    shop.add_product("VASE-1", "Glass vase", "90.00", 5, cost=None, send=True)
    shopify_store.driver.settle()
    with app.app_context():
        vase = product("VASE-1")
        assert (vase.purchase_price, opening_balance("VASE-1").total) == (D("0.00"), D("0.00"))
        vase_id = vase.id

    shop.set_cost("VASE-1", "40.00")
    with app.app_context():
        assert db.session.get(Product, vase_id).purchase_price == D("40.00")
        assert stock(vase_id, ids.warehouse) == (D("5"), D("200.00"))
        logged = db.session.execute(select(SyncLogEntry.reason).where(SyncLogEntry.kind == "product")
                                    .order_by(SyncLogEntry.id.desc())).scalars().first()
        assert logged.startswith("purchase price set to 40.00")
    order = shopify_store.driver.new_order([("VASE-1", 1)])
    shopify_store.driver.complete(order)
    with app.app_context():
        assert cogs() == D("40.00")
        assert stock(vase_id, ids.warehouse) == (D("4"), D("160.00"))

    shop.set_cost("VASE-1", "45.00")
    order = shopify_store.driver.new_order([("VASE-1", 2)])
    shopify_store.driver.complete(order)
    with app.app_context():
        assert db.session.get(Product, vase_id).purchase_price == D("45.00")
        assert cogs() == D("40.00") + D("90.00")
        assert stock(vase_id, ids.warehouse) == (D("2"), D("90.00"))
        assert trial_balance().difference == 0
        assert not_processed() == []


def test_a_late_inventory_item_update_never_brings_back_an_older_cost(app, shopify_store):
    """O11: the cost 40.00 event is delivered again after the 45.00 one; the ERP asks the shop's API and
    keeps 45.00 (and the stock's value at it)."""
    shop, ids = shopify_store.driver.sandbox, shopify_store.ids
    shop.add_product("VASE-1", "Glass vase", "90.00", 5, cost=None, send=True)
    shopify_store.driver.settle()
    older = shop.set_cost("VASE-1", "40.00")
    shop.set_cost("VASE-1", "45.00")
    shop.send("inventory_items/update", older)
    with app.app_context():
        vase = product("VASE-1")
        assert vase.purchase_price == D("45.00")
        assert stock(vase.id, ids.warehouse) == (D("5"), D("225.00"))
        assert trial_balance().difference == 0
        assert not_processed() == []


def test_a_cost_for_stock_the_erp_received_itself_changes_only_the_purchase_price(app, shopify_store):
    """O8: MUG-01's 10 in stock came from the ERP's own receipt at 7.50; Shopify's cost 9.75 becomes its
    purchase price and the stock keeps its value."""
    shop, ids = shopify_store.driver.sandbox, shopify_store.ids
    shop.set_cost("MUG-01", "9.75")
    with app.app_context():
        assert db.session.get(Product, ids.mug).purchase_price == D("9.75")
        assert stock(ids.mug, ids.warehouse) == (D("10"), D("75.00"))
        assert not_processed() == []


def test_a_cost_for_a_product_the_erp_does_not_have_is_logged_and_changes_nothing(app, shopify_store):
    shop = shopify_store.driver.sandbox
    shop.add_product("NEW-9", "Not yet in the ERP", "10.00", 2, cost="3.00", send=False)
    shop.set_cost("NEW-9", "4.00")
    with app.app_context():
        assert db.session.execute(select(Product).where(Product.code == "NEW-9")).scalar_one_or_none() is None
        skipped = db.session.execute(select(SyncLogEntry).where(SyncLogEntry.status == "skipped")).scalars().all()
        assert [entry.reason for entry in skipped][-1].startswith("the store's cost 4.00 is for a product")
        assert not_processed() == []
