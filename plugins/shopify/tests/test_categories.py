"""A product's collection that the ERP has not imported yet is imported on the fly (issue 9 case 7; P1, C3).
Through the sandbox shop and the ERP, both served over HTTP."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import Category, Product, WebhookDelivery
from core.testing.kit.pytest_plugin import ConnectedStore, connect
from plugins.shopify.testing import ShopifyDriver


@pytest.fixture
def shopify_store(app, served_app) -> Iterator[ConnectedStore]:
    with connect(app, served_app, ShopifyDriver()) as store:
        yield store


def category_of(sku: str) -> str | None:
    product = db.session.execute(select(Product).where(Product.code == sku)).scalar_one()
    return product.category.name if product.category_id else None


def categories_named(name: str) -> int:
    return len(db.session.execute(select(Category).where(Category.name == name)).scalars().all())


@pytest.mark.parametrize("announced", [False, True], ids=["order-first", "products-create-first"])
def test_a_new_product_in_a_collection_made_after_connecting_gets_that_category(app, shopify_store, announced):
    """The collection "Lamps" is created in the shop after the store was connected; the product in it,
    first met in an order (API data) or in ``products/create`` (no collections: read from the API), is
    created in the ERP category "Lamps", imported once."""
    shop = shopify_store.driver.sandbox
    lamps = shop.add_collection("Lamps")
    shop.add_product("LAMP-1", "Desk lamp", "100.00", 5, cost="40.00", collection_id=lamps["id"], send=announced)
    shopify_store.driver.settle()
    order = shopify_store.driver.new_order([("LAMP-1", 1)])
    shopify_store.driver.complete(order)
    shop.add_product("LAMP-2", "Floor lamp", "300.00", 2, cost="90.00", collection_id=lamps["id"], send=True)
    with app.app_context():
        assert category_of("LAMP-1") == "Lamps"
        assert category_of("LAMP-2") == "Lamps"
        assert categories_named("Lamps") == 1
        assert db.session.execute(select(WebhookDelivery).where(
            WebhookDelivery.status != "processed")).scalars().all() == []
