"""The transactional outbox: domain events written by the commit that made them, and their deliveries."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.base import utcnow
from core.models.types import UtcDateTime


class OutboxEvent(db.Model):
    """A domain event recorded in the transaction that caused it, dispatched after the commit."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The event type, e.g. ``stock_changed`` (see ``core.services.domain_events``).
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: When a dispatcher took the event (a claim older than the lease may be taken again).
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: When its jobs were queued; ``None`` while it waits for a dispatcher.
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    #: Dispatch rounds that could not queue its jobs (e.g. Redis down).
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class OutboxDelivery(db.Model):
    """One subscriber (plugin) has run its hook for one event: a second dispatch runs nothing twice."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    plugin: Mapped[str] = mapped_column(String(100))
    delivered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
