"""Store products and categories keep their Arabic names apart, as the ERP does (P1, C2)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.integration.categories import import_categories
from core.integration.connections import get_store
from core.models import Category, Product
from core.platform.data import CategoryData
from core.testing.dummy import DummyClient


def _product(code: str) -> Product:
    return db.session.execute(select(Product).where(Product.code == code)).scalar_one()


def test_a_store_product_brings_its_arabic_name_and_an_update_without_one_keeps_it(app, dummy_shop):
    """P1: created with ``name_ar``; a later update that names no Arabic name leaves it as it was."""
    dummy_shop.deliver("product", {"external_id": "p-90", "sku": "DALLAH-1", "name": "Coffee pot",
                                   "name_ar": "دلة", "price": "80.00", "quantity": "2"})
    with app.app_context():
        product = _product("DALLAH-1")
        assert (product.name, product.name_ar) == ("Coffee pot", "دلة")
    dummy_shop.deliver("product", {"external_id": "p-90", "sku": "DALLAH-1", "name": "Coffee pot, brass",
                                   "price": "85.00"}, delivery="p-90-2")
    with app.app_context():
        product = _product("DALLAH-1")
        assert (product.name, product.name_ar) == ("Coffee pot, brass", "دلة")


def test_imported_categories_keep_their_arabic_names(app, dummy_shop):
    """C2: the store's categories are imported with the Arabic name apart from the other language's."""
    dummy_shop.remote.categories[:] = [CategoryData("c-1", "Coffee", name_ar="قهوة"),
                                       CategoryData("c-2", "Arabic coffee", "c-1", name_ar="قهوة عربية")]
    with app.app_context():
        store = get_store(dummy_shop.store_id)
        assert import_categories(store, DummyClient(dummy_shop.remote)) == 2
        rows = {c.name: c for c in db.session.execute(select(Category)).scalars()}
        assert (rows["Coffee"].name_ar, rows["Arabic coffee"].name_ar) == ("قهوة", "قهوة عربية")
        assert rows["Arabic coffee"].parent_id == rows["Coffee"].id
