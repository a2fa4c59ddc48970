"""WooCommerce webhooks: the signature, the creation ping, the deduplication key, parsing into StoreEvents."""
from __future__ import annotations

import hashlib
import html
import json
from typing import Any

from marshmallow import ValidationError

from core.platform.data import StoreEvent
from core.platform.webhooks import Verdict, WebhookRequest, hmac_base64, signatures_match
from plugins.woocommerce import schemas

ORDER_TOPICS = ("order.created", "order.updated")
PRODUCT_TOPICS = ("product.created", "product.updated")
#: The topics Mizan subscribes, all posted to ``/webhooks/<key>`` (the topic is in ``X-WC-Webhook-Topic``).
SUBSCRIBED_TOPICS = (*ORDER_TOPICS, *PRODUCT_TOPICS, "product.deleted")
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
SOURCE_HEADER = "X-WC-Webhook-Source"


def verdict(secret: str | None, request: WebhookRequest) -> Verdict:
    """The ping WooCommerce sends when a webhook is saved (form body ``webhook_id=<n>``, no signature):
    acknowledged, else it counts as a failed delivery; a body signed with ``secret``: authentic; anything
    else (no secret kept, no or a wrong signature): rejected."""
    signature = request.header(SIGNATURE_HEADER)
    if signature is None and is_ping(request):
        return Verdict.ACKNOWLEDGE
    if not secret:
        return Verdict.REJECT
    return Verdict.AUTHENTIC if signatures_match(hmac_base64(secret, request.body), signature) else Verdict.REJECT


def is_ping(request: WebhookRequest) -> bool:
    """Whether the body is the creation ping: exactly the form ``webhook_id=<digits>``."""
    form = request.form()
    return list(form) == ["webhook_id"] and form["webhook_id"].isdigit()


def topic_of(request: WebhookRequest) -> str | None:
    """The delivery's topic: its ``X-WC-Webhook-Topic`` header, else the URL's."""
    return (request.header(TOPIC_HEADER) or "").strip() or request.topic


def delivery_key(request: WebhookRequest) -> str | None:
    """SHA-256 of ``source:topic:id:date_modified_gmt`` and what may change within that second (an order's
    status and refund ids, a product's SKU, price and quantity): one change of one resource has one key however
    often it is delivered. Not ``X-WC-Webhook-Delivery-ID``: that is a hash of the webhook id and the second it
    went out, new for each re-delivery and shared by two changes sent in one second. ``None`` when the body
    names no id or ``date_modified_gmt`` (the core hashes the topic and the body)."""
    payload = _loads_dict(request.body)
    resource_id, modified = _scalar(payload.get("id")), _scalar(payload.get("date_modified_gmt"))
    if not resource_id or not modified:
        return None
    source = (request.header(SOURCE_HEADER) or "").strip().rstrip("/")
    parts = [source, topic_of(request) or "", resource_id, modified, _same_second(payload)]
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _same_second(payload: dict[str, Any]) -> str:
    """What tells apart two changes made in one second (WooCommerce's times are to the second)."""
    refunds = payload.get("refunds")
    refund_ids = [_scalar(r.get("id")) for r in refunds if isinstance(r, dict)] if isinstance(refunds, list) else []
    fields = ("status", "sku", "price", "stock_quantity")
    return ",".join([*(_scalar(payload.get(name)) for name in fields), *sorted(refund_ids)])


def parse_delivery(request: WebhookRequest, credentials: dict[str, Any]) -> list[StoreEvent]:
    """The events of an authentic delivery; :class:`ValidationError` when the body does not fit its topic.

    An order body is signed and built when it is sent (the order's current state), so it is booked as it
    came; each refund it lists is fetched through the API (``refunds_ref``: reads give the refund's lines).
    """
    topic = topic_of(request)
    if topic in ORDER_TOPICS:
        return _order_events(topic, _json_object(request.body))
    if topic in PRODUCT_TOPICS:
        gross = credentials.get("product_prices_include_tax", True) is not False
        return _product_events(topic, _json_object(request.body), gross)
    payload = _loads_dict(request.body)
    if topic == "product.deleted":
        return [_ignored(topic, _scalar(payload.get("id")), "a product deleted in WooCommerce stays in the ERP")]
    return [_ignored(topic or "", _scalar(payload.get("id")), "not an event Mizan subscribes")]


def _order_events(topic: str, payload: dict[str, Any]) -> list[StoreEvent]:
    order = schemas.order_data(payload)
    events = [StoreEvent("order", topic, order.external_id, order=order)]
    refunds = payload.get("refunds")
    for refund in refunds if isinstance(refunds, list) else []:
        refund_id = _scalar(refund.get("id")) if isinstance(refund, dict) else ""
        if refund_id:
            events.append(StoreEvent("refunds_ref", topic, order.external_id, reference=refund_id))
    return events


def _product_events(topic: str, payload: dict[str, Any], gross: bool) -> list[StoreEvent]:
    """A simple product or a variation is itself; a variable product's variations are the products (the
    parent is one only when the body embeds them); grouped and external products hold no stock of their own."""
    kind = schemas.product_type(payload)
    product_id = _scalar(payload.get("id"))
    if kind == "variable":
        variations = payload.get("variations")
        embedded = [v for v in variations if isinstance(v, dict)] if isinstance(variations, list) else []
        if not embedded:
            return [_ignored(topic, product_id, "a variable product: its variations are the products")]
        name = html.unescape(_scalar(payload.get("name")))
        return [_product_event(topic, {**variation, "parent_id": variation.get("parent_id") or product_id,
                                       "type": "variation"}, gross, name or None) for variation in embedded]
    if kind in ("grouped", "external"):
        return [_ignored(topic, product_id, f"a {kind} product holds no stock of its own")]
    return [_product_event(topic, payload, gross)]


def _product_event(topic: str, payload: dict[str, Any], gross: bool, parent_name: str | None = None) -> StoreEvent:
    product = schemas.product_data(payload, gross=gross, parent_name=parent_name)
    return StoreEvent("product", topic, product.external_id, product=product)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationError({"_body": ["The body is not JSON."]}) from None
    if not isinstance(payload, dict):
        raise ValidationError({"_body": ["The body is not a JSON object."]})
    return payload


def _loads_dict(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _ignored(topic: str, external_id: str, why: str) -> StoreEvent:
    return StoreEvent("ignored", topic, external_id or topic or "woocommerce", reason=f"WooCommerce event {topic}: {why}")


def _scalar(value: Any) -> str:
    """A string or number as text; anything else (missing, a list, an object) as ``""``."""
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
