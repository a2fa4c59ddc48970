"""Salla webhooks: signature check, deduplication key, and parsing into a StoreEvent."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from core.platform.base import signatures_match
from core.platform.data import StoreEvent
from core.platform.webhooks import OtherStore
from plugins.salla import schemas

SIGNATURE_HEADER = "X-Salla-Signature"
#: ``Signature`` (the default: ``X-Salla-Signature``) or ``Token`` (``Authorization: <the webhook secret>``).
STRATEGY_HEADER = "X-Salla-Security-Strategy"
#: Events whose ``data`` holds the store's access and refresh tokens.
TOKEN_EVENTS = frozenset({"app.store.authorize"})
ORDER_EVENTS = {"order.created", "order.updated", "order.status.updated", "order.cancelled"}
PRODUCT_EVENTS = {"product.created", "product.updated"}


class _Envelope(Schema):
    """``{event, merchant, created_at, data}``, the same for every Salla event."""

    class Meta:
        unknown = EXCLUDE

    event = fields.String(required=True, validate=validate.Length(min=1))
    merchant = schemas.ExternalId(required=True)
    created_at = fields.String(load_default=None, allow_none=True)
    data = fields.Raw(required=True, allow_none=False)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify_signature(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """``X-Salla-Signature`` must be the hex HMAC-SHA256 of the raw body under the webhook secret."""
    if not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    received = header(headers, SIGNATURE_HEADER)
    return signatures_match(expected, received.lower() if received else None)


def verify_token(secret: str | None, headers: Mapping[str, str]) -> bool:
    """Salla's ``Token`` strategy: ``Authorization`` is the webhook secret, bare or after ``Bearer``
    (compared in constant time, both forms always)."""
    if not secret:
        return False
    sent = (header(headers, "Authorization") or "").strip()
    scheme, _, rest = sent.partition(" ")
    bare = signatures_match(secret, sent)
    bearer = scheme.lower() == "bearer" and signatures_match(secret, rest)
    return bare or bearer


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the delivery is authentic under the security strategy it names (``Signature`` when none)."""
    if (header(headers, STRATEGY_HEADER) or "").strip().lower() == "token":
        return verify_token(secret, headers)
    return verify_signature(secret, headers, body)


def _envelope(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or ``None`` when it cannot be read as one (never raises)."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return envelope if isinstance(envelope, dict) else None


def carries_tokens(body: bytes) -> bool:
    """Whether the delivery holds tokens (``app.store.authorize``); a body that cannot be read counts as one."""
    envelope = _envelope(body)
    return envelope is None or _scalar(envelope.get("event")) in TOKEN_EVENTS


def _scalar(value: Any) -> str:
    """A string or number as text; anything else (missing, a list, an object) as ``""``."""
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def delivery_key(body: bytes) -> str:
    """SHA-256 of ``merchant:event:`` and the body's hash: Salla sends no delivery id, so a
    re-delivery (the same bytes) gets the same key and any change gets another."""
    envelope = _envelope(body) or {}
    prefix = f"{_scalar(envelope.get('merchant'))}:{_scalar(envelope.get('event'))}:"
    return hashlib.sha256(prefix.encode() + hashlib.sha256(body).hexdigest().encode()).hexdigest()


def parse_delivery(body: bytes, store_ref: str | None = None) -> StoreEvent:
    """Parse an authentic delivery; raises :class:`marshmallow.ValidationError` when it does not fit.

    ``store_ref`` is the merchant id the store is connected to: an event of another merchant
    (Salla's webhook secret is the app's, shared by every store) raises :class:`OtherStore`.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValidationError({"_body": ["The body is not JSON."]}) from None
    if not isinstance(payload, dict):
        raise ValidationError({"_body": ["The body is not a JSON object."]})
    envelope = _Envelope().load(payload)
    event, merchant, data = envelope["event"], envelope["merchant"], envelope["data"]
    if store_ref and merchant != str(store_ref):
        raise OtherStore(f"Salla event {event} for merchant {merchant}, not this store's {store_ref}")
    try:
        return _event(event, merchant, data, _sent_at(envelope["created_at"]))
    except ValidationError as error:
        raise ValidationError({"data": error.messages}) from None


def _event(event: str, merchant: str, data: Any, sent_at: datetime | None) -> StoreEvent:
    if event == "app.store.authorize":
        credentials = schemas.authorize_credentials(data, merchant)
        return StoreEvent("authorize", event, merchant, credentials=credentials)
    if event in ORDER_EVENTS:
        model = data.get("order") if isinstance(data, dict) and isinstance(data.get("order"), dict) else data
        order = schemas.order_data(model, cancelled=event == "order.cancelled", sent_at=sent_at)
        return StoreEvent("order", event, order.external_id, order=order)
    if event == "order.refunded":
        refund = schemas.refund_data(data, sent_at)
        return StoreEvent("refund", event, refund.external_id, refund=refund)
    if event in PRODUCT_EVENTS:
        product = schemas.product_data(data)
        return StoreEvent("product", event, product.external_id, product=product)
    if event == "product.price.updated":
        return _ignored(event, _id_of(data), "carries prices only, no name; product.updated has the whole product")
    return _ignored(event, _id_of(data), "not an event Mizan acts on")


def _ignored(event: str, external_id: str, why: str) -> StoreEvent:
    return StoreEvent("ignored", event, external_id, reason=f"Salla event {event}: {why}")


def _id_of(data: Any) -> str:
    return str(data.get("id", "")) if isinstance(data, dict) else ""


def _sent_at(created_at: str | None) -> datetime | None:
    """The envelope's ``created_at`` (``Sun Jun 26 2022 12:21:48 GMT+0300``), when readable."""
    try:
        return datetime.strptime(created_at or "", "%a %b %d %Y %H:%M:%S GMT%z")
    except ValueError:
        return None
