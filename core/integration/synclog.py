"""Writing sync-log entries (V1): every inbound event and outbound call leaves one."""
from __future__ import annotations

from typing import Any

from core.extensions import db
from core.models import SyncLogEntry


def document(kind: str, row: Any) -> dict[str, Any]:
    """A link to a produced document, e.g. ``document("invoice", invoice)``."""
    return {"type": kind, "id": row.id, "number": getattr(row, "number", None)}


def log_event(
    store_id: int | None,
    kind: str,
    status: str,
    *,
    direction: str = "inbound",
    external_id: str | None = None,
    reason: str | None = None,
    documents: list[dict[str, Any]] | None = None,
    delivery_id: int | None = None,
    retry: dict[str, Any] | None = None,
) -> SyncLogEntry:
    """Add a sync-log entry to the current transaction."""
    entry = SyncLogEntry(
        store_id=store_id,
        kind=kind,
        status=status,
        direction=direction,
        external_id=external_id,
        reason=reason,
        documents=documents or [],
        delivery_id=delivery_id,
        retry=retry,
    )
    db.session.add(entry)
    return entry
