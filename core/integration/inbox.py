"""Receiving a webhook: verify, store durably with a unique key, enqueue — nothing else."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.connections import store_for_key
from core.jobs import enqueue
from core.models import StoreConnection, WebhookDelivery
from core.models.base import utcnow
from core.plugins import registry
from core.services.transaction import atomic

#: Headers kept with a delivery (the rest, e.g. cookies, are not needed to process it).
KEPT_HEADER_PREFIXES = ("x-", "content-type", "authorization")


@dataclass(frozen=True)
class Receipt:
    """The answer the endpoint gives: an HTTP status and a short message."""

    status: int
    message: str
    delivery_id: int | None = None


def receive(key: str, headers: dict[str, str], body: bytes) -> Receipt:
    """Handle one delivery addressed to the store with connection key ``key``."""
    store = store_for_key(key)
    if store is None or store.status == "disabled":
        return Receipt(404, "unknown store")
    plugins = registry()
    if plugins.platform(store.platform) is None:
        return Receipt(404, f"the {store.platform} plugin is not enabled")
    if not plugins.hook.verify_webhook(store=store, headers=headers, body=body):
        return Receipt(401, "signature does not match")
    try:
        json.loads(body)
    except ValueError:
        return Receipt(400, "body is not JSON")
    delivery_key = plugins.hook.webhook_delivery_key(store=store, headers=headers, body=body)
    kept = {k.lower(): v for k, v in headers.items() if k.lower().startswith(KEPT_HEADER_PREFIXES)}
    store_id = store.id
    try:
        with atomic():
            delivery = WebhookDelivery(store_id=store_id, delivery_key=delivery_key, headers=kept, body=body)
            db.session.add(delivery)
            db.session.flush()
            delivery_id = delivery.id
            db.session.execute(
                update(StoreConnection).where(StoreConnection.id == store_id).values(last_webhook_at=utcnow())
            )
    except IntegrityError:
        return Receipt(200, "duplicate delivery; already received")
    enqueue("core.integration.tasks.process_delivery", delivery_id)
    return Receipt(200, "received", delivery_id)


def unprocessed_deliveries(older_than_seconds: int = 60) -> list[int]:
    """Deliveries still ``received`` after a while: their job was lost or its worker died."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return list(
        db.session.execute(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "received", WebhookDelivery.received_at < cutoff)
            .order_by(WebhookDelivery.id)
        ).scalars()
    )
