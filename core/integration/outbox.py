"""Dispatching the outbox: one job per (event, subscribing plugin), each plugin's hook run once per event."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, g
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.connections import get_store
from core.integration.stock_push import on_hand
from core.integration.synclog import log_event
from core.jobs import enqueue
from core.models import (
    OutboxDelivery,
    OutboxEvent,
    ReturnInvoice,
    SalesInvoice,
    StoreOrder,
    StoreRefund,
)
from core.models.base import utcnow
from core.platform.schemas import OrderSchema, RefundSchema
from core.plugins import PluginRegistry, registry
from core.services.domain_events import (
    DomainEvent,
    OrderBooked,
    ProductCreated,
    RefundBooked,
    StockChanged,
    load,
    on_commit,
)
from core.services.transaction import atomic

log = logging.getLogger(__name__)

#: The event hook each domain event calls.
HOOKS = {
    StockChanged.kind: "on_stock_changed",
    ProductCreated.kind: "on_product_created",
    OrderBooked.kind: "on_order_completed",
    RefundBooked.kind: "on_refund_booked",
}
DELIVER_JOB = "core.integration.outbox.deliver"
DISPATCH_JOB = "core.integration.outbox.dispatch_pending"
#: A claim older than this is taken again: its dispatcher died between the claim and the enqueue.
CLAIM_LEASE = timedelta(minutes=2)
#: Rows read per round.
ROUND = 100
_DISPATCHING = "mizan_outbox_dispatching"


def init_app(app: Flask) -> None:
    """Dispatch after every commit that recorded events (the ledger calls back; it never imports this)."""
    on_commit(app, dispatch_pending)


def dispatch_pending() -> int:
    """Queue the jobs of every event waiting in the outbox; returns how many events were dispatched.

    Safe to run in any number of processes at once: each event is claimed by one conditional
    UPDATE. When a job cannot be queued (Redis down) the event is released and stays pending,
    and the round stops; nothing is raised. Runs after each commit that recorded events, from
    ``flask jobs recover``, as a periodic job and at the start of the background thread.
    """
    if g.get(_DISPATCHING):  # a commit made while dispatching: the running round picks its rows up
        return 0
    setattr(g, _DISPATCHING, True)
    try:
        dispatched = 0
        while True:
            waiting = _waiting()
            if not waiting:
                return dispatched
            for event_id in waiting:
                if not _claim(event_id):
                    continue
                if not _enqueue_jobs(event_id):
                    return dispatched
                dispatched += 1
    finally:
        g.pop(_DISPATCHING, None)


def pending_count() -> int:
    """Events not dispatched yet."""
    rows = db.session.execute(select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None))).all()
    db.session.commit()
    return len(rows)


def _waiting() -> list[int]:
    stale = utcnow() - CLAIM_LEASE
    ids = list(db.session.execute(
        select(OutboxEvent.id)
        .where(OutboxEvent.dispatched_at.is_(None))
        .where(OutboxEvent.claimed_at.is_(None) | (OutboxEvent.claimed_at < stale))
        .order_by(OutboxEvent.id)
        .limit(ROUND)
    ).scalars())
    db.session.commit()  # end the read transaction
    return ids


def _claim(event_id: int) -> bool:
    """Take the event for this dispatcher; ``False`` when another took (or dispatched) it first."""
    now = utcnow()
    with atomic():
        claimed = db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id, OutboxEvent.dispatched_at.is_(None))
            .where(OutboxEvent.claimed_at.is_(None) | (OutboxEvent.claimed_at < now - CLAIM_LEASE))
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    return claimed == 1


def _enqueue_jobs(event_id: int) -> bool:
    """Queue one job per enabled plugin implementing the event's hook; mark the event dispatched."""
    row = db.session.get(OutboxEvent, event_id)
    hook = HOOKS.get(row.kind)
    names = registry().implementers(hook) if hook else []
    db.session.commit()
    try:
        for name in names:
            enqueue(DELIVER_JOB, event_id, name, unique=f"outbox-{event_id}-{name}")
    except Exception as error:
        db.session.rollback()
        log.warning("outbox event %s could not be queued (%s: %s); it stays pending", event_id,
                    type(error).__name__, error)
        with atomic():
            db.session.execute(
                update(OutboxEvent).where(OutboxEvent.id == event_id)
                .values(claimed_at=None, attempts=OutboxEvent.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        return False
    with atomic():
        db.session.execute(
            update(OutboxEvent).where(OutboxEvent.id == event_id).values(dispatched_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def deliver(event_id: int, plugin_name: str) -> str:
    """The job: run one plugin's hook for one outbox event, once. A failure is logged with a
    retry and re-raised (the queue retries it); other plugins have jobs of their own."""
    plugins = registry()
    if plugin_name not in plugins.enabled_names():
        return "plugin not enabled"
    row = db.session.get(OutboxEvent, event_id)
    if row is None:
        return "no such event"
    if delivered(event_id, plugin_name):
        db.session.commit()
        return "already delivered"
    event = load(row.kind, row.payload)
    hook = HOOKS[row.kind]
    db.session.commit()
    try:
        _call(plugins, plugin_name, event)
    except Exception as error:
        db.session.rollback()
        log.exception("plugin %s failed in %s", plugin_name, hook)
        with atomic():
            log_event(getattr(event, "store_id", None), "event", "failed", direction="outbound",
                      reason=f"plugin {plugin_name} failed in {hook}: {type(error).__name__}: {error}",
                      retry={"job": DELIVER_JOB, "args": [event_id, plugin_name]})
        raise
    try:
        with atomic():
            db.session.add(OutboxDelivery(event_id=event_id, plugin=plugin_name, delivered_at=utcnow()))
    except IntegrityError:  # a concurrent copy of this job finished first
        return "already delivered"
    return "delivered"


def delivered(event_id: int, plugin_name: str) -> bool:
    """Whether ``plugin_name`` has run its hook for the event."""
    return db.session.execute(
        select(OutboxDelivery.id).where(OutboxDelivery.event_id == event_id, OutboxDelivery.plugin == plugin_name)
    ).first() is not None


def _call(plugins: PluginRegistry, plugin_name: str, event: DomainEvent) -> None:
    if isinstance(event, StockChanged):
        for product_id, warehouse_id in event.pairs:
            plugins.call_one(plugin_name, "on_stock_changed", product_id=product_id, warehouse_id=warehouse_id,
                             quantity=on_hand(product_id, warehouse_id))
    elif isinstance(event, ProductCreated):
        plugins.call_one(plugin_name, "on_product_created", product_id=event.product_id)
    elif isinstance(event, OrderBooked):
        plugins.call_one(plugin_name, "on_order_completed", **_order_booked(event))
    elif isinstance(event, RefundBooked):
        plugins.call_one(plugin_name, "on_refund_booked", **_refund_booked(event))


def _order_booked(event: OrderBooked) -> dict[str, Any]:
    store = get_store(event.store_id)
    record = db.session.execute(
        select(StoreOrder).where(StoreOrder.store_id == store.id, StoreOrder.external_id == event.order_external_id)
    ).scalar_one()
    return {"store": store, "order": OrderSchema().load(record.data),
            "invoice": db.session.get(SalesInvoice, event.invoice_id)}


def _refund_booked(event: RefundBooked) -> dict[str, Any]:
    store = get_store(event.store_id)
    record = db.session.execute(
        select(StoreRefund).where(StoreRefund.store_id == store.id,
                                  StoreRefund.external_id == event.refund_external_id)
    ).scalar_one()
    return {"store": store, "refund": RefundSchema().load(record.data),
            "return_invoice": db.session.get(ReturnInvoice, event.return_invoice_id)}
