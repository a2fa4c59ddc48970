"""Shopify webhooks: HMAC check, deduplication key, and parsing into a StoreEvent by topic."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from core.platform.base import signatures_match
from core.platform.data import StoreEvent
from plugins.shopify import schemas

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid", "orders/fulfilled",
                          "orders/cancelled"})
REFUND_TOPICS = frozenset({"refunds/create"})
PRODUCT_TOPICS = frozenset({"products/create", "products/update"})
#: A variant's cost lives on its inventory item, sent only by these topics (platforms.md §3.6).
COST_TOPICS = frozenset({"inventory_items/update"})
#: What the client subscribes to (in this order) when the store is activated.
SUBSCRIBED_TOPICS = (*sorted(ORDER_TOPICS), *sorted(REFUND_TOPICS), *sorted(PRODUCT_TOPICS), *sorted(COST_TOPICS))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def signature(secret: str, body: bytes) -> str:
    """Base64 of the HMAC-SHA256 of ``body`` keyed with the app's client secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_signature(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether ``X-Shopify-Hmac-Sha256`` signs the raw ``body`` under ``secret`` (constant time)."""
    if not secret:
        return False
    return signatures_match(signature(secret, body), header(headers, SIGNATURE_HEADER))


def delivery_key(headers: Mapping[str, str], body: bytes) -> str:
    """``X-Shopify-Event-Id`` (same for every delivery of one event), else ``X-Shopify-Webhook-Id``
    (kept across retries), else the topic and the body's SHA-256."""
    event_id = header(headers, "X-Shopify-Event-Id")
    if event_id:
        return f"event:{event_id.strip()}"
    webhook_id = header(headers, "X-Shopify-Webhook-Id")
    if webhook_id:
        return f"webhook:{webhook_id.strip()}"
    return f"{header(headers, TOPIC_HEADER) or ''}:{hashlib.sha256(body).hexdigest()}"


def parse_delivery(headers: Mapping[str, str], body: bytes, shop_domain: str | None = None) -> StoreEvent:
    """Parse an authentic delivery by its topic; raises :class:`marshmallow.ValidationError` when the
    body does not fit. A delivery from another shop than ``shop_domain`` is ignored."""
    topic = (header(headers, TOPIC_HEADER) or "").strip()
    if not topic:
        raise ValidationError({TOPIC_HEADER: ["Missing header."]})
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValidationError({"_body": ["The body is not JSON."]}) from None
    shop = (header(headers, SHOP_HEADER) or "").strip().lower()
    if shop_domain and shop and shop != shop_domain.lower():
        return _ignored(topic, payload, f"sent by shop {shop}, not this store's {shop_domain}")
    if topic in ORDER_TOPICS:
        order = schemas.order_data(payload)
        return StoreEvent("order", topic, order.external_id, order=order)
    if topic in REFUND_TOPICS:
        refund = schemas.refund_data(payload)
        return StoreEvent("refund", topic, refund.external_id, refund=refund)
    if topic in PRODUCT_TOPICS:
        product = schemas.product_data(payload)
        return StoreEvent("product", topic, product.external_id, product=product)
    if topic in COST_TOPICS:
        cost = schemas.cost_data(payload)
        if cost is None:
            return _ignored(topic, payload, "the inventory item has no cost")
        return StoreEvent("cost", topic, str(payload.get("id")), cost=cost)
    if topic == "products/delete":
        return _ignored(topic, payload, "a product deleted in the store stays in the ERP")
    return _ignored(topic, payload, "not a topic Mizan acts on")


def _ignored(topic: str, payload: Any, why: str) -> StoreEvent:
    external_id = str(payload.get("id", "")) if isinstance(payload, dict) else ""
    return StoreEvent("ignored", topic, external_id, reason=f"Shopify topic {topic}: {why}")
