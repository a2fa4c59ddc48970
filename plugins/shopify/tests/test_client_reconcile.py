"""The Shopify client's reconciliation and write-back calls against the sandbox shop, over HTTP (O12)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.platform.base import RateLimited
from plugins.shopify import client as client_module
from plugins.shopify.client import ShopifyClient
from plugins.shopify.sandbox import API_PREFIX, ShopifySandbox
from plugins.shopify.schemas import refund_data


def _age(shop: ShopifySandbox, order_id: int, moment: datetime) -> None:
    """Make the order last changed at ``moment`` (as if nothing touched it since)."""
    with shop._lock:
        shop._orders[order_id]["updated_at"] = moment.isoformat(timespec="seconds")


def test_orders_changed_since_are_listed_oldest_change_first_with_link_pagination(
        client: ShopifyClient, shop: ShopifySandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """O12: ``orders.json?updated_at_min=…&status=any&order=updated_at asc``, then the ``page_info``
    of ``Link: rel="next"`` alone; each page but the last says up to when it is complete."""
    monkeypatch.setattr(client_module, "ORDERS_PAGE", 2)
    now = datetime.now(UTC).replace(microsecond=0)
    orders = [shop.create_order([("MUG-01", 1)], send=False) for _ in range(4)]
    _age(shop, orders[0]["id"], now - timedelta(days=3))  # before the cursor: not listed
    for offset, order in zip((3, 1, 2), orders[1:], strict=True):
        _age(shop, order["id"], now - timedelta(minutes=offset))
    shop.cancel_order(orders[2]["id"], send=False)  # any status is listed
    _age(shop, orders[2]["id"], now - timedelta(minutes=1))
    first = client.list_orders(now - timedelta(hours=1))
    second = client.list_orders(now - timedelta(hours=1), first.next_cursor)
    assert [o.external_id for o in first.orders] == [str(orders[1]["id"]), str(orders[3]["id"])]
    assert first.next_cursor and first.modified_through == now - timedelta(minutes=2)
    assert [o.external_id for o in second.orders] == [str(orders[2]["id"])] and second.orders[0].cancelled
    assert (second.next_cursor, second.modified_through) == (None, None)
    first_call, second_call = shop.log.matching("GET", API_PREFIX + "/orders.json")
    assert first_call.query == {"limit": "2", "status": "any", "order": "updated_at asc",
                                "updated_at_min": (now - timedelta(hours=1)).isoformat()}
    assert set(second_call.query) == {"limit", "page_info"}


def test_listing_orders_when_throttled_raises_rate_limited(client: ShopifyClient, shop: ShopifySandbox) -> None:
    shop.create_order([("MUG-01", 1)], send=False)
    shop.rest_bucket.throttle_next(1)
    with pytest.raises(RateLimited) as raised:
        client.list_orders(datetime.now(UTC) - timedelta(hours=1))
    assert raised.value.retry_after == 1
    assert len(client.list_orders(datetime.now(UTC) - timedelta(hours=1)).orders) == 1


def test_an_order_is_fetched_by_its_id_or_none(client: ShopifyClient, shop: ShopifySandbox) -> None:
    order = shop.create_order([("COF-250", 2)], send=False)
    fetched = client.fetch_order_by_id(str(order["id"]))
    assert fetched is not None and fetched.number == order["name"]
    assert client.fetch_order_by_id("123") is None and client.fetch_order_by_id("x/../1") is None


def test_the_refunds_of_an_order_are_listed_as_their_webhooks_carry_them(client: ShopifyClient,
                                                                         shop: ShopifySandbox) -> None:
    """R1: ``GET orders/{id}/refunds.json``, each refund parsed as ``refunds/create`` is."""
    order = shop.create_order([("MUG-01", 3)], paid=True, send=False)
    assert client.list_refunds(str(order["id"])) == []
    line = order["line_items"][0]["id"]
    first = shop.refund(order["id"], [(line, 1)], send=False)
    second = shop.refund(order["id"], [(line, 2)], send=False)
    assert client.list_refunds(str(order["id"])) == [refund_data(first), refund_data(second)]
    assert client.list_refunds("123") == []


def test_the_invoice_number_is_added_to_the_order_tags_once(client: ShopifyClient, shop: ShopifySandbox) -> None:
    order = shop.create_order([("MUG-01", 1)], paid=True, send=False)
    shop.annotate(order["id"], {"tags": "vip, wholesale"})
    client.annotate_order(str(order["id"]), "INV-000007")
    client.annotate_order(str(order["id"]), "INV-000007")
    assert shop.order(order["id"])["tags"] == "vip, wholesale, Mizan INV-000007"
    assert len(shop.log.matching("PUT", f"{API_PREFIX}/orders/{order['id']}.json")) == 1
