"""A product's category that the ERP has not imported yet is imported on the fly (issue 9 case 7; P1, C3).
Through the sandbox store and the ERP, both served over HTTP."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import Category, Product, WebhookDelivery
from core.testing.kit.pytest_plugin import ConnectedStore, connect
from plugins.salla.testing import SallaDriver


@pytest.fixture
def salla_store(app, served_app) -> Iterator[ConnectedStore]:
    with connect(app, served_app, SallaDriver()) as store:
        yield store


def category_of(sku: str) -> Category | None:
    product = db.session.execute(select(Product).where(Product.code == sku)).scalar_one()
    return product.category


def test_a_product_in_a_category_made_after_connecting_gets_that_category(app, salla_store):
    """The category "Lamps" (with the sub-category "Desk lamps") is created in the store after it was
    connected; ``product.created`` for a product in "Desk lamps" creates the ERP product in that
    category, imported on the fly with its parent, once."""
    store = salla_store.driver.sandbox
    lamps = store.add_category("Lamps")
    desk = store.add_category("Desk lamps", parent_id=lamps["id"])
    store.add_product("LAMP-1", "Desk lamp", "100.00", 5, cost_price="40.00", categories=[desk["id"]], send=True)
    with app.app_context():
        category = category_of("LAMP-1")
        assert category is not None and category.name == "Desk lamps"
        assert category.parent is not None and category.parent.name == "Lamps"
    store.add_product("LAMP-2", "Reading lamp", "80.00", 2, categories=[desk["id"]], send=True)
    with app.app_context():
        assert category_of("LAMP-2").name == "Desk lamps"
        assert len(db.session.execute(select(Category).where(Category.name == "Desk lamps")).scalars().all()) == 1
        assert db.session.execute(select(WebhookDelivery).where(
            WebhookDelivery.status != "processed")).scalars().all() == []
