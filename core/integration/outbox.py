"""Dispatching the outbox: one job per (event, subscribing plugin), each plugin's hook run once per event."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, g
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.connections import get_store
from core.integration.stock_push import on_hand
from core.integration.synclog import log_event
from core.jobs import dispatcher, enqueue, in_worker
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
from core.services.rows import execute
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
#: Set when events were committed during a round: the round reads the outbox once more.
_AGAIN = "mizan_outbox_again"


def init_app(app: Flask) -> None:
    """Dispatch after every commit that recorded events (the ledger calls back; it never imports this),
    and in every ``flask jobs worker`` beside its jobs."""
    on_commit(app, _after_commit)
    dispatcher(app, DISPATCH_JOB)


def _after_commit() -> int:
    """Dispatch the events a commit recorded at once, except in a worker's job: there the worker's
    dispatcher takes them in batches, about every half second and whenever its queue runs empty,
    which saves a booking two transactions."""
    if in_worker():
        return 0
    return dispatch_pending()


def dispatch_pending() -> int:
    """Queue the jobs of every event waiting in the outbox; returns how many events were dispatched.

    Safe to run in any number of processes at once: a round claims the next waiting events with one
    conditional ``UPDATE … RETURNING``, so each event is taken by one dispatcher. When a job cannot
    be queued (Redis down) the event is released and stays pending, and the round stops; nothing is
    raised. Runs after each commit that recorded events, from ``flask jobs recover``, as a periodic
    job and at the start of the background thread. A round costs two short transactions however many
    events it dispatches (claim, mark dispatched).
    """
    if g.get(_DISPATCHING):  # a commit made while dispatching: the running round picks its rows up
        setattr(g, _AGAIN, True)
        return 0
    setattr(g, _DISPATCHING, True)
    try:
        dispatched = 0
        while True:
            g.pop(_AGAIN, None)
            claimed = _claim_next()
            if not claimed:
                return dispatched
            done, complete = _dispatch_round(claimed)
            dispatched += done
            if not complete or (len(claimed) < ROUND and not g.get(_AGAIN)):
                return dispatched
    finally:
        g.pop(_DISPATCHING, None)
        g.pop(_AGAIN, None)


def _dispatch_round(claimed: dict[int, str]) -> tuple[int, bool]:
    """Queue the jobs of the ``claimed`` events (id -> kind, in order), mark them dispatched; how many
    were, and whether every job could be queued."""
    plugins = registry()
    names_of: dict[str, list[str]] = {}
    queued: list[int] = []
    order = list(claimed)
    try:
        for event_id in order:
            kind = claimed[event_id]
            if kind not in names_of:
                hook = HOOKS.get(kind)
                names_of[kind] = plugins.implementers(hook) if hook else []
            db.session.commit()  # no transaction stays open while jobs are queued (they may run inline)
            for name in names_of[kind]:
                enqueue(DELIVER_JOB, event_id, name, unique=f"outbox-{event_id}-{name}")
            queued.append(event_id)
    except Exception as error:
        db.session.rollback()
        failed = order[len(queued)]
        log.warning("outbox event %s could not be queued (%s: %s); it stays pending", failed,
                    type(error).__name__, error)
        with atomic():
            _mark_dispatched(queued)
            db.session.execute(
                update(OutboxEvent).where(OutboxEvent.id == failed)
                .values(claimed_at=None, attempts=OutboxEvent.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            released = order[len(queued) + 1:]
            if released:
                db.session.execute(
                    update(OutboxEvent).where(OutboxEvent.id.in_(released)).values(claimed_at=None)
                    .execution_options(synchronize_session=False)
                )
        return len(queued), False
    if queued:
        with atomic():
            _mark_dispatched(queued)
    return len(queued), True


def _mark_dispatched(event_ids: list[int]) -> None:
    if event_ids:
        execute(_MARK_DISPATCHED, {"ids": event_ids, "at": utcnow()})


_EVENTS = OutboxEvent.__table__.c
#: Not dispatched, and not claimed by a live dispatcher (a claim older than ``:stale`` has lapsed).
_WAITING = _EVENTS.dispatched_at.is_(None) & (
    _EVENTS.claimed_at.is_(None) | (_EVENTS.claimed_at < bindparam("stale"))
)
#: The next round of waiting events, oldest first, skipping those another dispatcher is claiming.
_NEXT_ROUND = (
    select(_EVENTS.id).where(_WAITING).order_by(_EVENTS.id).limit(ROUND).with_for_update(skip_locked=True)
).cte("next_round")
#: Claim them in one statement, driven by the round (a primary-key lookup per event): as
#: ``WHERE id IN (subquery)`` PostgreSQL may plan a nested loop over every waiting event.
_CLAIM_NEXT = (
    update(OutboxEvent.__table__)
    .where(_EVENTS.id == _NEXT_ROUND.c.id)
    .values(claimed_at=bindparam("now"))
    .returning(_EVENTS.id, _EVENTS.kind)
)
_CLAIM_THESE = (
    update(OutboxEvent.__table__)
    .where(_EVENTS.id.in_(bindparam("ids", expanding=True)), _WAITING)
    .values(claimed_at=bindparam("now"))
    .returning(_EVENTS.id)
)
_MARK_DISPATCHED = (
    update(OutboxEvent.__table__).where(_EVENTS.id.in_(bindparam("ids", expanding=True)))
    .values(dispatched_at=bindparam("at"))
)


def _claim_next() -> dict[int, str]:
    """Claim the next round of waiting events: id -> kind, in id order."""
    now = utcnow()
    with atomic():
        rows = execute(_CLAIM_NEXT, {"now": now, "stale": now - CLAIM_LEASE}).all()
    return {event_id: kind for event_id, kind in sorted(rows)}


def _claim_all(event_ids: list[int]) -> list[int]:
    """Take the events for this dispatcher with one conditional UPDATE; the ids taken, in order
    (those another dispatcher took or dispatched first are left out)."""
    now = utcnow()
    with atomic():
        claimed = set(execute(_CLAIM_THESE, {"ids": event_ids, "now": now, "stale": now - CLAIM_LEASE}).scalars())
    return [event_id for event_id in event_ids if event_id in claimed]


def pending_count() -> int:
    """Events not dispatched yet."""
    rows = db.session.execute(select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None))).all()
    db.session.commit()
    return len(rows)


def _claim(event_id: int) -> bool:
    """Take one event for this dispatcher; ``False`` when another took (or dispatched) it first."""
    return _claim_all([event_id]) == [event_id]


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
