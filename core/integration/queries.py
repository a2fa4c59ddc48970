"""Read-only queries over the integration tables, for the API and the CLI (nothing here writes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, or_, select

from core.extensions import db
from core.models import (
    PaymentVoucher,
    ReturnInvoice,
    SalesInvoice,
    StoreConnection,
    StoreOrder,
    StoreRefund,
    SyncLogEntry,
    WebhookDelivery,
)
from core.models.base import utcnow

#: How many stock pushes an order's story lists at most.
STORY_PUSHES = 20


def stores_statement() -> Select[Any]:
    return select(StoreConnection).order_by(StoreConnection.id)


def sync_log_statement(
    *,
    store_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    direction: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select[Any]:
    """Sync-log entries, newest first; ``date_to`` includes the whole day (UTC)."""
    statement = select(SyncLogEntry).order_by(SyncLogEntry.created_at.desc(), SyncLogEntry.id.desc())
    for column, value in (
        (SyncLogEntry.store_id, store_id),
        (SyncLogEntry.status, status),
        (SyncLogEntry.kind, kind),
        (SyncLogEntry.direction, direction),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if date_from is not None:
        statement = statement.where(SyncLogEntry.created_at >= _start_of(date_from))
    if date_to is not None:
        statement = statement.where(SyncLogEntry.created_at < _start_of(date_to + timedelta(days=1)))
    return statement


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=utcnow().tzinfo)


def store_orders_statement(
    *, store_id: int | None = None, state: str | None = None, number: str | None = None
) -> Select[Any]:
    """Store orders, most recently changed first."""
    statement = select(StoreOrder).order_by(StoreOrder.updated_at.desc(), StoreOrder.id.desc())
    if store_id is not None:
        statement = statement.where(StoreOrder.store_id == store_id)
    if state is not None:
        statement = statement.where(StoreOrder.state == state)
    if number is not None:
        statement = statement.where(StoreOrder.number == number)
    return statement


def waiting_refunds(limit: int = 200) -> list[tuple[StoreRefund, StoreOrder | None]]:
    """Refunds waiting for their order to be booked (O11), oldest first, each with its order when known."""
    rows = db.session.execute(
        select(StoreRefund, StoreOrder)
        .outerjoin(StoreOrder, (StoreOrder.store_id == StoreRefund.store_id)
                   & (StoreOrder.external_id == StoreRefund.order_external_id))
        .where(StoreRefund.state == "waiting")
        .order_by(StoreRefund.updated_at, StoreRefund.id)
        .limit(limit)
    ).all()
    return [(refund, order) for refund, order in rows]


def deliveries_statement(*, store_id: int | None = None, status: str | None = None) -> Select[Any]:
    """Webhook deliveries, newest first."""
    statement = select(WebhookDelivery).order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
    if store_id is not None:
        statement = statement.where(WebhookDelivery.store_id == store_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return statement


@dataclass
class OrderStory:
    """Everything that happened to one store order (V2)."""

    order: StoreOrder
    log: list[SyncLogEntry] = field(default_factory=list)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    invoice: SalesInvoice | None = None
    payments: list[PaymentVoucher] = field(default_factory=list)
    refunds: list[StoreRefund] = field(default_factory=list)
    return_invoices: dict[int, ReturnInvoice] = field(default_factory=dict)
    stock_pushes: list[SyncLogEntry] = field(default_factory=list)


def order_story(order: StoreOrder) -> OrderStory:
    """The order row, its log entries and deliveries, its invoice and payments, returns and pushes."""
    story = OrderStory(order)
    story.refunds = list(
        db.session.execute(
            select(StoreRefund)
            .where(StoreRefund.store_id == order.store_id, StoreRefund.order_external_id == order.external_id)
            .order_by(StoreRefund.id)
        ).scalars()
    )
    external_ids = {order.external_id, order.number, *(refund.external_id for refund in story.refunds)}
    story.log = list(
        db.session.execute(
            select(SyncLogEntry)
            .where(SyncLogEntry.store_id == order.store_id, SyncLogEntry.external_id.in_(external_ids))
            .order_by(SyncLogEntry.created_at, SyncLogEntry.id)
        ).scalars()
    )
    delivery_ids = sorted({entry.delivery_id for entry in story.log if entry.delivery_id is not None})
    if delivery_ids:
        story.deliveries = list(
            db.session.execute(
                select(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids)).order_by(WebhookDelivery.id)
            ).scalars()
        )
    return_ids = [refund.return_invoice_id for refund in story.refunds if refund.return_invoice_id is not None]
    if return_ids:
        story.return_invoices = {
            row.id: row
            for row in db.session.execute(select(ReturnInvoice).where(ReturnInvoice.id.in_(return_ids))).scalars()
        }
    if order.invoice_id is not None:
        story.invoice = db.session.get(SalesInvoice, order.invoice_id)
        story.payments = list(
            db.session.execute(
                select(PaymentVoucher)
                .where(or_(PaymentVoucher.invoice_id == order.invoice_id,
                           PaymentVoucher.return_invoice_id.in_(return_ids or [-1])))
                .order_by(PaymentVoucher.id)
            ).scalars()
        )
        story.stock_pushes = _pushes_after(order, story.invoice)
    return story


def _pushes_after(order: StoreOrder, invoice: SalesInvoice | None) -> list[SyncLogEntry]:
    """Stock pushes to the order's store logged after it was booked that name one of its SKUs."""
    if invoice is None:
        return []
    skus = {str(line.get("sku")) for line in (order.data or {}).get("lines", []) if line.get("sku")}
    entries = db.session.execute(
        select(SyncLogEntry)
        .where(
            SyncLogEntry.store_id == order.store_id,
            SyncLogEntry.kind == "stock",
            SyncLogEntry.created_at >= invoice.created_at,
        )
        .order_by(SyncLogEntry.created_at, SyncLogEntry.id)
    ).scalars()
    found = []
    for entry in entries:
        named = {part.partition("=")[0].strip() for part in (entry.reason or "").split(",")}
        if entry.status != "done" or named & skus:
            found.append(entry)
        if len(found) >= STORY_PUSHES:
            break
    return found
