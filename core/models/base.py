"""Shared column helpers for the core models."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class Timestamped:
    """Adds ``created_at``."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
