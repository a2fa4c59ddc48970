"""The dashboard: today's orders and sales per store, what needs attention, failed pushes, backlog."""
from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, render_template
from sqlalchemy import func, select

from core.extensions import db
from core.models import (
    PendingStockPush,
    SalesInvoice,
    StoreConnection,
    StoreOrder,
    SyncLogEntry,
    WebhookDelivery,
)
from core.web.auth import role_required

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/")
@role_required("viewer")
def index():  # noqa: ANN201
    start = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
    today = dict(
        db.session.execute(
            select(StoreOrder.store_id, func.count(StoreOrder.id))
            .where(StoreOrder.state == "booked", StoreOrder.updated_at >= start)
            .group_by(StoreOrder.store_id)
        ).all()
    )
    sales = dict(
        db.session.execute(
            select(StoreOrder.store_id, func.coalesce(func.sum(SalesInvoice.total), 0))
            .join(SalesInvoice, SalesInvoice.id == StoreOrder.invoice_id)
            .where(SalesInvoice.date == start.date())
            .group_by(StoreOrder.store_id)
        ).all()
    )
    stores = db.session.execute(select(StoreConnection).order_by(StoreConnection.name)).scalars().all()
    attention = db.session.execute(
        select(func.count()).select_from(StoreOrder).where(StoreOrder.state == "needs_attention")
    ).scalar_one()
    failed_pushes = db.session.execute(
        select(func.count()).select_from(SyncLogEntry).where(
            SyncLogEntry.direction == "outbound", SyncLogEntry.status == "failed", SyncLogEntry.created_at >= start
        )
    ).scalar_one()
    backlog = {
        "deliveries": db.session.execute(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "received")
        ).scalar_one(),
        "stock_pushes": db.session.execute(select(func.count()).select_from(PendingStockPush)).scalar_one(),
    }
    return render_template(
        "dashboard.html", stores=stores, today=today, sales=sales, attention=attention,
        failed_pushes=failed_pushes, backlog=backlog,
    )
