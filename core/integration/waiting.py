"""Deliveries kept waiting for their store's activation, queued again once it is active (design point 3)."""
from __future__ import annotations

import logging

from sqlalchemy import select, update

from core.extensions import db
from core.jobs import enqueue
from core.models import WebhookDelivery
from core.services.transaction import atomic

log = logging.getLogger(__name__)

PROCESS_JOB = "core.integration.tasks.process_delivery"


def delivery_job_id(delivery_id: int) -> str:
    """The name of a delivery's processing job: a delivery waits in the queue at most once."""
    return f"mizan-delivery-{delivery_id}"


def release_waiting(store_id: int) -> int:
    """Queue the store's waiting deliveries again (in the order received); how many there were.

    Call it after the activation has committed: each is parsed and acted on as if just received
    (O1 then decides about orders created before the activation).
    """
    with atomic():
        ids = list(db.session.execute(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.store_id == store_id, WebhookDelivery.status == "waiting")
            .order_by(WebhookDelivery.id)
        ).scalars())
        if ids:
            db.session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "waiting")
                .values(status="received", last_error=None)
            )
    for delivery_id in ids:
        try:
            enqueue(PROCESS_JOB, delivery_id, unique=delivery_job_id(delivery_id))
        except Exception:  # e.g. Redis down: the delivery is "received", so the periodic recovery queues it
            log.exception("waiting delivery %s released but not queued; the recovery will queue it", delivery_id)
    return len(ids)
