"""Zid webhooks: Basic credentials, deduplication key, parsing into StoreEvents."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from core.platform.data import StoreEvent
from plugins.zid import schemas

ORDER_TOPICS = ("order.create", "order.status.update", "order.payment_status.update")
PRODUCT_TOPICS = ("product.create", "product.update")
#: The topics Mizan subscribes, each to its own URL ``/webhooks/<key>/<topic>``.
SUBSCRIBED_TOPICS = (*ORDER_TOPICS, *PRODUCT_TOPICS, "product.delete")


class _OrderRef(Schema):
    """What an order delivery must hold to name an order: its id and status (the rest is fetched anew)."""

    class Meta:
        unknown = EXCLUDE

    id = schemas.ExternalId(required=True)
    order_status = fields.Dict(required=True)


def parse_delivery(topic: str | None, body: bytes, location_id: str | None = None, *,
                   gross: bool = True) -> list[StoreEvent]:
    """The events of an authentic delivery; :class:`ValidationError` when the body does not fit its topic.

    An order body is never booked as it came (Basic credentials do not prove the body untampered):
    it only names the order, which the core fetches by id (``order_ref``), and the order's refunds
    when its status says goods or money went back (``refunds_ref``).
    """
    payload = _json_object(body)
    if topic is None:
        topic = _topic_of(payload)
        if topic is None:
            raise ValidationError({"_body": ["Neither the URL nor the body says which Zid event this is."]})
    if topic in ORDER_TOPICS:
        return _order_events(topic, payload)
    if topic in PRODUCT_TOPICS:
        return [StoreEvent("product", topic, product.external_id, product=product)
                for product in schemas.product_data(payload, location_id, gross=gross)]
    if topic == "product.delete":
        return [_ignored(topic, _id_of(payload), "a product deleted in Zid stays in the ERP")]
    return [_ignored(topic or "", _id_of(payload), "not an event Mizan subscribes")]


def delivery_key(topic: str | None, body: bytes) -> str | None:
    """SHA-256 of ``store_id:topic:id:order_status.code:updated_at`` (and the variants' ``updated_at`` of a
    product, the number of an order's history entries; for ``order.payment_status.update`` the payment
    status too): Zid sends no delivery id, so a
    re-delivery of one change has one key; ``None`` when the body names no id or ``updated_at`` (the core hashes
    the topic and the body)."""
    try:
        payload = schemas.unwrap(json.loads(body))
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict) or _scalar(payload.get("id")) == "" or _scalar(payload.get("updated_at")) == "":
        return None  # without its id and version two changes could not be told apart
    envelope = _loads_dict(body)
    topic = topic or _topic_of(envelope) or ""
    status = payload.get("order_status")
    parts = [
        _scalar(payload.get("store_id") or envelope.get("store_id")),
        topic,
        _scalar(payload.get("id")),
        _scalar(status.get("code")) if isinstance(status, dict) else "",
        _scalar(payload.get("payment_status")) if topic == "order.payment_status.update" else "",
        _version(payload),
    ]
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _version(payload: dict[str, Any]) -> str:
    """The body's ``updated_at``, with its variants' (a variant's change need not move its parent's) and the
    number of its history entries (a second return of an order need not move its ``updated_at``)."""
    variants = payload.get("variants") if isinstance(payload.get("variants"), list) else []
    stamps = [_scalar(v.get("updated_at")) for v in variants if isinstance(v, dict)]
    histories = payload.get("histories")
    events = [f"h{len(histories)}"] if isinstance(histories, list) else []
    return ",".join([_scalar(payload.get("updated_at")), *stamps, *events])


def _order_events(topic: str, payload: dict[str, Any]) -> list[StoreEvent]:
    order = schemas.unwrap(payload)
    order_id = _OrderRef().load(order if isinstance(order, dict) else {})["id"]
    events = [StoreEvent("order_ref", topic, order_id)]
    if schemas.order_refunded(order) or schemas.order_reversed(order):
        events.append(StoreEvent("refunds_ref", topic, order_id, reference=None))
    return events


def _topic_of(payload: dict[str, Any]) -> str | None:
    """The topic of a delivery posted without one in its URL: the envelope's ``event``, else its shape."""
    event = payload.get("event")
    if isinstance(event, str) and event:
        return event
    body = schemas.unwrap(payload)
    if not isinstance(body, dict):
        return None
    if "order_status" in body:
        return "order.status.update"
    if "structure" in body or ("price" in body and "name" in body and "id" in body):
        return "product.update"
    return None


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
    return StoreEvent("ignored", topic, external_id or topic or "zid", reason=f"Zid event {topic}: {why}")


def _id_of(payload: Any) -> str:
    body = schemas.unwrap(payload)
    return _scalar(body.get("id")) if isinstance(body, dict) else ""


def _scalar(value: Any) -> str:
    """A string or number as text; anything else (missing, a list, an object) as ``""``."""
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
