"""Loading rows that a request refers to, with clear errors when they are missing."""
from __future__ import annotations

from typing import TypeVar

from core.extensions import db
from core.services.errors import Invalid, NotFound

T = TypeVar("T")


def get_or_404(model: type[T], row_id: int, label: str | None = None) -> T:
    """The row, or :class:`NotFound` (for ids in a URL)."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound(f"{label or model.__name__} {row_id} does not exist.")
    return row


def referenced(model: type[T], row_id: int | None, field: str) -> T:
    """The row a body field names, or :class:`Invalid` naming that field."""
    row = db.session.get(model, row_id) if row_id is not None else None
    if row is None:
        raise Invalid(
            f"{field}: {model.__name__} {row_id} does not exist.",
            {field: [f"{model.__name__} {row_id} does not exist"]},
        )
    return row
