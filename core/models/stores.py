"""Store connections and the links between store ids and core records."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from core.extensions import db
from core.models.base import Timestamped
from core.models.inbox import WebhookDelivery
from core.models.types import UtcDateTime

STORE_STATUSES = ("pending", "active", "disabled")
LINK_KINDS = ("product", "client", "category")


class StoreConnection(Timestamped, db.Model):
    """One connected online store (C1–C6)."""

    __tablename__ = "store_connections"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'active', 'disabled')", name="status"),
        # One external store is connectable once: a disabled connection frees its store.
        Index("uq_store_connections_live_external_ref", "platform", "external_ref", unique=True,
              sqlite_where=text("status != 'disabled'"), postgresql_where=text("status != 'disabled'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(50), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    #: The store's own id on its platform (merchant id, shop domain), once known.
    external_ref: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of the connection key; the key itself is shown once (C1).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: Credentials as Fernet-encrypted JSON (C6).
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: When its last delivery arrived, read from the inbox when asked (nothing writes to this row per delivery).
    last_webhook_at: Mapped[datetime | None] = column_property(
        select(func.max(WebhookDelivery.received_at)).where(WebhookDelivery.store_id == id).scalar_subquery(),
        deferred=True,
    )
    #: Reconciliation cursor (O12): every order the store changed before this moment has been pulled.
    reconciled_through: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ExternalLink(db.Model):
    """A store's id for a core record (product, client, category): one per store, kind and id."""

    __tablename__ = "external_links"
    __table_args__ = (
        UniqueConstraint("store_id", "kind", "external_id"),
        CheckConstraint("kind IN ('product', 'client', 'category')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id"))
    kind: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    local_id: Mapped[int] = mapped_column(Integer, index=True)
    #: Platform id used to push stock (variant / inventory item), for products.
    stock_ref: Mapped[str | None] = mapped_column(String(200))
