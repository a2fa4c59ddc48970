"""The WooCommerce client against the sandbox store over HTTP: credentials, catalog pages, orders, refunds,
reconciliation, notes, stock batches (413 halved), products, webhooks, and 429/503 with Retry-After."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.platform.base import RateLimited, StoreAPIError
from core.platform.data import ProductData, StockQuantity
from core.platform.webhooks import WebhookSubscription
from plugins.woocommerce.client import WooCommerceClient
from plugins.woocommerce.sandbox import WooCommerceSandbox, seed_demo


@pytest.fixture
def shop() -> WooCommerceSandbox:
    """The kit's catalog plus a variable product (POT-S, POT-L)."""
    sandbox = WooCommerceSandbox()
    seed_demo(sandbox, rich=True)
    return sandbox


@pytest.fixture
def shop_url(shop: WooCommerceSandbox) -> Iterator[str]:
    with shop.serve() as server:
        yield server.url


@pytest.fixture
def waits() -> list[float]:
    """The seconds the client slept (backing off) instead of sleeping them."""
    return []


@pytest.fixture
def client(shop: WooCommerceSandbox, shop_url: str, waits: list[float]) -> Iterator[WooCommerceClient]:
    creds = {"store_url": shop_url, "consumer_key": shop.consumer_key, "consumer_secret": shop.consumer_secret}
    with WooCommerceClient(creds, sleep=waits.append) as api:
        yield api


def calls(shop: WooCommerceSandbox, method: str, path: str) -> list[Any]:
    return [r for r in shop.log.entries if r.method == method and r.path.endswith(path)]


# -- credentials ------------------------------------------------------------------------------------

def test_credentials_are_checked_and_the_store_ref_is_the_site(client: WooCommerceClient, shop_url: str) -> None:
    assert client.check_credentials()
    assert client.store_ref() == shop_url.split("://", 1)[1].rstrip("/")


def test_a_wrong_key_is_not_retried(shop: WooCommerceSandbox, shop_url: str) -> None:
    creds = {"store_url": shop_url, "consumer_key": shop.consumer_key, "consumer_secret": "cs_wrong"}
    with WooCommerceClient(creds) as api, pytest.raises(StoreAPIError) as error:
        api.check_credentials()
    assert (error.value.status, error.value.retryable) == (401, False)
    assert "cannot list resources" in str(error.value)


# -- catalog ----------------------------------------------------------------------------------------

def test_categories_name_their_parents(client: WooCommerceClient) -> None:
    categories = {c.name: c for c in client.list_categories()}
    assert {"Coffee", "Dates", "Kitchenware", "Coffee pots"} <= set(categories)
    assert categories["Coffee pots"].parent_external_id == categories["Kitchenware"].external_id
    assert categories["Coffee"].parent_external_id is None


def test_the_catalog_pages_give_variations_for_a_variable_product_and_the_total(client: WooCommerceClient) -> None:
    """P3: every page is read; a variable product is its variations (stock pushed through the parent)."""
    found: list[ProductData] = []
    cursor, totals = None, set()
    while True:
        page = client.list_products(cursor, page_size=2)
        found += page.products
        totals.add(page.total)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    by_sku = {p.sku: p for p in found}
    assert {"COF-250", "DATE-1KG", "MUG-01", "POT-S", "POT-L"} <= set(by_sku)
    assert None in by_sku  # the product without SKU is listed (the ERP reports it)
    # X-WP-Total counts four simple products and the variable one; its two variations take its place, so the
    # last page's total is the number of products read
    assert totals <= {5, 6} and page.total == len(found) == 6
    pot = by_sku["POT-S"]
    assert pot.stock_ref is not None and pot.stock_ref.endswith(f"/{pot.external_id}")
    assert (pot.quantity, pot.price, pot.cost, pot.name) == (15, Decimal("60.00"), Decimal("30.0"), "Small")
    assert by_sku["COF-250"].cost == Decimal("18.0") and by_sku["COF-250"].category_external_ids


def test_a_product_is_fetched_by_sku_even_a_variation(client: WooCommerceClient) -> None:
    """O7: the quantity the store has."""
    mug = client.fetch_product("MUG-01")
    assert mug is not None and (mug.quantity, mug.stock_ref) == (60, mug.external_id)
    pot = client.fetch_product("POT-L")
    assert pot is not None and "/" in (pot.stock_ref or "")
    assert client.fetch_product("NOPE-1") is None


# -- orders, refunds, reconciliation ----------------------------------------------------------------

def test_an_order_is_found_by_its_number_and_by_its_id(shop: WooCommerceSandbox, client: WooCommerceClient) -> None:
    order = shop.create_order([("MUG-01", 2), ("COF-250", 1)], shipping="15.00", fee=True, send=False)
    found = client.fetch_order(str(order["number"]))
    assert found is not None and found.external_id == str(order["id"])
    assert found.total == Decimal(order["total"])
    assert client.fetch_order_by_id(str(order["id"])) == found
    assert client.fetch_order("999999") is None and client.fetch_order_by_id("999999") is None


def test_a_line_refund_is_fetched_with_its_lines(shop: WooCommerceSandbox, client: WooCommerceClient) -> None:
    """R1–R2: the webhook names the refund; its lines come from ``GET /orders/{id}/refunds``."""
    order = shop.create_order([("MUG-01", 2), ("COF-250", 1)], send=False)
    shop.set_status(order["id"], "completed", send=False)
    first = shop.refund(order["id"], [(0, 1)], restock=True, send=False)
    second = shop.refund(order["id"], None, send=False)
    refunds = client.list_refunds(str(order["id"]))
    assert [r.external_id for r in refunds] == [str(first["id"]), str(second["id"])]
    mug_line, coffee_line = (str(line["id"]) for line in order["line_items"])
    assert [(line.line_external_id, line.quantity, line.restock) for line in refunds[0].lines] == [
        (mug_line, Decimal("1"), True)]
    assert sorted((line.line_external_id, line.quantity) for line in refunds[1].lines) == sorted(
        [(mug_line, Decimal("1")), (coffee_line, Decimal("1"))])
    assert client.list_refunds("999999") == []


def test_refunded_lines_follow_the_restock_setting(shop: WooCommerceSandbox, shop_url: str) -> None:
    order = shop.create_order([("MUG-01", 1)], send=False)
    shop.refund(order["id"], [(0, 1)], send=False)
    creds = {"store_url": shop_url, "consumer_key": shop.consumer_key, "consumer_secret": shop.consumer_secret,
             "restock_refunds": False}
    with WooCommerceClient(creds) as api:
        (refund,) = api.list_refunds(str(order["id"]))
    assert [line.restock for line in refund.lines] == [False]


def test_reconciliation_lists_changes_oldest_first_page_by_page(shop: WooCommerceSandbox,
                                                                client: WooCommerceClient) -> None:
    """O12: ``modified_after`` with ``orderby=modified&order=asc``; each full page says how far it covers."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    placed = [shop.create_order([("MUG-01", 1)], send=False) for _ in range(3)]
    shop.set_status(placed[0]["id"], "completed", send=False)  # now the latest change
    pages, cursor = [], None
    while True:
        page = _orders_page(client, start, cursor, per_page=2)
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ids = [o.external_id for page in pages for o in page.orders]
    assert ids == [str(placed[1]["id"]), str(placed[2]["id"]), str(placed[0]["id"])]
    assert pages[0].modified_through is not None
    assert pages[0].modified_through < pages[0].orders[-1].modified_at
    assert pages[-1].modified_through is None
    (query,) = {tuple(sorted((k, v) for k, v in r.query.items() if k not in ("page", "per_page")))
                for r in calls(shop, "GET", "/orders")}
    assert dict(query)["orderby"] == "modified" and dict(query)["order"] == "asc"
    assert dict(query)["dates_are_gmt"] == "true" and "+" not in dict(query)["modified_after"]


def _orders_page(client: WooCommerceClient, start: datetime, cursor: str | None, per_page: int) -> Any:
    from plugins.woocommerce import client as module

    previous, module.ORDERS_PAGE = module.ORDERS_PAGE, per_page
    try:
        return client.list_orders(start, cursor)
    finally:
        module.ORDERS_PAGE = previous


def test_the_invoice_number_is_noted_once(shop: WooCommerceSandbox, client: WooCommerceClient) -> None:
    order = shop.create_order([("MUG-01", 1)], send=False)
    client.annotate_order(str(order["id"]), "INV-00042")
    client.annotate_order(str(order["id"]), "INV-00042")
    assert shop.notes(order["id"]) == ["Mizan invoice INV-00042"]


# -- stock and products -----------------------------------------------------------------------------

def test_stock_is_pushed_to_products_and_variations_in_their_batches(shop: WooCommerceSandbox,
                                                                     client: WooCommerceClient) -> None:
    """I1–I2: absolute quantities; a variation through its parent's batch; a product named only by SKU found."""
    mug, pot = client.fetch_product("MUG-01"), client.fetch_product("POT-S")
    client.push_stock([StockQuantity("MUG-01", Decimal("7"), stock_ref=mug.stock_ref),
                       StockQuantity("POT-S", Decimal("3.9"), stock_ref=pot.stock_ref),
                       StockQuantity("DATE-1KG", Decimal("-2")), StockQuantity("NOPE-1", Decimal("5"))])
    assert (shop.quantity("MUG-01"), shop.quantity("POT-S"), shop.quantity("DATE-1KG")) == (7, 3, 0)
    parent = pot.stock_ref.split("/")[0]
    assert len(calls(shop, "POST", "/products/batch")) == 1
    assert len(calls(shop, "POST", f"/products/{parent}/variations/batch")) == 1


def test_more_than_a_hundred_quantities_go_in_batches_of_a_hundred(shop: WooCommerceSandbox,
                                                                    client: WooCommerceClient) -> None:
    skus = [f"BULK-{n:03}" for n in range(150)]
    refs = [str(shop.add_product(sku, sku, "5.00", 1)["id"]) for sku in skus]
    client.push_stock([StockQuantity(sku, Decimal("9"), stock_ref=ref) for sku, ref in zip(skus, refs, strict=True)])
    assert [len(r.json["update"]) for r in calls(shop, "POST", "/products/batch")] == [100, 50]
    assert {shop.quantity(sku) for sku in skus} == {9}


def test_a_batch_refused_as_too_large_is_halved(shop: WooCommerceSandbox, client: WooCommerceClient) -> None:
    """A site may lower WooCommerce's batch limit (``woocommerce_rest_batch_items_limit``): 413, then halves."""
    shop.batch_limit = 30
    skus = [f"BULK-{n:03}" for n in range(100)]
    refs = [str(shop.add_product(sku, sku, "5.00", 1)["id"]) for sku in skus]
    client.push_stock([StockQuantity(sku, Decimal("4"), stock_ref=ref) for sku, ref in zip(skus, refs, strict=True)])
    sizes = [(len(r.json["update"]), r.status) for r in calls(shop, "POST", "/products/batch")]
    assert sizes[0] == (100, 413) and (50, 413) in sizes and (25, 200) in sizes
    assert sum(n for n, status in sizes if status == 200) == 100
    assert {shop.quantity(sku) for sku in skus} == {4}


def test_a_product_is_created_then_updated_by_its_sku(shop: WooCommerceSandbox, client: WooCommerceClient) -> None:
    """P2: the ERP's product goes to the store: created once, then updated (price, cost)."""
    product = ProductData("erp-1", "TEA-01", "Green tea", price=Decimal("12.50"), cost=Decimal("6.00"),
                          quantity=Decimal("20"))
    created = client.push_product(product)
    sent = client.fetch_product("TEA-01")
    assert sent is not None and (sent.external_id, sent.price, sent.quantity) == (created, Decimal("12.50"), 20)
    assert sent.cost == Decimal("6.0")
    again = client.push_product(ProductData("erp-1", "TEA-01", "Green tea", price=Decimal("14.00")))
    assert again == created and client.fetch_product("TEA-01").price == Decimal("14.00")
    assert len(calls(shop, "POST", "/products")) == 1


def test_a_store_with_net_prices_gets_net_prices(shop: WooCommerceSandbox, shop_url: str) -> None:
    """P2: the ERP's VAT-inclusive price, less 15 %, for a store whose prices are entered without tax."""
    creds = {"store_url": shop_url, "consumer_key": shop.consumer_key, "consumer_secret": shop.consumer_secret,
             "product_prices_include_tax": False}
    with WooCommerceClient(creds) as api:
        api.push_product(ProductData("erp-2", "TEA-02", "Black tea", price=Decimal("23.00")))
    assert shop.product_json(int(shop._by_sku("TEA-02")["id"]))["regular_price"] == "20.00"


def test_a_product_without_sku_is_not_pushed(client: WooCommerceClient) -> None:
    with pytest.raises(StoreAPIError) as error:
        client.push_product(ProductData("erp-3", None, "Loose"))
    assert error.value.retryable is False


# -- webhooks ---------------------------------------------------------------------------------------

def test_webhooks_are_created_once_with_the_secret(shop: WooCommerceSandbox, client: WooCommerceClient) -> None:
    url = "http://127.0.0.1:9/webhooks/abc"
    subscriptions = [WebhookSubscription(topic, url, secret="k3y") for topic in ("order.created", "order.updated")]
    assert client.register_webhooks(subscriptions) == ["order.created", "order.updated"]
    assert client.register_webhooks(subscriptions) == ["order.created", "order.updated"]
    assert sorted((w["topic"], w["delivery_url"], w["secret"], w["status"]) for w in shop.webhooks) == [
        ("order.created", url, "k3y", "active"), ("order.updated", url, "k3y", "active")]
    assert [d.body for d in shop.deliveries] == [b"webhook_id=1", b"webhook_id=2"]  # the pings, once each


# -- backing off ------------------------------------------------------------------------------------

def test_a_429_is_waited_out_as_retry_after_says(shop: WooCommerceSandbox, client: WooCommerceClient,
                                                 waits: list[float]) -> None:
    shop.throttle_next(2)
    assert client.fetch_product("MUG-01") is not None
    assert waits == [1.0, 1.0]


def test_a_429_that_lasts_is_raised_as_rate_limited(shop: WooCommerceSandbox, client: WooCommerceClient) -> None:
    shop.throttle_next(3)
    with pytest.raises(RateLimited) as error:
        client.fetch_product("MUG-01")
    assert error.value.retry_after == 1.0


def test_a_503_is_tried_again_then_left_to_the_jobs(shop: WooCommerceSandbox, client: WooCommerceClient,
                                                    waits: list[float]) -> None:
    shop.throttle_next(1, status=503)
    assert client.fetch_product("MUG-01") is not None and waits == [1.0]
    shop.throttle_next(3, status=503)
    with pytest.raises(StoreAPIError) as error:
        client.fetch_product("MUG-01")
    assert (error.value.status, error.value.retryable) == (503, True)
