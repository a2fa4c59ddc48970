"""The Salla client's reconciliation and write-back calls against the sandbox store, over HTTP (O12)."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.platform.base import RateLimited
from plugins.salla.client import ORDER_LOOKBACK, SallaClient
from plugins.salla.sandbox import SallaSandbox
from plugins.salla.webhooks import parse_delivery


def test_orders_placed_since_the_cursor_are_listed_page_by_page_in_full(credentials: dict[str, Any],
                                                                      store: SallaSandbox) -> None:
    """O12: ``GET /orders?from_date=`` (the lookback before the cursor, store time), then each order by id."""
    placed = [store.create_order([("MUG-01", n)], send=False) for n in (1, 2, 3)]
    store.per_page_max = 2  # 3 orders → 2 pages
    cursor = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)  # already the 28th in Riyadh
    with SallaClient(credentials) as api:
        first = api.list_orders(cursor)
        second = api.list_orders(cursor, first.next_cursor)
    assert (len(first.orders), first.next_cursor, len(second.orders), second.next_cursor) == (2, "2", 1, None)
    listing = store.log.matching("GET", "/admin/v2/orders")
    lists = [r for r in listing if r.path == "/admin/v2/orders"]
    expected_day = (cursor - ORDER_LOOKBACK + timedelta(hours=3)).date().isoformat()
    assert [r.query for r in lists] == [{"from_date": expected_day, "page": str(n), "per_page": "60"} for n in (1, 2)]
    assert len(listing) - len(lists) == 3  # each order read in full by id
    body, _ = store.build_delivery("order.created", store.order(placed[0]["id"]))
    # The API order model carries no version; the webhook's is its envelope time (O11).
    assert dataclasses.replace(parse_delivery(body).order, modified_at=None) in first.orders + second.orders
    assert {o.external_id for o in first.orders + second.orders} == {str(o["id"]) for o in placed}


def test_orders_placed_before_the_lookback_are_not_listed(client: SallaClient, store: SallaSandbox) -> None:
    store.create_order([("MUG-01", 1)], send=False)
    assert client.list_orders(datetime.now(UTC) + ORDER_LOOKBACK + timedelta(days=2)).orders == []


def test_listing_orders_when_throttled_raises_rate_limited(client: SallaClient, store: SallaSandbox) -> None:
    store.create_order([("MUG-01", 1)], send=False)
    store.bucket.throttle_next(1)
    with pytest.raises(RateLimited) as raised:
        client.list_orders(datetime.now(UTC))
    assert raised.value.retry_after >= 0
    assert len(client.list_orders(datetime.now(UTC)).orders) == 1


def test_an_order_is_fetched_by_its_id_or_none(client: SallaClient, store: SallaSandbox) -> None:
    order = store.create_order([("COF-250", 2)], send=False)
    fetched = client.fetch_order_by_id(str(order["id"]))
    assert fetched is not None and fetched.number == str(order["reference_id"])
    assert client.fetch_order_by_id("999") is None
    assert client.fetch_order_by_id("1; DROP") is None


def test_a_restored_order_lists_the_whole_order_refund_its_webhook_carries(client: SallaClient,
                                                                           store: SallaSandbox) -> None:
    """R1: Salla refunds whole orders; the refund id is the one ``order.refunded`` gives."""
    order = store.create_order([("MUG-01", 1)], status="completed", send=False)
    assert client.list_refunds(str(order["id"])) == []
    store.refund_order(order["id"], send=False)
    body, _ = store.build_delivery("order.refunded", store.order(order["id"]))
    refunds = client.list_refunds(str(order["id"]))
    assert refunds == [dataclasses.replace(parse_delivery(body).refund, created_at=None)]  # Salla dates no refund
    assert refunds[0].whole_order and client.list_refunds("424242") == []


def test_the_invoice_number_is_written_to_the_order_history_once(client: SallaClient, store: SallaSandbox) -> None:
    order = store.create_order([("MUG-01", 1)], status="completed", send=False)
    client.annotate_order(str(order["id"]), "INV-000007")
    client.annotate_order(str(order["id"]), "INV-000007")
    assert store.notes(order["id"]) == ["Mizan invoice INV-000007"]
    posted = store.log.matching("POST", f"/admin/v2/orders/{order['id']}/histories")
    assert [r.json for r in posted] == [{"note": "Mizan invoice INV-000007"}]
