"""WooCommerce deliveries: the signature, the creation ping, the deduplication key and the events parsed."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from core.platform.webhooks import Headers, Verdict, WebhookRequest, hmac_base64
from plugins.woocommerce import webhooks

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "s3cret-generated-by-mizan"
SOURCE = "https://shop.example.com/"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def delivery(topic: str, payload: Any, *, secret: str = SECRET, delivery_id: str = "d1", **extra: str) -> WebhookRequest:
    """A delivery as WooCommerce sends it: JSON, signed with the webhook's secret."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-WC-Webhook-Source": SOURCE, "X-WC-Webhook-Topic": topic,
               "X-WC-Webhook-Resource": topic.split(".")[0], "X-WC-Webhook-Event": topic.split(".")[1],
               "X-WC-Webhook-Signature": hmac_base64(secret, body), "X-WC-Webhook-ID": "3",
               "X-WC-Webhook-Delivery-ID": delivery_id, **extra}
    return WebhookRequest(body, Headers(headers), "application/json")


PING = WebhookRequest(b"webhook_id=3", Headers({"Content-Type": "application/x-www-form-urlencoded"}),
                      "application/x-www-form-urlencoded")


# -- verification -----------------------------------------------------------------------------------

def test_the_creation_ping_is_acknowledged_without_a_signature() -> None:
    """WooCommerce disables a webhook after 5 failed deliveries: its unsigned ping must get a 200."""
    assert webhooks.verdict(SECRET, PING) is Verdict.ACKNOWLEDGE
    assert webhooks.verdict(None, PING) is Verdict.ACKNOWLEDGE


def test_a_body_signed_with_the_secret_is_authentic_and_any_change_is_rejected() -> None:
    signed = delivery("order.updated", fixture("order_inclusive.json"))
    assert webhooks.verdict(SECRET, signed) is Verdict.AUTHENTIC
    tampered = WebhookRequest(signed.body.replace(b'"110.50"', b'"1.00"'), signed.headers, signed.content_type)
    assert webhooks.verdict(SECRET, tampered) is Verdict.REJECT
    assert webhooks.verdict("another-secret", signed) is Verdict.REJECT
    assert webhooks.verdict(None, signed) is Verdict.REJECT


def test_an_unsigned_body_that_is_not_the_ping_is_rejected() -> None:
    unsigned = WebhookRequest(b'{"id": 101}', Headers({"X-WC-Webhook-Topic": "order.updated"}), "application/json")
    assert webhooks.verdict(SECRET, unsigned) is Verdict.REJECT
    more = WebhookRequest(b"webhook_id=3&id=101", Headers({}), "application/x-www-form-urlencoded")
    assert webhooks.verdict(SECRET, more) is Verdict.REJECT


def test_a_signed_ping_shaped_body_is_judged_by_its_signature() -> None:
    body = b"webhook_id=3"
    forged = WebhookRequest(body, Headers({"X-WC-Webhook-Signature": "bm9wZQ=="}), "")
    assert webhooks.verdict(SECRET, forged) is Verdict.REJECT


# -- deduplication ----------------------------------------------------------------------------------

def test_the_delivery_key_is_the_change_not_the_delivery_id() -> None:
    """WooCommerce's Delivery-ID hashes the webhook id and the second: a re-delivery of one change has a new
    one, two changes in one second share one. The key follows source, topic, id and date_modified_gmt."""
    order = fixture("order_inclusive.json")
    first = webhooks.delivery_key(delivery("order.updated", order, delivery_id="a"))
    again = webhooks.delivery_key(delivery("order.updated", order, delivery_id="b"))
    assert first == again and first is not None and first not in ("a", "b")
    changed = webhooks.delivery_key(delivery("order.updated", {**order, "date_modified_gmt": "2030-01-01T00:00:00"},
                                             delivery_id="a"))
    other_topic = webhooks.delivery_key(delivery("order.created", order, delivery_id="a"))
    other_site = webhooks.delivery_key(delivery("order.updated", order, **{"X-WC-Webhook-Source": "https://b.example/"}))
    assert len({first, changed, other_topic, other_site}) == 4


def test_two_changes_in_one_second_have_two_keys() -> None:
    """Completed, then refunded within the second: ``date_modified_gmt`` alike, status and refunds not."""
    order = fixture("order_inclusive.json")
    completed = {**order, "status": "completed", "refunds": []}
    refunded = {**completed, "status": "refunded", "refunds": [{"id": 9, "total": "-110.50"}]}
    keys = {webhooks.delivery_key(delivery("order.updated", body)) for body in (completed, refunded)}
    assert len(keys) == 2


def test_a_body_without_id_or_version_has_no_key() -> None:
    assert webhooks.delivery_key(delivery("product.deleted", {"id": 7})) is None
    assert webhooks.delivery_key(PING) is None


# -- parsing ----------------------------------------------------------------------------------------

def test_an_order_delivery_is_the_order_as_sent_and_a_reference_per_refund() -> None:
    """The body is signed and built at delivery time: the order is booked as it came; refunds are fetched."""
    payload = fixture("order_inclusive.json")
    events = webhooks.parse_delivery(delivery("order.updated", payload), {})
    assert [(e.kind, e.external_id, e.reference) for e in events] == [
        ("order", str(payload["id"]), None),
        *[("refunds_ref", str(payload["id"]), str(r["id"])) for r in payload["refunds"]]]
    assert events[0].order is not None and events[0].order.total == Decimal("110.50")


def test_the_topic_header_wins_over_the_url() -> None:
    request = delivery("order.created", fixture("order_guest_refunded.json"))
    posted = WebhookRequest(request.body, request.headers, request.content_type, topic="product.updated")
    assert [e.kind for e in webhooks.parse_delivery(posted, {})][0] == "order"


def test_products_a_variation_and_a_variable_parent() -> None:
    (simple,) = webhooks.parse_delivery(delivery("product.updated", fixture("product_simple.json")), {})
    assert (simple.kind, simple.product.sku) == ("product", "COF-250")
    (variation,) = webhooks.parse_delivery(delivery("product.created", fixture("product_variation.json")), {})
    assert (variation.product.sku, variation.product.stock_ref) == ("TS-RED-M", "12/13")
    (parent,) = webhooks.parse_delivery(delivery("product.updated", fixture("product_variable.json")), {})
    assert parent.kind == "ignored" and "variations" in parent.reason


def test_a_variable_parent_embedding_its_variations_gives_them() -> None:
    payload = {**fixture("product_variable.json"), "variations": [fixture("product_variation.json")]}
    (event,) = webhooks.parse_delivery(delivery("product.updated", payload), {})
    assert (event.kind, event.product.sku, event.product.stock_ref) == ("product", "TS-RED-M", "12/13")


def test_net_store_prices_become_gross_product_prices() -> None:
    """P1: ``product_prices_include_tax`` false."""
    (event,) = webhooks.parse_delivery(delivery("product.updated", fixture("product_simple.json")),
                                       {"product_prices_include_tax": False})
    assert str(event.product.price) == "51.75"


@pytest.mark.parametrize("topic", ["product.deleted", "coupon.created", "action.woocommerce_checkout"])
def test_other_topics_are_ignored_with_a_reason(topic: str) -> None:
    (event,) = webhooks.parse_delivery(delivery(topic, {"id": 7}), {})
    assert event.kind == "ignored" and topic in (event.reason or "")


def test_a_body_that_is_not_an_order_does_not_fit() -> None:
    with pytest.raises(ValidationError):
        webhooks.parse_delivery(delivery("order.updated", {"id": 5}), {})
    broken = WebhookRequest(b"{not json", Headers({"X-WC-Webhook-Topic": "order.updated"}), "application/json")
    with pytest.raises(ValidationError):
        webhooks.parse_delivery(broken, {})


def test_odd_refund_and_variation_lists_are_skipped() -> None:
    events = webhooks.parse_delivery(delivery("order.updated", {**fixture("order_inclusive.json"), "refunds": 7}), {})
    assert [e.kind for e in events] == ["order"]
    (event,) = webhooks.parse_delivery(delivery("product.updated", {**fixture("product_variable.json"),
                                                                    "variations": 3}), {})
    assert event.kind == "ignored"
