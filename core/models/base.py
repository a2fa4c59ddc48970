"""Shared column helpers for the core models."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Mapped, mapped_column

from core.models.types import UtcDateTime


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class Timestamped:
    """Adds ``created_at``."""

    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
