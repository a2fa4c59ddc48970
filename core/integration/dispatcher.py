"""The inbox dispatcher: hands stored deliveries to the Redis workers in batches, off the request path."""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import Update, select, update

from core.extensions import db
from core.integration.waiting import PROCESS_JOB, delivery_job_id
from core.jobs import dispatcher, enqueue_batch
from core.models import WebhookDelivery
from core.models.base import utcnow

log = logging.getLogger(__name__)

#: Deliveries claimed and queued by one round (one UPDATE and one Redis pipeline).
BATCH = 500
DISPATCH_JOB = "core.integration.dispatcher.dispatch_inbox"


def _claim_statement(limit: int) -> Update:
    """``UPDATE ... SET queued_at = now WHERE id IN (the oldest undispatched, skipping rows another
    worker is claiming) AND still undispatched RETURNING id``."""
    undispatched = (WebhookDelivery.status == "received", WebhookDelivery.queued_at.is_(None))
    batch = (
        select(WebhookDelivery.id).where(*undispatched).order_by(WebhookDelivery.id).limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(WebhookDelivery).where(WebhookDelivery.id.in_(batch.scalar_subquery()), *undispatched)
        .values(queued_at=utcnow()).returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )


def dispatch_inbox(limit: int = BATCH) -> int:
    """Claim up to ``limit`` stored deliveries not yet queued and queue their jobs; how many.

    The claim commits before the queue is told, so two workers never queue the same delivery in
    the same round; if the queue cannot be reached the claim is undone (the next round, or the
    recovery after ``JOB_RECOVER_AFTER``, queues them). Processing is idempotent and job ids are
    unique per delivery, so a delivery queued twice (a recovery racing a round) is booked once.
    """
    ids = sorted(db.session.execute(_claim_statement(limit)).scalars())
    db.session.commit()
    if not ids:
        return 0
    try:
        enqueue_batch(PROCESS_JOB, [((delivery_id,), delivery_job_id(delivery_id)) for delivery_id in ids])
    except Exception:
        db.session.rollback()
        db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "received")
            .values(queued_at=None).execution_options(synchronize_session=False)
        )
        db.session.commit()
        raise
    return len(ids)


def init_app(app: Flask) -> None:
    """Run the dispatcher in the app's ``flask jobs worker`` processes (Redis mode)."""
    dispatcher(app, DISPATCH_JOB)
