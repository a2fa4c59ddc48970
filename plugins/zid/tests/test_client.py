"""The Zid client against the sandbox store over HTTP: tokens, webhooks, catalog, orders, refunds, stock,
products, rate limits."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.platform.base import RateLimited, StoreAPIError
from core.platform.data import LocationData, ProductData, StockQuantity
from core.platform.webhooks import WebhookSubscription
from plugins.zid import client as zid_client
from plugins.zid.client import API_VERSION, Pacer, ZidClient
from plugins.zid.sandbox import ZidSandbox, seed_demo


@pytest.fixture
def api(creds: dict[str, Any]) -> Iterator[ZidClient]:
    with ZidClient(creds) as client:
        client._pacer = Pacer()  # its own: no test's waits reach another's
        yield client


def calls(store: ZidSandbox, method: str, path: str) -> list[Any]:
    return [r for r in store.log.entries if r.method == method and r.path.rstrip("/") == f"/{API_VERSION}{path}"]


# -- credentials -------------------------------------------------------------------------------

def test_check_credentials_names_the_store_and_sends_both_tokens(store: ZidSandbox, api: ZidClient) -> None:
    assert api.check_credentials() == "متجر زد التجريبي"
    assert api.store_ref() == str(store.store_id)
    (call,) = calls(store, "GET", "/managers/account/profile")
    headers = {k.lower(): v for k, v in call.headers.items()}
    assert headers["authorization"] == f"Bearer {store.authorization}"
    assert headers["x-manager-token"] == headers["access-token"] == store.access_token
    assert (headers["store-id"], headers["role"], headers["accept-language"]) == (str(store.store_id), "Manager", "en")


def test_a_wrong_manager_token_is_not_retryable(creds: dict[str, Any]) -> None:
    with ZidClient({**creds, "access_token": "wrong"}) as client, pytest.raises(StoreAPIError) as raised:
        client.check_credentials()
    assert raised.value.status == 401 and not raised.value.retryable


def test_an_unreachable_store_is_retryable(creds: dict[str, Any]) -> None:
    with ZidClient({**creds, "api_base": "http://127.0.0.1:9"}, timeout=2) as client, \
            pytest.raises(StoreAPIError) as raised:
        client.check_credentials()
    assert raised.value.retryable


# -- locations and webhooks ----------------------------------------------------------------------

def test_locations_list_the_default_first_and_the_linked_one_is_the_default(store: ZidSandbox, api: ZidClient) -> None:
    """C2: the store page lists the store's locations (``LocationData``), the one Zid marks default first."""
    assert api.list_locations() == [LocationData(store.locations[0]["id"], "Main warehouse", is_default=True),
                                    LocationData(store.locations[1]["id"], "Jeddah branch", is_default=False)]
    assert api.location() == store.default_location


def test_webhooks_are_subscribed_once_with_their_basic_credentials(store: ZidSandbox, api: ZidClient) -> None:
    wanted = [WebhookSubscription(topic, f"https://erp.example/webhooks/k/{topic}", None, "user", "pass")
              for topic in ("order.create", "order.status.update")]
    assert api.register_webhooks(wanted) == ["order.create", "order.status.update"]
    assert api.register_webhooks(wanted) == ["order.create", "order.status.update"]
    assert [(s["event"], s["target_url"], s["username"], s["password"], s["original_id"]) for s in store.subscriptions] == [
        (w.topic, w.url, "user", "pass", "mizan") for w in wanted]


# -- catalog -----------------------------------------------------------------------------------

def test_categories_come_flattened_with_their_arabic_and_english_names(api: ZidClient) -> None:
    """C2: each category with its English name and its Arabic one apart (``name_ar``), sub-categories after."""
    categories = list(api.list_categories())
    names = {c.name: c for c in categories}
    assert {(c.name, c.name_ar) for c in categories} == {
        ("Coffee", "قهوة"), ("Arabic coffee", "قهوة عربية"), ("Dates", "تمور"), ("Kitchenware", "أدوات المطبخ")}
    assert names["Arabic coffee"].parent_external_id == names["Coffee"].external_id


def test_products_page_until_the_end_with_the_total(creds: dict[str, Any]) -> None:
    store = ZidSandbox()
    seed_demo(store, rich=True)
    with store.serve() as server, ZidClient({**creds, "api_base": server.url}) as client:
        first = client.list_products(page_size=2)
        assert first.total == 6 and first.next_cursor == "2"
        products: list[ProductData] = list(first.products)
        cursor = first.next_cursor
        while cursor:
            page = client.list_products(cursor, page_size=2)
            products += page.products
            cursor = page.next_cursor
    skus = [p.sku for p in products]
    assert sorted(s for s in skus if s) == ["COF-250", "DATE-1KG", "MUG-01", "POT-L", "POT-S"]
    assert skus.count(None) == 2  # the product without SKU and the Z. one
    mug = next(p for p in products if p.sku == "MUG-01")
    assert (mug.price, mug.cost, mug.quantity, mug.barcode) == (Decimal("25"), Decimal("9.75"), 60, "6281000000035")


def test_fetch_product_finds_a_variant_by_sku(creds: dict[str, Any]) -> None:
    store = ZidSandbox()
    seed_demo(store, rich=True)
    with store.serve() as server, ZidClient({**creds, "api_base": server.url}) as client:
        pot = client.fetch_product("POT-L")
        assert pot is not None and (pot.sku, pot.quantity, pot.price) == ("POT-L", 10, Decimal("80"))
        assert client.fetch_product("NOPE") is None


# -- orders ------------------------------------------------------------------------------------

def test_fetch_order_by_number_code_or_id(store: ZidSandbox, api: ZidClient) -> None:
    placed = store.create_order([("MUG-01", 2)], shipping="15.00", send=False)
    for number in (str(placed["id"]), f"#{placed['id']}", placed["code"], placed["invoice_number"]):
        found = api.fetch_order(number)
        assert found is not None and found.external_id == str(placed["id"]), number
    assert api.fetch_order("987654321") is None
    assert api.fetch_order_by_id(str(placed["id"])).total == Decimal(placed["order_total"])
    assert api.fetch_order_by_id("987654321") is None
    assert api.fetch_order_by_id("not-an-id") is None


def test_list_orders_pages_changes_oldest_first(store: ZidSandbox, api: ZidClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """O12: reconciliation lists the orders changed since its cursor and may move the cursor page by page."""
    placed = [store.create_order([("MUG-01", 1)], send=False) for _ in range(3)]
    store.set_status(placed[0]["id"], "delivered", send=False)  # changed last
    monkeypatch.setattr(zid_client, "ORDERS_PAGE", 2)
    since = datetime.now(UTC) - timedelta(hours=1)
    first = api.list_orders(since)
    assert first.next_cursor == "2" and first.modified_through == first.orders[-1].modified_at
    second = api.list_orders(since, first.next_cursor)
    assert second.next_cursor is None and second.modified_through is None
    assert [o.external_id for o in first.orders + second.orders] == [str(placed[i]["id"]) for i in (1, 2, 0)]
    (call, _) = calls(store, "GET", "/managers/store/orders")
    assert call.query["sort_by"] == "asc" and call.query["updated_at_from"].endswith("+03:00")
    assert api.list_orders(datetime.now(UTC) + timedelta(hours=1)).orders == []


def test_annotate_order_adds_the_invoice_number_once(store: ZidSandbox, api: ZidClient) -> None:
    placed = store.create_order([("MUG-01", 1)], send=False)
    api.annotate_order(str(placed["id"]), "INV-2026-00042")
    api.annotate_order(str(placed["id"]), "INV-2026-00042")
    assert store.comments(placed["id"]) == ["Mizan invoice INV-2026-00042"]
    api.annotate_order(str(placed["id"]), "X" * 150)
    assert len(store.comments(placed["id"])[-1]) == 100
    with pytest.raises(StoreAPIError):
        api.annotate_order("987654321", "INV-1")


# -- refunds -----------------------------------------------------------------------------------

def test_a_partial_reverse_order_is_a_refund_of_its_line(store: ZidSandbox, api: ZidClient) -> None:
    """R1–R2: the reverse order's line names the order line (order_product_id)."""
    placed = store.create_order([("COF-250", 2), ("MUG-01", 1)], send=False)
    store.set_status(placed["id"], "delivered", send=False)
    reverse = store.reverse(placed["id"], 0, 1, send=False)
    (refund,) = api.list_refunds(str(placed["id"]))
    assert refund.external_id == f"reverse:{reverse['id']}" and not refund.whole_order
    order = api.fetch_order_by_id(str(placed["id"]))
    assert [(line.line_external_id, line.quantity) for line in refund.lines] == [(order.lines[0].external_id, 1)]


def test_a_refunded_order_is_a_whole_order_refund(store: ZidSandbox, api: ZidClient) -> None:
    placed = store.create_order([("MUG-01", 2)], send=False)
    store.set_status(placed["id"], "delivered", send=False)
    assert api.list_refunds(str(placed["id"])) == []
    store.refund(placed["id"], send=False)
    (refund,) = api.list_refunds(str(placed["id"]))
    assert (refund.external_id, refund.whole_order) == (f"refunded:{placed['id']}", True)


def test_a_return_under_way_without_reverse_orders_is_no_refund_yet(store: ZidSandbox, api: ZidClient) -> None:
    placed = store.create_order([("MUG-01", 2)], send=False)
    store.set_status(placed["id"], "reverse_in_progress", send=False)
    assert api.list_refunds(str(placed["id"])) == []


def test_a_partial_reverse_with_nothing_reversed_yet_is_never_the_whole_order(store: ZidSandbox,
                                                                              api: ZidClient) -> None:
    placed = store.create_order([("MUG-01", 2)], send=False)
    store.reverse(placed["id"], 0, 1, send=False)
    store.reverses[-1]["products"][0]["reversed_quantity"] = 0
    assert store.order(placed["id"])["order_status"]["code"] == "reversed"
    assert api.list_refunds(str(placed["id"])) == []


def test_a_reversed_order_without_reverse_orders_is_returned_whole(store: ZidSandbox, api: ZidClient) -> None:
    placed = store.create_order([("MUG-01", 2)], send=False)
    store.set_status(placed["id"], "reversed", send=False)
    (refund,) = api.list_refunds(str(placed["id"]))
    assert (refund.external_id, refund.whole_order) == (f"reversed:{placed['id']}", True)
    assert api.list_refunds("987654321") == []


# -- stock and products ------------------------------------------------------------------------

def test_push_stock_without_a_linked_location_sets_zids_default_in_bulk(store: ZidSandbox, api: ZidClient) -> None:
    """I1–I2: absolute quantities, at most 50 products a call, the last quantity of a product wins."""
    for number in range(60):
        store.add_product(f"BULK-{number}", f"bulk {number}", "1.00", 0)
    quantities = [StockQuantity(sku=f"BULK-{n}", quantity=Decimal(n)) for n in range(60)]
    mug_id = store._by_sku("MUG-01")["id"]
    quantities += [StockQuantity(sku="MUG-01", quantity=Decimal("3"), stock_ref=mug_id),
                   StockQuantity(sku="MUG-01", quantity=Decimal("4.7"), stock_ref=mug_id),
                   StockQuantity(sku="COF-250", quantity=Decimal("-2"))]
    api.push_stock(quantities)
    bulk = calls(store, "PATCH", "/products")
    assert [len(call.json) for call in bulk] == [50, 12]  # 60 + MUG-01 once + COF-250
    assert [store.quantity(f"BULK-{n}") for n in (0, 17, 59)] == [0, 17, 59]
    assert (store.quantity("MUG-01"), store.quantity("COF-250")) == (4, 0)


def test_push_stock_to_a_linked_location_sets_that_location_only(store: ZidSandbox, creds: dict[str, Any]) -> None:
    jeddah = store.locations[1]["id"]
    mug = store._by_sku("MUG-01")["id"]
    with ZidClient({**creds, "location_id": jeddah}) as client:
        client.push_stock([StockQuantity(sku="MUG-01", quantity=Decimal("7"), stock_ref=mug),
                           StockQuantity(sku="COF-250", quantity=Decimal("5")),
                           StockQuantity(sku="NOT-IN-ZID", quantity=Decimal("5"))])
        assert client.fetch_product("MUG-01").quantity == 7
    assert (store.quantity("MUG-01", jeddah), store.quantity("COF-250", jeddah)) == (7, 5)
    assert store.quantity("MUG-01") == 60  # the default location is untouched
    assert len(calls(store, "PATCH", f"/products/{mug}/stocks")) == 1


def test_push_product_creates_then_updates(store: ZidSandbox, api: ZidClient) -> None:
    """P2: a new ERP product is created in Zid with its quantity; pushing it again updates it."""
    product = ProductData(external_id="", sku="TEA-9", name="شاي أخضر", price=Decimal("12.00"), cost=Decimal("5.5"),
                          barcode="6281000000099", quantity=Decimal("8"))
    created = api.push_product(product)
    assert api.fetch_product("TEA-9") == ProductData(
        external_id=created, sku="TEA-9", name="شاي أخضر", name_ar="شاي أخضر", price=Decimal("12"), cost=Decimal("5.5"),
        barcode="6281000000099", quantity=Decimal("8"), stock_ref=created)
    assert api.push_product(ProductData(external_id="", sku="TEA-9", name="Green tea", price=Decimal("13"))) == created
    again = api.fetch_product("TEA-9")
    assert (again.name, again.price) == ("Green tea", Decimal("13"))
    with pytest.raises(StoreAPIError):
        api.push_product(ProductData(external_id="", sku=None, name="no sku"))


# -- rate limits -------------------------------------------------------------------------------

def test_a_429_is_rate_limited_with_retry_after_and_the_next_call_goes_through(store: ZidSandbox,
                                                                               api: ZidClient) -> None:
    store.bucket.throttle_next(1)
    with pytest.raises(RateLimited) as raised:
        api.check_credentials()
    assert raised.value.retryable and raised.value.retry_after >= 1
    assert api.check_credentials()


def test_after_a_429_the_next_call_waits_for_retry_after(store: ZidSandbox, api: ZidClient) -> None:
    store.bucket.throttle_next(1)
    with pytest.raises(RateLimited) as raised:
        api.check_credentials()
    started = time.monotonic()
    api._profile = None
    assert api.check_credentials()
    assert time.monotonic() - started >= raised.value.retry_after - 0.05


def test_a_long_retry_after_is_not_waited_for_in_the_call(store: ZidSandbox, api: ZidClient) -> None:
    api._pacer.hold(zid_client.MAX_WAIT + 30)
    before = len(store.log.entries)
    with pytest.raises(RateLimited) as raised:
        api.check_credentials()
    assert raised.value.retry_after > zid_client.MAX_WAIT and len(store.log.entries) == before


def test_the_pacer_keeps_under_the_limit() -> None:
    """Zid's 60 requests a minute: a burst up to the capacity goes at once, the next waits its leak."""
    pacer = Pacer(per_minute=120)  # two a second, so the test is quick
    started = time.monotonic()
    for _ in range(120):
        pacer.wait()
    assert time.monotonic() - started < 0.5
    pacer.wait()
    assert time.monotonic() - started >= 0.45


def test_a_long_catalog_never_meets_zids_limit(creds: dict[str, Any]) -> None:
    """More calls than Zid's bucket holds: the client waits instead of being refused."""
    store = ZidSandbox(rate_limit=5, leak_per_second=5.0)
    seed_demo(store)
    zid_client._pacers.clear()
    with store.serve() as server, ZidClient({**creds, "api_base": server.url}) as client:
        client._pacer = Pacer(per_minute=240)  # 4 per second, under the sandbox's 5
        client._pacer.capacity = 4
        for _ in range(12):
            client._profile = None
            client.check_credentials()
    assert all(r.status == 200 for r in store.log.entries)
