"""The sync log, the stock-push queue and product-sync runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.base import utcnow
from core.models.types import UtcDateTime

LOG_STATUSES = ("received", "waiting", "booked", "done", "skipped", "needs_attention", "failed")


class SyncLogEntry(db.Model):
    """One inbound event or outbound call and what came of it (V1)."""

    __tablename__ = "sync_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store_connections.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    direction: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    #: Documents produced, e.g. [{"type": "invoice", "id": 3, "number": "INV-000003"}].
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id"))
    #: What to run again for a retry: {"job": name, "args": [...]}.
    retry: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PendingStockPush(db.Model):
    """A product whose quantity must be pushed to a store: one row per pair coalesces bursts (I2)."""

    __tablename__ = "pending_stock_pushes"

    store_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ProductSyncRun(db.Model):
    """A "sync all products" run with its progress and report (P4)."""

    __tablename__ = "product_sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    total: Mapped[int | None] = mapped_column(Integer)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    #: [{"sku", "external_id", "outcome", "reason"}] for skipped and failed products.
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
