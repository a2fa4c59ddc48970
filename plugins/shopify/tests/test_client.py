"""The Shopify client against the sandbox shop over real HTTP (and a few canned answers)."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from core.platform.base import RateLimited, StoreAPIError
from core.platform.data import ProductData, StockQuantity
from core.platform.webhooks import WebhookSubscription
from plugins.shopify import client as client_module
from plugins.shopify.client import ShopifyClient
from plugins.shopify.sandbox import API_PREFIX, API_VERSION, ShopifySandbox, gid
from plugins.shopify.tests.conftest import Receiver
from plugins.shopify.webhooks import SUBSCRIBED_TOPICS


def set_calls(shop: ShopifySandbox) -> list[Any]:
    return [r for r in shop.log.matching("POST", API_PREFIX + "/graphql.json")
            if "inventorySetQuantities" in r.json["query"]]


def canned(status: int, body: Any, headers: dict[str, str] | None = None) -> ShopifyClient:
    """A client whose every call gets this answer."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body, headers=headers))
    return ShopifyClient({"shop_domain": "a.myshopify.com", "access_token": "t"}, transport=transport)


def test_the_client_speaks_the_sandbox_api_version_with_the_token(client: ShopifyClient,
                                                                   shop: ShopifySandbox) -> None:
    assert client_module.API_VERSION == API_VERSION
    assert client.check_credentials() == "Mizan Demo Store"
    assert shop.log.entries[-1].headers["X-Shopify-Access-Token"] == "shpat_plugin_test"


def test_a_wrong_token_is_not_retryable(creds: dict) -> None:
    with ShopifyClient(creds | {"access_token": "shpat_wrong"}) as api, pytest.raises(StoreAPIError) as error:
        api.check_credentials()
    assert (error.value.status, error.value.retryable) == (401, False)
    assert not isinstance(error.value, RateLimited)
    assert "Invalid API key" in str(error.value)


def test_a_throttled_graphql_call_raises_rate_limited(client: ShopifyClient, shop: ShopifySandbox) -> None:
    shop.bucket.throttle_next(1)
    with pytest.raises(RateLimited) as error:
        client.list_products()
    assert error.value.retry_after >= 1 and error.value.retryable
    assert client.list_products().products  # the next call goes through


def test_a_throttled_rest_call_raises_rate_limited(client: ShopifyClient, shop: ShopifySandbox) -> None:
    shop.rest_bucket.throttle_next(1)
    with pytest.raises(RateLimited) as error:
        client.fetch_order("#1001")
    assert error.value.retry_after == 1


def test_graphqls_own_throttled_answer_waits_for_the_bucket_to_refill() -> None:
    body = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": {"requestedQueryCost": 502, "actualQueryCost": None, "throttleStatus": {
                "maximumAvailable": 2000.0, "currentlyAvailable": 2.0, "restoreRate": 100.0}}}}
    with pytest.raises(RateLimited) as error:
        canned(200, body).check_credentials()
    assert error.value.retry_after == 5.0


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (403, False), (404, False)])
def test_http_failures(status: int, retryable: bool) -> None:
    with pytest.raises(StoreAPIError) as error:
        canned(status, {"errors": "nope"}).check_credentials()
    assert (error.value.status, error.value.retryable) == (status, retryable)


def test_other_graphql_errors_are_not_retryable() -> None:
    with pytest.raises(StoreAPIError) as error:
        canned(200, {"errors": [{"message": "Field 'x' doesn't exist on type 'QueryRoot'"}]}).check_credentials()
    assert not error.value.retryable and "doesn't exist" in str(error.value)


def test_an_unreachable_shop_is_retryable(creds: dict) -> None:
    with ShopifyClient(creds | {"api_base": "http://127.0.0.1:9"}) as api, pytest.raises(StoreAPIError) as error:
        api.check_credentials()
    assert error.value.retryable


def test_list_categories_gives_the_collections(client: ShopifyClient, shop: ShopifySandbox) -> None:
    categories = list(client.list_categories())
    assert [c.name for c in categories] == ["Coffee", "Dates", "Gifts"]
    assert [c.external_id for c in categories] == [str(c["id"]) for c in shop.state()["collections"]]
    assert all(c.parent_external_id is None for c in categories)


def test_list_products_follows_the_cursor_across_pages(client: ShopifyClient, shop: ShopifySandbox) -> None:
    for n in range(56):
        shop.add_product(f"BULK-{n:02}", f"Bulk item {n}", "5.00", n)
    first = client.list_products()
    second = client.list_products(first.next_cursor)
    assert len(first.products) == 50 and first.next_cursor
    assert len(second.products) == 10 and second.next_cursor is None
    skus = [p.sku for p in first.products + second.products]
    assert skus[:4] == ["COF-250", "DATE-1KG", "MUG-01", None] and skus[4:] == [f"BULK-{n:02}" for n in range(56)]
    coffee = first.products[0]
    assert (coffee.cost, coffee.quantity, coffee.barcode) == (Decimal("18.00"), Decimal(120), "6281000000011")
    assert coffee.category_external_ids == [str(shop.state()["collections"][0]["id"])]
    assert coffee.stock_ref.startswith("gid://shopify/InventoryItem/")
    requests = [r.json["variables"] for r in shop.log.matching("POST", API_PREFIX) if "productVariants(first: $first" in r.json["query"]]
    assert requests == [{"first": 50, "after": None}, {"first": 50, "after": first.next_cursor}]


def test_fetch_order_by_name_whatever_its_status(client: ShopifyClient, shop: ShopifySandbox) -> None:
    first = shop.create_order([("COF-250", 1)], send=False)
    second = shop.create_order([("MUG-01", 2)], shipping="15.00", send=False)
    shop.cancel_order(second["id"], send=False)
    found = client.fetch_order("#1001")
    assert found is not None and (found.external_id, found.number) == (str(first["id"]), "#1001")
    cancelled = client.fetch_order("1002")
    assert cancelled is not None and cancelled.status == "cancelled" and cancelled.cancelled
    assert client.fetch_order("#9999") is None
    assert shop.log.entries[-1].query == {"name": "#9999", "status": "any"}


def test_fetch_product_by_sku(client: ShopifyClient, shop: ShopifySandbox) -> None:
    mug = client.fetch_product("MUG-01")
    assert mug is not None
    assert (mug.sku, mug.name, mug.price, mug.cost, mug.quantity) == \
        ("MUG-01", "Ceramic mug", Decimal("25.00"), Decimal("9.75"), Decimal(60))
    assert mug.external_id == str(shop.state()["products"][2]["variants"][0]["id"])
    assert client.fetch_product("NOPE") is None


def test_push_stock_sets_the_first_location(client: ShopifyClient, shop: ShopifySandbox) -> None:
    riyadh, jeddah = shop.location_ids
    client.push_stock([StockQuantity("COF-250", Decimal("7")), StockQuantity("MUG-01", Decimal("0"))])
    assert (shop.available("COF-250", riyadh), shop.available("MUG-01", riyadh)) == (7, 0)
    assert shop.available("COF-250", jeddah) == 0
    (call,) = set_calls(shop)
    sent = call.json["variables"]["input"]
    assert (sent["name"], sent["reason"], sent["ignoreCompareQuantity"]) == ("available", "correction", True)
    assert {q["locationId"] for q in sent["quantities"]} == {gid("Location", riyadh)}


def test_push_stock_uses_the_configured_location_and_the_stock_ref(creds: dict, shop: ShopifySandbox) -> None:
    jeddah = shop.location_ids[1]
    item = next(p for p in shop.state()["products"] if p["variants"][0]["sku"] == "DATE-1KG")
    stock_ref = gid("InventoryItem", item["variants"][0]["inventory_item_id"])
    with ShopifyClient(creds | {"location_id": str(jeddah)}) as api:
        api.push_stock([StockQuantity("DATE-1KG", Decimal("12"), stock_ref=stock_ref),
                        StockQuantity("UNKNOWN-SKU", Decimal("3"))])
    assert shop.available("DATE-1KG", jeddah) == 12 and shop.available("DATE-1KG", shop.location_ids[0]) == 80
    lookups = [r for r in shop.log.matching("POST", API_PREFIX) if "locations" in r.json["query"]
               or "DATE-1KG" in json.dumps(r.json["variables"])]
    assert lookups == []  # neither the location nor the item had to be looked up


def test_push_stock_sends_at_most_250_quantities_per_call(client: ShopifyClient, shop: ShopifySandbox) -> None:
    for n in range(260):
        shop.add_product(f"S-{n:03}", f"Item {n}", "1.00", 1)
    client.push_stock([StockQuantity(f"S-{n:03}", Decimal(n)) for n in range(260)])
    assert [len(c.json["variables"]["input"]["quantities"]) for c in set_calls(shop)] == [250, 10]
    assert (shop.available("S-000"), shop.available("S-249"), shop.available("S-259")) == (0, 249, 259)


def test_a_refused_stock_push_raises(creds: dict, shop: ShopifySandbox) -> None:
    with ShopifyClient(creds | {"location_id": "123"}) as api, pytest.raises(StoreAPIError) as error:
        api.push_stock([StockQuantity("COF-250", Decimal("1"))])
    assert not error.value.retryable and "location" in str(error.value)


def test_register_webhooks_subscribes_each_topic_once(client: ShopifyClient, shop: ShopifySandbox,
                                                      receiver: Receiver) -> None:
    subscriptions = [WebhookSubscription(topic, receiver.url) for topic in SUBSCRIBED_TOPICS]
    assert client.register_webhooks(subscriptions) == list(SUBSCRIBED_TOPICS)
    assert client.register_webhooks(subscriptions) == list(SUBSCRIBED_TOPICS)  # again: nothing twice
    subscribed = sorted((s["topic"], s["uri"]) for s in shop.subscriptions())
    assert subscribed == sorted((topic, receiver.url) for topic in SUBSCRIBED_TOPICS)
    assert len(SUBSCRIBED_TOPICS) == 9  # orders, refunds, products, inventory items (costs)
    order = shop.create_order([("COF-250", 1)])
    shop.pay_order(order["id"])
    assert [h["X-Shopify-Topic"] for h, _ in receiver.received] == ["orders/create", "orders/paid"]


def test_push_product_creates_a_product_the_shop_lists(client: ShopifyClient, shop: ShopifySandbox) -> None:
    coffee_collection = str(shop.state()["collections"][0]["id"])
    variant_id = client.push_product(ProductData("erp:9", "CARD-100", "Cardamom 100 g", Decimal("12.50"),
                                                 Decimal("6.00"), "6281000000059",
                                                 category_external_ids=[coffee_collection]))
    shop.flush()
    listed = client.fetch_product("CARD-100")
    assert listed is not None and listed.external_id == variant_id
    assert (listed.name, listed.price, listed.cost, listed.barcode) == \
        ("Cardamom 100 g", Decimal("12.50"), Decimal("6.00"), "6281000000059")
    assert listed.category_external_ids == [coffee_collection]
    page = client.list_products()
    assert [p.sku for p in page.products][-1] == "CARD-100"


def test_push_product_updates_the_variant_with_its_sku(client: ShopifyClient, shop: ShopifySandbox) -> None:
    before = len(shop.state()["products"])
    mug = client.fetch_product("MUG-01")
    variant_id = client.push_product(ProductData("", "MUG-01", "Ceramic mug, large", Decimal("27.00")))
    shop.flush()
    after = client.fetch_product("MUG-01")
    assert variant_id == mug.external_id == after.external_id and len(shop.state()["products"]) == before
    assert (after.name, after.price, after.cost) == ("Ceramic mug, large", Decimal("27.00"), Decimal("9.75"))


def test_push_product_without_sku_is_refused(client: ShopifyClient) -> None:
    with pytest.raises(StoreAPIError) as error:
        client.push_product(ProductData("1", None, "No code"))
    assert not error.value.retryable


def test_an_item_the_shop_refuses_does_not_block_the_others(client: ShopifyClient, shop: ShopifySandbox) -> None:
    client.push_stock([StockQuantity("COF-250", Decimal("5"), stock_ref="gid://shopify/InventoryItem/1"),
                       StockQuantity("MUG-01", Decimal("4"))])
    assert shop.available("MUG-01") == 4 and shop.available("COF-250") == 120
    assert len(set_calls(shop)) == 2
