"""Shopify webhooks: the HMAC check, the delivery key, and parsing each topic into a StoreEvent."""
from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from plugins.shopify.sandbox import ShopifySandbox
from plugins.shopify.tests.conftest import SECRET, SHOP, Receiver
from plugins.shopify.webhooks import delivery_key, parse_delivery, verify_signature


def parse(shop: ShopifySandbox, topic: str, payload: object):  # noqa: ANN201
    body, headers = shop.build_delivery(topic, payload)
    assert verify_signature(SECRET, headers, body)
    return parse_delivery(headers, body, SHOP)


# -- signatures ------------------------------------------------------------------------------

def test_a_signed_delivery_verifies(shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/create", shop.create_order([("COF-250", 1)], send=False))
    assert verify_signature(SECRET, headers, body)
    assert verify_signature(SECRET, {k.lower(): v for k, v in headers.items()}, body)  # any header case


def test_a_tampered_body_is_refused(shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/create", shop.create_order([("COF-250", 1)], send=False))
    assert not verify_signature(SECRET, headers, body.replace(b'"quantity":1', b'"quantity":9'))


def test_another_secret_is_refused(shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/create", shop.create_order([("COF-250", 1)], send=False))
    assert not verify_signature("another-secret", headers, body)
    assert not verify_signature(None, headers, body)
    assert not verify_signature("", headers, body)


def test_a_missing_or_garbled_signature_is_refused(shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/create", shop.create_order([("COF-250", 1)], send=False))
    del headers["X-Shopify-Hmac-Sha256"]
    assert not verify_signature(SECRET, headers, body)
    assert not verify_signature(SECRET, {**headers, "X-Shopify-Hmac-Sha256": "not base64"}, body)


# -- delivery key ----------------------------------------------------------------------------

def test_the_delivery_key_is_the_event_id_then_the_webhook_id_then_the_body(shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/paid", {"id": 1}, webhook_id="w-1", event_id="e-1")
    assert delivery_key(headers, body) == "event:e-1"
    assert delivery_key({k.lower(): v for k, v in headers.items()}, body) == "event:e-1"
    del headers["X-Shopify-Event-Id"]
    assert delivery_key(headers, body) == "webhook:w-1"
    del headers["X-Shopify-Webhook-Id"]
    key = delivery_key(headers, body)
    assert key.startswith("orders/paid:") and key == delivery_key(headers, body)
    assert key != delivery_key(headers, body + b" ")


def test_a_redelivery_has_the_same_key(shop: ShopifySandbox, receiver: Receiver) -> None:
    shop.set_webhook_target(receiver.url)
    order = shop.create_order([("MUG-01", 1)])
    shop.pay_order(order["id"])
    shop.redeliver()
    (first_headers, first_body), (again_headers, again_body) = receiver.received[-2:]
    assert delivery_key(first_headers, first_body) == delivery_key(again_headers, again_body)
    assert delivery_key(*receiver.received[0]) != delivery_key(first_headers, first_body)


# -- orders ----------------------------------------------------------------------------------

def test_orders_create_is_a_pending_order(shop: ShopifySandbox) -> None:
    payload = shop.create_order([("COF-250", 2), ("MUG-01", 1)], shipping="15.00", discount="10%", send=False)
    event = parse(shop, "orders/create", payload)
    order = event.order
    assert (event.kind, event.name, event.external_id) == ("order", "orders/create", str(payload["id"]))
    assert (order.number, order.status, order.currency, order.prices_include_vat) == ("#1001", "pending", "SAR", True)
    assert [(line.sku, line.quantity, line.unit_price, line.discount, line.tax) for line in order.lines] == [
        ("COF-250", 2, Decimal("35.00"), Decimal("7.00"), Decimal("8.22")),
        ("MUG-01", 1, Decimal("25.00"), Decimal("2.50"), Decimal("2.93"))]
    assert order.lines[0].external_id == str(payload["line_items"][0]["id"])
    assert order.lines[0].product_external_id == str(payload["line_items"][0]["variant_id"])
    assert (order.shipping, order.order_discount, order.tax_total, order.total) == \
        (Decimal("15.00"), Decimal("0.00"), Decimal("13.11"), Decimal("100.50"))
    assert order.customer.name == "Noura Al-Qahtani" and order.customer.email == "noura@example.sa"
    assert order.customer.external_id == str(payload["customer"]["id"])
    assert order.created_at is not None and order.created_at.tzinfo is not None and not order.cancelled


@pytest.mark.parametrize(("steps", "topic", "status"), [
    (["pay"], "orders/paid", "paid"),
    (["pay", "fulfill"], "orders/fulfilled", "fulfilled"),
    (["fulfill"], "orders/fulfilled", "fulfilled"),
    (["pay"], "orders/updated", "paid"),
    (["pay", "cancel"], "orders/cancelled", "cancelled"),
])
def test_order_topics_carry_the_mapped_status(shop: ShopifySandbox, steps: list[str], topic: str,
                                              status: str) -> None:
    order = shop.create_order([("DATE-1KG", 1)], send=False)
    actions = {"pay": shop.pay_order, "fulfill": shop.fulfill_order, "cancel": shop.cancel_order}
    for step in steps:
        order = actions[step](order["id"], send=False)
    event = parse(shop, topic, order)
    assert (event.kind, event.order.status, event.order.cancelled) == ("order", status, status == "cancelled")


def test_a_guest_order_has_no_customer_and_a_line_without_sku_has_none(shop: ShopifySandbox) -> None:
    wrapping = shop.state()["products"][3]["variants"][0]["id"]
    payload = shop.create_order([("COF-250", 1), (wrapping, 1)], customer=None, send=False)
    order = parse(shop, "orders/create", payload).order
    assert order.customer is None
    assert [line.sku for line in order.lines] == ["COF-250", None]


def test_a_customer_without_a_name_is_named_by_email(shop: ShopifySandbox) -> None:
    payload = shop.create_order([("COF-250", 1)], customer={"email": "buyer@example.sa"}, send=False)
    assert parse(shop, "orders/create", payload).order.customer.name == "buyer@example.sa"


def test_an_order_missing_its_total_does_not_fit(shop: ShopifySandbox) -> None:
    payload = shop.create_order([("COF-250", 1)], send=False)
    del payload["total_price"]
    with pytest.raises(ValidationError) as error:
        parse(shop, "orders/create", payload)
    assert "total_price" in error.value.messages


def test_an_order_without_lines_does_not_fit(shop: ShopifySandbox) -> None:
    payload = shop.create_order([("COF-250", 1)], send=False) | {"line_items": []}
    with pytest.raises(ValidationError):
        parse(shop, "orders/create", payload)


# -- refunds ---------------------------------------------------------------------------------

def test_a_partial_restocked_refund_names_its_lines(shop: ShopifySandbox) -> None:
    order = shop.create_order([("COF-250", 2), ("MUG-01", 1)], shipping="15.00", send=False)
    shop.pay_order(order["id"], send=False)
    shop.fulfill_order(order["id"], send=False)
    coffee = order["line_items"][0]["id"]
    payload = shop.refund(order["id"], [(coffee, 1)], send=False)
    event = parse(shop, "refunds/create", payload)
    refund = event.refund
    assert (event.kind, event.external_id) == ("refund", str(payload["id"]))
    assert refund.order_external_id == str(order["id"])
    assert [(x.line_external_id, x.quantity, x.restock) for x in refund.lines] == [(str(coffee), 1, True)]
    assert (refund.include_shipping, refund.amount, refund.whole_order) == (False, None, False)


def test_a_refund_without_restock_and_with_shipping(shop: ShopifySandbox) -> None:
    order = shop.create_order([("COF-250", 2)], shipping="15.00", send=False)
    payload = shop.refund(order["id"], restock=False, shipping=True, send=False)
    refund = parse(shop, "refunds/create", payload).refund
    assert [(x.quantity, x.restock) for x in refund.lines] == [(2, False)]
    assert refund.include_shipping is True


def test_a_shipping_only_refund_carries_its_amount(shop: ShopifySandbox) -> None:
    order = shop.create_order([("COF-250", 1)], shipping="15.00", send=False)
    payload = shop.refund(order["id"], [], shipping=True, send=False)
    refund = parse(shop, "refunds/create", payload).refund
    assert refund.lines == [] and refund.include_shipping is True
    assert refund.amount == Decimal("15.00")


def test_an_amount_only_refund(shop: ShopifySandbox) -> None:
    payload = {"id": 77, "order_id": 66, "created_at": "2026-01-05T10:00:00+03:00", "refund_line_items": [],
               "order_adjustments": [],
               "transactions": [{"kind": "refund", "status": "success", "amount": "40.00"},
                                {"kind": "refund", "status": "failure", "amount": "40.00"}]}
    refund = parse(shop, "refunds/create", payload).refund
    assert (refund.external_id, refund.order_external_id, refund.amount) == ("77", "66", Decimal("40.00"))


# -- products --------------------------------------------------------------------------------

def test_products_create_is_one_product(shop: ShopifySandbox) -> None:
    payload = shop.add_product("TEA-01", "Karak tea", "12.00", 9, barcode="6281000000042")
    event = parse(shop, "products/create", payload)
    product, variant = event.product, payload["variants"][0]
    assert (event.kind, event.external_id) == ("product", str(variant["id"]))
    assert (product.sku, product.name, product.price, product.barcode, product.quantity) == \
        ("TEA-01", "Karak tea", Decimal("12.00"), "6281000000042", Decimal(9))
    assert product.stock_ref == f"gid://shopify/InventoryItem/{variant['inventory_item_id']}"
    assert product.cost is None


def test_products_update_of_a_product_without_sku(shop: ShopifySandbox) -> None:
    wrapping = shop.state()["products"][3]
    payload = shop.update_product(wrapping["id"], title="Gift wrap", send=False)
    product = parse(shop, "products/update", payload).product
    assert (product.sku, product.name) == (None, "Gift wrap")


def test_a_product_with_variants_stands_for_its_first_variant_with_sku(shop: ShopifySandbox) -> None:
    payload = shop.add_product(None, "Abaya", "300.00")
    payload["variants"][0]["title"] = "S"
    payload["variants"].append(copy.deepcopy(payload["variants"][0]) | {"id": 42, "sku": "ABAYA-M", "title": "M"})
    product = parse(shop, "products/update", payload).product
    assert (product.external_id, product.sku, product.name) == ("42", "ABAYA-M", "Abaya - M")


# -- inventory items (costs) ----------------------------------------------------------------

def test_inventory_items_update_is_the_cost_of_its_item(shop: ShopifySandbox) -> None:
    payload = shop.set_cost("MUG-01", "11.25", send=False)
    event = parse(shop, "inventory_items/update", payload)
    assert (event.kind, event.external_id) == ("cost", str(payload["id"]))
    assert (event.cost.cost, event.cost.sku, event.cost.stock_ref) == \
        (Decimal("11.25"), "MUG-01", f"gid://shopify/InventoryItem/{payload['id']}")


def test_an_inventory_item_without_cost_is_ignored(shop: ShopifySandbox) -> None:
    event = parse(shop, "inventory_items/update", shop.set_cost("MUG-01", None, send=False))
    assert event.kind == "ignored" and "no cost" in event.reason


@pytest.mark.parametrize("cost", ["-1.00", "abc", "1e20"])
def test_an_inventory_item_with_a_bad_cost_does_not_fit(shop: ShopifySandbox, cost: str) -> None:
    payload = shop.set_cost("MUG-01", "1.00", send=False) | {"cost": cost}
    with pytest.raises(ValidationError):
        parse(shop, "inventory_items/update", payload)


def test_a_cost_set_through_the_api_sends_inventory_items_update(shop: ShopifySandbox, receiver: Receiver) -> None:
    """Like Shopify, the sandbox tells of a variant's new cost (productVariantsBulkUpdate) by its inventory item."""
    shop.subscribe("inventory_items/update", receiver.url)
    with shop.app.test_client() as http:
        found = http.post("/admin/api/2026-01/graphql.json", headers={"X-Shopify-Access-Token": shop.access_token},
                          json={"query": "query V($q: String!) { productVariants(first: 1, query: $q) { nodes { id "
                                         "product { id } } } }", "variables": {"q": 'sku:"MUG-01"'}}).get_json()
        variant = found["data"]["productVariants"]["nodes"][0]
        answer = http.post("/admin/api/2026-01/graphql.json", headers={"X-Shopify-Access-Token": shop.access_token},
                           json={"query": "mutation U($p: ID!, $v: [ProductVariantsBulkInput!]!) { "
                                          "productVariantsBulkUpdate(productId: $p, variants: $v) { userErrors { message } } }",
                                 "variables": {"p": variant["product"]["id"],
                                               "v": [{"id": variant["id"], "inventoryItem": {"cost": "12.00"}}]}})
        assert answer.status_code == 200 and not answer.get_json()["data"]["productVariantsBulkUpdate"]["userErrors"]
    shop.flush()
    bodies = [json.loads(body) for headers, body in receiver.received
              if headers.get("X-Shopify-Topic") == "inventory_items/update"]
    assert [(b["sku"], b["cost"]) for b in bodies] == [("MUG-01", "12.00")]


# -- everything else -------------------------------------------------------------------------

@pytest.mark.parametrize("topic", ["products/delete", "app/uninstalled", "inventory_levels/update"])
def test_other_topics_are_ignored_with_a_reason(shop: ShopifySandbox, topic: str) -> None:
    event = parse(shop, topic, {"id": 5})
    assert (event.kind, event.name, event.external_id) == ("ignored", topic, "5")
    assert topic in event.reason


def test_a_delivery_from_another_shop_is_ignored(shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/create", shop.create_order([("COF-250", 1)], send=False))
    event = parse_delivery(headers, body, "other-shop.myshopify.com")
    assert event.kind == "ignored" and SHOP in event.reason


def test_bad_bodies_and_a_missing_topic_do_not_fit(shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/create", {"id": 1})
    with pytest.raises(ValidationError):
        parse_delivery(headers, b"{not json", SHOP)
    with pytest.raises(ValidationError):
        parse_delivery(headers, b"[1, 2]", SHOP)
    del headers["X-Shopify-Topic"]
    with pytest.raises(ValidationError):
        parse_delivery(headers, body, SHOP)


def test_webhooks_sent_over_http_verify_and_parse(shop: ShopifySandbox, receiver: Receiver) -> None:
    shop.set_webhook_target(receiver.url)
    order = shop.create_order([("COF-250", 2)], shipping="15.00", paid=True)
    shop.fulfill_order(order["id"])
    shop.refund(order["id"], [(order["line_items"][0]["id"], 1)])
    events = []
    for headers, body in receiver.received:
        assert verify_signature(SECRET, headers, body)
        events.append(parse_delivery(headers, body, SHOP))
    assert [(e.name, e.kind) for e in events] == [("orders/create", "order"), ("orders/paid", "order"),
                                                  ("orders/fulfilled", "order"), ("refunds/create", "refund")]
    assert [e.order.status for e in events[:3]] == ["paid", "paid", "fulfilled"]  # created paid
    assert json.loads(receiver.received[-1][1])["order_id"] == order["id"]
