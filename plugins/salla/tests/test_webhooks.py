"""Salla webhooks: signatures, deduplication keys and parsing of every event shape the sandbox sends."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError

from core.platform.data import StoreEvent
from core.platform.webhooks import OtherStore
from plugins.salla.sandbox import SallaSandbox, sign
from plugins.salla.tests import MERCHANT, SECRET
from plugins.salla.webhooks import delivery_key, parse_delivery, verify_signature


def parse(store: SallaSandbox, event: str, data: Any) -> StoreEvent:
    body, _headers = store.build_delivery(event, data)
    return parse_delivery(body, str(MERCHANT))


def envelope(event: str, data: Any, merchant: int = MERCHANT) -> bytes:
    return json.dumps({"event": event, "merchant": merchant, "created_at": "x", "data": data}).encode()


@pytest.fixture
def order(store: SallaSandbox) -> dict[str, Any]:
    return store.create_order([("COF-250", 2), ("MUG-01", 1, "19.99")], shipping="25",
                              discount="7.33", send=False)


# ---------------------------------------------------------------- authenticity (§6, 401)


def test_signed_delivery_is_authentic_whatever_the_header_case(store: SallaSandbox, order: dict) -> None:
    body, headers = store.build_delivery("order.created", order)
    assert verify_signature(SECRET, headers, body)
    assert verify_signature(SECRET, {k.lower(): v for k, v in headers.items()}, body)
    assert verify_signature(SECRET, {k.upper(): v.upper() for k, v in headers.items()}, body)


def test_tampered_body_wrong_secret_and_missing_header_are_rejected(store: SallaSandbox,
                                                                    order: dict) -> None:
    body, headers = store.build_delivery("order.created", order)
    tampered = body.replace(b'"SAR"', b'"USD"', 1)
    assert tampered != body
    assert not verify_signature(SECRET, headers, tampered)
    assert not verify_signature("another-secret", headers, body)
    assert not verify_signature(SECRET, {k: v for k, v in headers.items() if k != "X-Salla-Signature"}, body)
    assert not verify_signature(SECRET, {**headers, "X-Salla-Signature": ""}, body)
    assert not verify_signature(None, headers, body)
    assert not verify_signature("", {"X-Salla-Signature": sign("", body)}, body)


# ---------------------------------------------------------------- deduplication (O3)


def test_redelivered_body_has_the_same_key_and_any_other_body_another(store: SallaSandbox,
                                                                      order: dict) -> None:
    body, _ = store.build_delivery("order.created", order)
    again = bytes(body)
    updated, _ = store.build_delivery("order.updated", order)
    assert delivery_key(body) == delivery_key(again)
    assert delivery_key(body) != delivery_key(updated)
    assert len(delivery_key(body)) == 64
    assert delivery_key(b"not json") != delivery_key(b"[1]")


# ---------------------------------------------------------------- parsing


def test_authorize_event_carries_the_tokens_and_merchant(store: SallaSandbox) -> None:
    data = store.authorize(send=False, rotate=True)
    event = parse(store, "app.store.authorize", data)
    assert event.kind == "authorize"
    assert event.credentials == {"access_token": store.access_token, "refresh_token": store.refresh_token,
                                 "store_ref": str(MERCHANT), "token_expires_at": data["expires"]}


def test_order_created_maps_lines_amounts_and_customer(store: SallaSandbox, order: dict) -> None:
    event = parse(store, "order.created", order)
    assert (event.kind, event.name, event.external_id) == ("order", "order.created", str(order["id"]))
    data = event.order
    assert data.number == str(order["reference_id"]) and data.status == "under_review"
    assert data.currency == "SAR" and data.prices_include_vat is False and not data.cancelled
    first, second = data.lines
    item = order["items"][0]
    assert (first.external_id, first.sku, first.quantity, first.unit_price) == (
        str(item["id"]), "COF-250", Decimal("2"), Decimal("35.00"))
    assert first.product_external_id == str(item["product"]["id"])
    assert first.discount + second.discount == Decimal("7.33") and data.order_discount == 0
    assert first.tax == Decimal(str(item["amounts"]["tax"]["amount"]["amount"]))
    assert second.unit_price == Decimal("19.99")
    assert data.shipping == Decimal("25.00")
    assert data.total == Decimal(str(order["amounts"]["total"]["amount"]))
    assert data.tax_total == Decimal(str(order["amounts"]["tax"]["amount"]["amount"]))
    assert data.customer.name == "Sara Al-Qahtani" and data.customer.phone == "+966555123456"
    assert data.customer.email == "sara@example.com" and data.customer.external_id == "500000000"
    assert data.created_at is not None and data.created_at.utcoffset().total_seconds() == 3 * 3600


def test_status_updated_reads_the_order_inside_the_activity_wrapper(store: SallaSandbox,
                                                                    order: dict) -> None:
    completed = store.set_order_status(order["id"], "completed", send=False)
    wrapper = store._status_event_data(completed, "done")
    event = parse(store, "order.status.updated", wrapper)
    assert event.external_id == str(order["id"]) != str(wrapper["id"])
    assert event.order.status == "completed" and not event.order.cancelled
    assert event.order.lines[0].product_external_id == str(order["items"][0]["product"]["id"])


def test_cancellation_is_flagged_by_event_and_by_status(store: SallaSandbox, order: dict) -> None:
    cancelled = store.set_order_status(order["id"], "canceled", send=False)
    assert parse(store, "order.cancelled", cancelled).order.cancelled
    assert parse(store, "order.status.updated", store._status_event_data(cancelled, "")).order.cancelled
    assert parse(store, "order.updated", order).order.cancelled is False


def test_custom_status_maps_to_its_original_slug(store: SallaSandbox, order: dict) -> None:
    order["status"] = {"id": 1, "name": "جاهز", "slug": "ready-to-ship", "type": "custom",
                       "original": {"id": 566146474, "name": "تم التنفيذ", "slug": "completed"}}
    assert parse(store, "order.updated", order).order.status == "completed"
    order["status"] = {"id": 1, "name": "جاهز", "slug": "ready", "parent": {"id": 2, "slug": "shipped"}}
    assert parse(store, "order.updated", order).order.status == "shipped"


def test_shipment_style_customer_and_blank_sku(store: SallaSandbox, order: dict) -> None:
    order["customer"] = {"id": 77, "name": "Omar", "mobile": "+966500000001", "email": ""}
    order["items"][0]["sku"] = ""
    data = parse(store, "order.updated", order).order
    assert (data.customer.external_id, data.customer.name, data.customer.phone, data.customer.email) == (
        "77", "Omar", "+966500000001", None)
    assert data.lines[0].sku is None
    order["customer"] = None
    assert parse(store, "order.updated", order).order.customer is None


def test_order_refunded_is_one_whole_order_refund(store: SallaSandbox, order: dict) -> None:
    event = parse(store, "order.refunded", store.refund_order(order["id"], send=False))
    assert event.kind == "refund" and event.external_id == f"{order['id']}:refund"
    refund = event.refund
    assert refund.whole_order and refund.order_external_id == str(order["id"]) and not refund.lines
    assert refund.created_at is not None


def test_product_events_map_the_product(store: SallaSandbox) -> None:
    created = store.add_product("TEA-1", "Green tea", "12.50", 7, cost_price="6", mpn="MPN-9",
                                categories=[next(iter(store.categories))])
    event = parse(store, "product.created", created)
    product = event.product
    assert (event.kind, product.external_id, product.sku, product.name) == (
        "product", str(created["id"]), "TEA-1", "Green tea")
    assert (product.price, product.cost, product.barcode, product.quantity) == (
        Decimal("12.50"), Decimal("6.00"), "MPN-9", Decimal("7"))
    assert product.category_external_ids == [str(next(iter(store.categories)))]
    assert product.stock_ref == str(created["id"])
    updated = store.update_product(created["id"], send=False, gtin="6280000000001", sku="")
    product = parse(store, "product.updated", updated).product
    assert product.barcode == "6280000000001" and product.sku is None


def test_price_only_and_unknown_events_are_ignored_with_a_reason(store: SallaSandbox) -> None:
    product = store.products[next(iter(store.products))]
    event = parse(store, "product.price.updated", store._price_event_data(product))
    assert event.kind == "ignored" and "no name" in event.reason
    event = parse(store, "order.deleted", {"id": 5})
    assert (event.kind, event.external_id) == ("ignored", "5") and "order.deleted" in event.reason


def test_event_of_another_merchant_raises_other_store(order: dict) -> None:
    with pytest.raises(OtherStore, match="999"):
        parse_delivery(envelope("order.created", order, merchant=999), str(MERCHANT))
    assert parse_delivery(envelope("order.created", order, merchant=999)).kind == "order"


@pytest.mark.parametrize("body", [
    b"{not json", b"[1, 2]", envelope("order.created", None), envelope("", {}),
    json.dumps({"event": "order.created", "data": {}}).encode(),
])
def test_malformed_envelope_is_a_validation_error(body: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_delivery(body)


@pytest.mark.parametrize("change", [
    lambda o: o.pop("id"),
    lambda o: o.update(items=[]),
    lambda o: o["items"][0]["amounts"].pop("price_without_tax"),
    lambda o: o["items"][0].update(quantity=0),
    lambda o: o["amounts"]["total"].update(amount="lots"),
    lambda o: o.update(status={"id": 1, "name": "?"}),
    lambda o: o.update(currency="RIYAL"),
])
def test_order_missing_or_bad_fields_is_a_validation_error(order: dict, change: Any) -> None:
    change(order)
    with pytest.raises(ValidationError) as raised:
        parse_delivery(envelope("order.created", order))
    assert "data" in raised.value.messages


def test_authorize_without_token_and_product_without_name_are_validation_errors() -> None:
    with pytest.raises(ValidationError):
        parse_delivery(envelope("app.store.authorize", {"refresh_token": "r"}))
    with pytest.raises(ValidationError):
        parse_delivery(envelope("product.created", {"id": 1, "sku": "X"}))


def test_only_authorize_deliveries_and_unreadable_bodies_carry_tokens() -> None:
    from plugins.salla.webhooks import carries_tokens

    assert carries_tokens(envelope("app.store.authorize", {"access_token": "a"}))
    assert not carries_tokens(envelope("order.created", {"id": 1}))
    assert carries_tokens(b"[" * 5000 + b"]" * 5000) and carries_tokens(b"not json")
    assert not carries_tokens(envelope(["app.store.authorize"], {}))  # type: ignore[arg-type]
