"""Store orders and refunds as the ERP saw them: their state and the documents that book them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.base import utcnow
from core.models.types import UtcDateTime

#: A store order's states (forward-only, see core.integration.order_states).
STATES = ("pending", "needs_attention", "skipped", "booked", "partly_returned", "returned", "cancelled")
#: A store refund's states: ``waiting`` for its order to be booked.
REFUND_STATES = ("pending", "waiting", "booked", "needs_attention", "skipped")


def _one_of(values: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class StoreOrder(db.Model):
    """One store order (O1–O10); booked at most once (``invoice_id`` unique)."""

    __tablename__ = "store_orders"
    __table_args__ = (
        UniqueConstraint("store_id", "external_id"),
        CheckConstraint(_one_of(STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(100), index=True)
    store_status: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    #: The validated order (core data, JSON) kept to re-book once fixed.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sales_invoices.id"), unique=True)
    #: The store's version of the order kept in ``data`` (O11): an older one never overwrites it.
    store_modified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class StoreRefund(db.Model):
    """One store refund or return (R1–R2); booked at most once."""

    __tablename__ = "store_refunds"
    __table_args__ = (
        UniqueConstraint("store_id", "external_id"),
        CheckConstraint(_one_of(REFUND_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    order_external_id: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    return_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("return_invoices.id"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
