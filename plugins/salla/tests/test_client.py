"""The Salla client against the sandbox store over real HTTP (and a mock transport for 5xx)."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import httpx
import pytest

from core.platform.base import RateLimited, StoreAPIError
from core.platform.data import ProductData, StockQuantity
from plugins.salla.client import SallaClient
from plugins.salla.sandbox import SallaSandbox
from plugins.salla.webhooks import parse_delivery


def test_check_credentials_returns_the_store_name_with_a_bearer_token(client: SallaClient,
                                                                       store: SallaSandbox) -> None:
    assert client.check_credentials() == store.store_name
    assert store.log.matching("GET", "/admin/v2/store/info")[-1].headers["Authorization"] == \
        "Bearer test-access-token"
    assert client.register_webhooks("https://erp.example/webhooks/k") == []


def test_wrong_token_is_a_final_error_and_a_missing_token_calls_nothing(
        credentials: dict[str, Any], store: SallaSandbox) -> None:
    with SallaClient({**credentials, "access_token": "old"}) as api, pytest.raises(StoreAPIError) as raised:
        api.check_credentials()
    assert (raised.value.status, raised.value.retryable) == (401, False)
    store.log.clear()
    with SallaClient({**credentials, "access_token": None}) as api, pytest.raises(StoreAPIError) as raised:
        api.check_credentials()
    assert not raised.value.retryable and store.log.matching("GET", "/admin/v2") == []


def test_429_raises_rate_limited_with_retry_after_then_recovers(client: SallaClient,
                                                                store: SallaSandbox) -> None:
    store.bucket.throttle_next(1)
    with pytest.raises(RateLimited) as raised:
        client.check_credentials()
    assert raised.value.retry_after == 1.0 and raised.value.retryable and raised.value.status == 429
    assert client.check_credentials() == store.store_name


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (422, False), (403, False)])
def test_http_errors_say_whether_a_retry_may_help(status: int, retryable: bool) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(
        status, json={"status": status, "success": False, "error": {"code": "e", "message": "boom"}}))
    with SallaClient({"access_token": "t"}, transport=transport) as api, pytest.raises(StoreAPIError) as raised:
        api.check_credentials()
    assert (raised.value.status, raised.value.retryable) == (status, retryable)
    assert "boom" in str(raised.value)


def test_network_failure_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with SallaClient({"access_token": "t"}, transport=httpx.MockTransport(refuse)) as api, \
            pytest.raises(StoreAPIError) as raised:
        api.check_credentials()
    assert raised.value.retryable and raised.value.status is None


def test_categories_are_read_over_every_page(credentials: dict[str, Any], store: SallaSandbox) -> None:
    parent = store.add_category("Gifts")["id"]
    child = store.add_category("Boxes", parent_id=parent)["id"]
    store.per_page_max = 2  # 5 categories → 3 pages
    with SallaClient(credentials) as api:
        categories = list(api.list_categories())
    assert len(categories) == 5
    assert len(store.log.matching("GET", "/admin/v2/categories")) == 3
    by_id = {c.external_id: c for c in categories}
    assert by_id[str(child)].parent_external_id == str(parent)
    assert by_id[str(parent)].parent_external_id is None


def test_nested_sub_categories_are_flattened_once() -> None:
    page = {"data": [{"id": 1, "name": "A", "parent_id": 0,
                      "items": [{"id": 2, "name": "B", "items": [{"id": 3, "name": "C"}]}]},
                     {"id": 2, "name": "B", "parent_id": 1}],
            "pagination": {"currentPage": 1, "totalPages": 1}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=page))
    with SallaClient({"access_token": "t"}, transport=transport) as api:
        found = [(c.external_id, c.parent_external_id) for c in api.list_categories()]
    assert found == [("1", None), ("2", "1"), ("3", "2")]


def test_products_page_by_page_with_cursor_and_total(client: SallaClient, store: SallaSandbox) -> None:
    for n in range(60):
        store.add_product(f"BULK-{n:02}", f"Bulk {n}", "1", n)
    first = client.list_products()
    assert (len(first.products), first.next_cursor, first.total) == (60, "2", 64)
    last = client.list_products(first.next_cursor)
    assert (len(last.products), last.next_cursor) == (4, None)
    assert store.log.matching("GET", "/admin/v2/products")[-1].query == {"page": "2", "per_page": "60"}
    unsynced = [p for p in first.products + last.products if p.sku is None]
    assert [p.name for p in unsynced] == ["Gift wrapping (no SKU)"]
    with pytest.raises(StoreAPIError):
        client.list_products("zero")


def test_fetch_order_by_number_matches_the_webhook(client: SallaClient, store: SallaSandbox) -> None:
    store.create_order([("DATE-1KG", 1)], send=False)
    salla = store.create_order([("COF-250", 2), ("MUG-01", 1)], shipping="20", discount="5", send=False)
    store.set_order_status(salla["id"], "completed", send=False)
    fetched = client.fetch_order(str(salla["reference_id"]))
    body, _ = store.build_delivery("order.created", store.order(salla["id"]))
    delivered = parse_delivery(body).order
    # The webhook's version is its envelope's time (O11); the API's order model carries none.
    assert delivered.modified_at is not None and fetched.modified_at is None
    assert fetched == dataclasses.replace(delivered, modified_at=None)
    assert fetched.status == "completed" and fetched.number == str(salla["reference_id"])
    assert client.fetch_order("99999") is None
    assert client.fetch_order("#10001; DROP") is None


def test_fetch_product_by_sku(client: SallaClient) -> None:
    product = client.fetch_product("COF-250")
    assert (product.sku, product.name, product.price, product.cost, product.barcode) == (
        "COF-250", "Arabic coffee 250 g", Decimal("35.00"), Decimal("18.00"), "6281000000011")
    assert client.fetch_product("NOPE/1") is None


def test_push_stock_overwrites_quantities_in_one_bulk_call(client: SallaClient, store: SallaSandbox) -> None:
    client.push_stock([StockQuantity("COF-250", Decimal("7.000")), StockQuantity("MUG-01", Decimal("2.5")),
                       StockQuantity("DATE-1KG", Decimal("-3"))])
    assert (store.quantity("COF-250"), store.quantity("MUG-01"), store.quantity("DATE-1KG")) == (7, 2, 0)
    calls = store.log.matching("POST", "/admin/v2/products/quantities/bulk")
    assert len(calls) == 1
    assert calls[0].json["products"][0] == {"identifer_type": "sku", "identifer": "COF-250",
                                            "quantity": 7, "mode": "overwrite"}
    client.push_stock([])
    assert len(store.log.matching("POST", "/admin/v2/products/quantities/bulk")) == 1


def test_push_stock_goes_to_the_configured_branch(credentials: dict[str, Any], store: SallaSandbox) -> None:
    other = next(b for b in store.branches if b != store.default_branch_id)
    with SallaClient({**credentials, "branch_id": other}) as api:
        api.push_stock([StockQuantity("MUG-01", Decimal("9"))])
    assert store.quantity("MUG-01", other) == 9
    assert store.quantity("MUG-01", store.default_branch_id) == 60


def test_push_product_creates_then_updates_by_sku(client: SallaClient, store: SallaSandbox) -> None:
    category = next(iter(store.categories))
    new = ProductData(external_id="erp-1", sku="TEA-1", name="Green tea", price=Decimal("12.50"),
                      cost=Decimal("6"), barcode="6281000000099", quantity=Decimal("4"),
                      category_external_ids=[str(category)])
    external_id = client.push_product(new)
    created = store.products[int(external_id)]
    assert (created.sku, created.price, created.cost_price, created.gtin, created.category_ids) == (
        "TEA-1", Decimal("12.50"), Decimal("6.00"), "6281000000099", [category])
    assert store.quantity("TEA-1") == 4 and created.type == "product"
    changed = ProductData(external_id="erp-1", sku="TEA-1", name="Green tea 2", price=Decimal("14"),
                          barcode="TEA-MPN", quantity=Decimal("100"))
    assert client.push_product(changed) == external_id
    assert (created.name, created.price, created.mpn) == ("Green tea 2", Decimal("14.00"), "TEA-MPN")
    assert store.quantity("TEA-1") == 4  # stock goes by push_stock only
    with pytest.raises(StoreAPIError):
        client.push_product(ProductData(external_id="x", sku=None, name="No SKU"))



def test_push_stock_names_a_linked_product_by_its_id_whatever_its_sku(client: SallaClient,
                                                                      store: SallaSandbox) -> None:
    mug = next(p for p in store.products.values() if p.sku == "MUG-01")
    store.update_product(mug.id, sku="MUG-02", send=False)
    client.push_stock([StockQuantity("MUG-01", Decimal("4"), stock_ref=str(mug.id))])
    assert store.quantity("MUG-02") == 4 and store.unmatched_quantity_updates == []
    call = store.log.matching("POST", "/admin/v2/products/quantities/bulk")[-1]
    assert call.json["products"][0]["identifer_type"] == "id"
