"""Shopify's locations (C2): listed by the client, chosen on the store page, and used for the stock pushed."""
from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest

from core.extensions import db
from core.integration import connections
from core.platform.data import LocationData, StockQuantity
from core.plugins import registry
from plugins.shopify.client import ShopifyClient
from plugins.shopify.sandbox import DEFAULT_LOCATION_IDS, ShopifySandbox
from plugins.shopify.tests.conftest import SECRET, SHOP, TOKEN
from tests.web.integration_fixtures import *  # noqa: F403  (the fixture sign_in)

RIYADH, JEDDAH = (str(number) for number in DEFAULT_LOCATION_IDS)


def test_the_client_lists_the_shops_active_locations_the_first_as_default(client: ShopifyClient,
                                                                         shop: ShopifySandbox) -> None:
    """C2: ``list_locations`` answers the sandbox's two locations by their numeric ids; the first is the default."""
    assert client.list_locations() == [LocationData(RIYADH, "Riyadh warehouse", is_default=True),
                                       LocationData(JEDDAH, "Jeddah showroom")]


@pytest.fixture
def shopify_store(app) -> Iterator[tuple[int, ShopifySandbox]]:
    """An active Shopify store connection on a served sandbox shop (no location chosen)."""
    sandbox = ShopifySandbox(shop=SHOP, access_token=TOKEN, client_secret=SECRET)
    sandbox.seed_demo()
    with sandbox.serve() as served:
        with app.app_context():
            registry().install("shopify")
            registry().enable("shopify")
            store, key = connections.create_store("shopify", "Shopify shop")
            connections.set_credentials(store.id, {"shop_domain": SHOP, "access_token": TOKEN,
                                                   "client_secret": SECRET, "api_base": served.url})
            connections.activate(store.id, key)
            store_id = store.id
            db.session.remove()
        yield store_id, sandbox
    sandbox.flush()


def test_the_store_page_links_the_chosen_shopify_location_and_stock_goes_there(app, shopify_store, sign_in):
    """C2: the page offers the shop's locations (the first selected); once Jeddah is saved, the ERP's stock
    is pushed to Jeddah, not to the first location."""
    store_id, sandbox = shopify_store
    admin = sign_in("admin")
    page = admin.text(f"/stores/{store_id}")
    assert "Riyadh warehouse (default)" in page and "Jeddah showroom" in page
    assert re.search(r'<option selected value="([^"]*)"', page[page.index('id="location-form"'):]).group(1) == RIYADH

    assert admin.post(f"/stores/{store_id}/location", {"location_id": JEDDAH}).status_code == 302
    with app.app_context():
        store = connections.get_store(store_id)
        assert connections.credentials(store)["location_id"] == JEDDAH
        riyadh_before = sandbox.available("MUG-01", int(RIYADH))
        connections.store_api(store).push_stock([StockQuantity("MUG-01", Decimal(7))])
        db.session.remove()
    assert sandbox.available("MUG-01", int(JEDDAH)) == 7
    assert sandbox.available("MUG-01", int(RIYADH)) == riyadh_before
