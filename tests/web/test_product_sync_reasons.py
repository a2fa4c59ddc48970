"""The product-sync report names why a product was held or skipped, in the user's language (P3, P4)."""
from __future__ import annotations

from decimal import Decimal

from core.extensions import db
from core.integration.product_sync import start_product_sync
from core.platform.data import ProductData
from core.testing.dummy import DummyStore
from tests.builders import Builders
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.test_translations import arabic_pages  # noqa: F401  (the fixture)


def _sync(app, store_id: int) -> None:
    with app.app_context():
        start_product_sync(store_id)
        db.session.remove()


def test_a_product_whose_new_sku_another_product_has_is_listed_as_held_with_the_reason(
        app, arabic_pages, dummy_shop, web):  # noqa: F811
    remote = DummyStore.named("shop-1")
    remote.products += [ProductData("p-1", "MUG-01", "Mug", Decimal("26")), ProductData("p-2", None, "Gift card")]
    _sync(app, dummy_shop.store_id)  # links MUG-01 to p-1
    with app.app_context():
        Builders().product("TEA-5", "30")
        db.session.remove()
    remote.products[0] = ProductData("p-1", "TEA-5", "Mug", Decimal("26"))
    _sync(app, dummy_shop.store_id)

    viewer = web("viewer")
    page = viewer.text(f"/stores/{dummy_shop.store_id}/product-sync")
    reasons = page[page.index('id="sync-reasons"'):]
    assert "Skipped, held and failed products" in page
    assert "the store changed the SKU of Mug from MUG-01 to TEA-5, which ERP product Product TEA-5 already has" \
        in reasons
    assert "store product p-2 (Gift card) has no SKU" in reasons
    viewer.use_language("ar")
    arabic = viewer.text(f"/stores/{dummy_shop.store_id}/product-sync")
    assert "غيّر المتجر رمز SKU للمنتج Mug من MUG-01 إلى TEA-5" in arabic
    assert "منتج المتجر p-2 (Gift card) ليس له رمز SKU" in arabic
