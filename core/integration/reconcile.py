"""Reconciliation (O12): pull what a store changed since its cursor and book it as its webhooks would."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from core.extensions import db
from core.integration.booking import BookingResult, book_order
from core.integration.connections import get_store, store_api
from core.integration.refunds import book_refund
from core.integration.synclog import log_event
from core.models import StoreConnection, StoreOrder, StoreRefund, SyncLogEntry
from core.models.base import utcnow
from core.platform.base import StoreAPI
from core.platform.data import OrderData
from core.services.errors import Invalid
from core.services.transaction import atomic

log = logging.getLogger(__name__)

#: Each run asks again for what changed this long before the cursor: store clocks drift, and an
#: order may be written while the previous run was listing.
SAFETY_OVERLAP = timedelta(minutes=10)
#: The job that reconciles one store, and the periodic one that queues it for every active store.
RECONCILE_JOB = "core.integration.reconcile.reconcile_job"
RECONCILE_ALL_JOB = "core.integration.reconcile.reconcile_active_stores"
#: Order states that a run does not book again while the store's status stays the same.
SETTLED_STATES = ("skipped", "needs_attention")
#: What :meth:`ReconcileReport.summary` writes, read back by :func:`findings`.
SUMMARY = re.compile(
    r"(?P<orders>\d+) orders changed since (?P<since>\S+) \((?P<pages>\d+) pages\): (?P<outcomes>.*?); "
    r"refunds: (?P<refunds>.*?)(?:; stopped: (?P<stopped>.*))?",
    re.DOTALL,
)


@dataclass
class ReconcileReport:
    """What one reconciliation run found and did."""

    store_id: int
    since: datetime
    #: The cursor after the run (``None``: not moved).
    through: datetime | None = None
    pages: int = 0
    orders: int = 0
    #: Order outcomes: ``booked``, ``already_booked``, ``unchanged`` (known, status as before),
    #: ``skipped`` (not bookable, e.g. not completed), ``needs_attention``.
    outcomes: dict[str, int] = field(default_factory=dict)
    #: Refund outcomes, same words.
    refunds: dict[str, int] = field(default_factory=dict)

    @property
    def booked(self) -> int:
        return self.outcomes.get("booked", 0)

    @property
    def already_booked(self) -> int:
        return self.outcomes.get("already_booked", 0)

    def summary(self) -> str:
        """One line for people: the sync log's reason and the CLI's output."""
        def words(counts: dict[str, int]) -> str:
            return ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in sorted(counts.items())) or "none"

        return (f"{self.orders} orders changed since {self.since.isoformat(timespec='seconds')} "
                f"({self.pages} pages): {words(self.outcomes)}; refunds: {words(self.refunds)}")


@dataclass(frozen=True)
class ReconcileFindings:
    """What a run's sync-log entry says it found: its report's counts, and why it stopped when it failed."""

    orders: int
    since: datetime
    pages: int
    outcomes: dict[str, int]
    refunds: dict[str, int]
    stopped: str | None = None


def findings(reason: str | None) -> ReconcileFindings | None:
    """The counts of a reconcile sync-log entry's ``reason`` (a :meth:`ReconcileReport.summary`), or
    ``None`` when it is not one."""
    found = SUMMARY.fullmatch(reason or "")
    if found is None:
        return None
    try:
        since = datetime.fromisoformat(found["since"])
    except ValueError:
        return None
    return ReconcileFindings(int(found["orders"]), since, int(found["pages"]), _counts(found["outcomes"]),
                             _counts(found["refunds"]), found["stopped"])


def _counts(words: str) -> dict[str, int]:
    """``{"already_booked": 2, ...}`` from ``"already booked 2, booked 1"`` (``"none"``: empty)."""
    counts = {}
    for part in words.split(", "):
        name, _space, count = part.rpartition(" ")
        if name and count.isdigit():
            counts[name.replace(" ", "_")] = int(count)
    return counts


def last_reconciliation(store_id: int) -> SyncLogEntry | None:
    """The sync-log entry of the store's latest reconciliation run (each run writes one)."""
    return db.session.execute(
        select(SyncLogEntry).where(SyncLogEntry.store_id == store_id, SyncLogEntry.kind == "reconcile")
        .order_by(SyncLogEntry.id.desc()).limit(1)
    ).scalar_one_or_none()


def queue_reconciliation(store_id: int) -> None:
    """Queue a reconciliation of the store, once: while one waits in the queue, queueing it again does nothing.
    Not retried: a failed run leaves a sync-log entry to retry, and the next periodic run goes on."""
    from core.jobs import enqueue

    enqueue(RECONCILE_JOB, store_id, retries=0, unique=f"reconcile-{store_id}")


def reconcile_store(store_id: int, since: datetime | None = None) -> ReconcileReport:
    """Book the orders (and their refunds) that store ``store_id`` changed since ``since``, by default
    since its cursor (first run: since its activation), less :data:`SAFETY_OVERLAP`.

    Each order goes through the webhook's own idempotent booking, so one booked before is "already
    booked". The cursor moves only over pages already handled, and never back; a ``since`` later than
    the cursor leaves it where it is (the time between was not looked at).
    """
    store = get_store(store_id)
    if store.status != "active":
        raise Invalid(f"Store {store.id} ({store.name}) is {store.status}, not active: nothing to reconcile.")
    api = store_api(store)
    if not callable(getattr(api, "list_orders", None)):
        raise Invalid(f"The {store.platform} plugin cannot list a store's orders, so it cannot reconcile.")
    started = utcnow()
    default = _default_since(store)
    start = _aware(since) if since is not None else default
    moves_cursor = start <= default + SAFETY_OVERLAP
    report = ReconcileReport(store.id, start)
    try:
        cursor: str | None = None
        while True:
            page = api.list_orders(start, cursor)
            for order in page.orders:
                _reconcile_order(store, order, api, report)
            report.pages += 1
            cursor = page.next_cursor
            if moves_cursor and (cursor is None or page.modified_through is not None):
                report.through = _advance(store.id, started if cursor is None else page.modified_through)
            if cursor is None:
                break
    except Exception as error:
        db.session.rollback()
        with atomic():
            log_event(store.id, "reconcile", "failed", reason=f"{report.summary()}; stopped: "
                      f"{type(error).__name__}: {error}"[:2000],
                      retry={"job": RECONCILE_JOB, "args": [store.id]})
        raise
    finally:
        close = getattr(api, "close", None)
        if callable(close):
            close()
    with atomic():
        log_event(store.id, "reconcile", "done", reason=report.summary())
    return report


def reconcile_job(store_id: int) -> str:
    """The background job: reconcile one store (a store no longer active is left alone)."""
    store = db.session.get(StoreConnection, store_id)
    if store is None or store.status != "active":
        return "not active"
    return reconcile_store(store_id).summary()


def reconcile_active_stores() -> int:
    """The periodic job: queue a reconciliation of every active store; how many were queued."""
    ids = list(db.session.execute(
        select(StoreConnection.id).where(StoreConnection.status == "active").order_by(StoreConnection.id)
    ).scalars())
    db.session.commit()
    for store_id in ids:
        queue_reconciliation(store_id)
    return len(ids)


def schedule_reconciliation(app: Any) -> None:
    """Run :func:`reconcile_active_stores` every ``RECONCILE_INTERVAL`` seconds (0 turns it off)."""
    from core.jobs import every

    interval = float(app.config.get("RECONCILE_INTERVAL") or 0)
    if interval > 0:
        every(app, interval, RECONCILE_ALL_JOB)


def _reconcile_order(store: StoreConnection, order: OrderData, api: StoreAPI, report: ReconcileReport) -> None:
    report.orders += 1
    record = db.session.execute(
        select(StoreOrder).where(StoreOrder.store_id == store.id, StoreOrder.external_id == order.external_id)
    ).scalar_one_or_none()
    if record is not None and record.invoice_id is not None and not order.cancelled:
        outcome = "already_booked"
    elif (record is not None and record.invoice_id is None and record.store_status == order.status
          and record.state in SETTLED_STATES):
        outcome = "unchanged"
    else:
        outcome = _count(book_order(store, order, api=api))
    report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    if outcome in ("booked", "already_booked") or (record is not None and record.invoice_id is not None):
        _reconcile_refunds(store, order.external_id, api, report)


def _reconcile_refunds(store: StoreConnection, order_external_id: str, api: StoreAPI,
                       report: ReconcileReport) -> None:
    list_refunds = getattr(api, "list_refunds", None)
    if not callable(list_refunds):
        return
    for refund in list_refunds(order_external_id):
        booked = db.session.execute(
            select(StoreRefund.return_invoice_id).where(StoreRefund.store_id == store.id,
                                                        StoreRefund.external_id == refund.external_id)
        ).scalar_one_or_none()
        outcome = "already_booked" if booked is not None else _count(book_refund(store, refund))
        report.refunds[outcome] = report.refunds.get(outcome, 0) + 1


def _count(result: BookingResult) -> str:
    return result.outcome if result.outcome in ("booked", "already_booked", "needs_attention") else "skipped"


def _default_since(store: StoreConnection) -> datetime:
    anchor = store.reconciled_through or store.activated_at or store.created_at
    return _aware(anchor) - SAFETY_OVERLAP


def _advance(store_id: int, moment: datetime | None) -> datetime | None:
    """Move the cursor forward to ``moment`` (never back); the cursor now."""
    with atomic():
        store = db.session.get(StoreConnection, store_id)
        if moment is not None:
            moment = _aware(moment)
            if store.reconciled_through is None or _aware(store.reconciled_through) < moment:
                store.reconciled_through = moment
        through = store.reconciled_through
    return None if through is None else _aware(through)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
