"""Receiving a webhook: verify, store durably with a unique key, enqueue — nothing else."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.connections import store_for_key
from core.jobs import enqueue
from core.models import StoreConnection, WebhookDelivery
from core.models.base import utcnow
from core.plugins import registry
from core.services.transaction import atomic

log = logging.getLogger(__name__)

PROCESS_JOB = "core.integration.tasks.process_delivery"

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
        _requeue_if_stale(store_id, delivery_key)
        return Receipt(200, "duplicate delivery; already received")
    if not _queue(delivery_id):
        return Receipt(200, "received; queued later", delivery_id)
    return Receipt(200, "received", delivery_id)


def _queue(delivery_id: int) -> bool:
    """Queue the delivery's job; False when the queue is unreachable (the periodic recovery queues it)."""
    try:
        enqueue(PROCESS_JOB, delivery_id)
    except Exception:  # e.g. Redis down: the delivery is stored, so the answer is still 200
        log.exception("delivery %s stored but not queued; the recovery will queue it", delivery_id)
        return False
    return True


def _requeue_if_stale(store_id: int, delivery_key: str) -> None:
    """A re-delivery of a delivery still unprocessed after JOB_RECOVER_AFTER seconds queues it again."""
    cutoff = utcnow() - timedelta(seconds=float(current_app.config["JOB_RECOVER_AFTER"]))
    stale = db.session.execute(
        select(WebhookDelivery.id).where(
            WebhookDelivery.store_id == store_id, WebhookDelivery.delivery_key == delivery_key,
            WebhookDelivery.status == "received", WebhookDelivery.received_at <= cutoff,
        )
    ).scalar_one_or_none()
    db.session.commit()
    if stale is not None:
        _queue(stale)


def unprocessed_deliveries(older_than_seconds: float = 60) -> list[int]:
    """Deliveries still ``received`` after a while: their job was lost or its worker died."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return list(
        db.session.execute(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "received", WebhookDelivery.received_at < cutoff)
            .order_by(WebhookDelivery.id)
        ).scalars()
    )
