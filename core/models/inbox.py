"""The webhook inbox: every authentic delivery, stored before it is acknowledged."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.base import utcnow
from core.models.types import UtcDateTime

#: ``waiting``: kept, not acted on, until its store is activated (its reason says why).
DELIVERY_STATUSES = ("received", "waiting", "processed", "ignored", "needs_attention", "failed")
#: The deliveries the dispatcher has still to queue (a partial index holds just these).
UNDISPATCHED = "status = 'received' AND queued_at IS NULL"


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("store_id", "delivery_key"),
        # A store's last delivery ("last webhook" on the store list) is read from this index.
        Index("ix_webhook_deliveries_store_id_received_at", "store_id", "received_at"),
        # What the dispatcher has still to hand to the workers (core.integration.dispatcher).
        Index("ix_webhook_deliveries_undispatched", "id", sqlite_where=text(UNDISPATCHED),
              postgresql_where=text(UNDISPATCHED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id"))
    delivery_key: Mapped[str] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    #: The body holds secrets (e.g. tokens), so it is stored Fernet-encrypted (see core.secrets).
    body_encrypted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The topic taken from the URL it was posted to (``/webhooks/<key>/<topic>``), if any.
    topic: Mapped[str | None] = mapped_column(String(100))
    #: The query string it was posted with, credentials removed.
    query: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    event: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: When the dispatcher handed it to the Redis queue (``None``: not yet, or jobs run in-process).
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
