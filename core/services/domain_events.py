"""Typed domain events, recorded in the outbox inside the transaction that caused them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from flask import Flask, current_app, has_app_context
from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.extensions import db
from core.models.outbox import OutboxEvent
from core.services import rows

#: Session-info key collecting the (product, warehouse) pairs the transaction moved.
STOCK_MOVED = "mizan.stock_moved"
#: Session-info key set when the transaction wrote an outbox row (listeners run after its commit).
RECORDED = "mizan.outbox_recorded"
#: ``app.extensions`` key of the after-commit listeners.
LISTENERS = "mizan.after_commit"


@dataclass(frozen=True)
class DomainEvent:
    """Base of the events; ``kind`` names the event in the outbox."""

    kind: ClassVar[str] = ""

    def payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StockChanged(DomainEvent):
    """On-hand quantities changed for these (product_id, warehouse_id) pairs."""

    kind: ClassVar[str] = "stock_changed"
    pairs: tuple[tuple[int, int], ...]

    def payload(self) -> dict[str, Any]:
        return {"pairs": [list(pair) for pair in sorted(self.pairs)]}


@dataclass(frozen=True)
class ProductCreated(DomainEvent):
    """A product was created in the ERP."""

    kind: ClassVar[str] = "product_created"
    product_id: int


@dataclass(frozen=True)
class OrderBooked(DomainEvent):
    """A store order was booked as a sales invoice."""

    kind: ClassVar[str] = "order_booked"
    store_id: int
    order_external_id: str
    invoice_id: int


@dataclass(frozen=True)
class RefundBooked(DomainEvent):
    """A store refund was booked as a return invoice."""

    kind: ClassVar[str] = "refund_booked"
    store_id: int
    refund_external_id: str
    return_invoice_id: int


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.kind: cls for cls in (StockChanged, ProductCreated, OrderBooked, RefundBooked)
}


def load(kind: str, payload: dict[str, Any]) -> DomainEvent:
    """The typed event of an outbox row."""
    if kind == StockChanged.kind:
        return StockChanged(tuple((int(p), int(w)) for p, w in payload["pairs"]))
    return EVENT_TYPES[kind](**payload)


def record(event: DomainEvent) -> OutboxEvent:
    """Add ``event`` to the outbox in the current session: it commits (or rolls back) with the caller's work."""
    session = db.session()
    row = OutboxEvent(kind=event.kind, payload=event.payload(), attempts=0)
    session.add(row)
    session.info[RECORDED] = True
    return row


def stock_moved(session: Session, product_id: int, warehouse_id: int) -> None:
    """Note a stock movement; :func:`record_stock_changes` turns them into one event before the commit."""
    session.info.setdefault(STOCK_MOVED, set()).add((product_id, warehouse_id))


def record_stock_changes(session: Session) -> None:
    """Record one :class:`StockChanged` for the pairs the transaction moved (call before its commit),
    with one Core INSERT (no ORM row to flush)."""
    moved = session.info.pop(STOCK_MOVED, None)
    if moved:
        event = StockChanged(tuple(sorted(moved)))
        rows.connection(session).execute(_INSERT_EVENT, {"kind": event.kind, "payload": event.payload(), "attempts": 0})
        session.info[RECORDED] = True


_INSERT_EVENT = insert(OutboxEvent.__table__)


def forget(session: Session) -> None:
    """The transaction rolled back: nothing it noted happened."""
    session.info.pop(STOCK_MOVED, None)
    session.info.pop(RECORDED, None)


def on_commit(app: Flask, listener: Callable[[], Any]) -> None:
    """Run ``listener()`` after each commit that recorded events (the integration layer registers
    its dispatcher here, so the ledger never imports it)."""
    listeners = app.extensions.setdefault(LISTENERS, [])
    if listener not in listeners:
        listeners.append(listener)


def committed(session: Session) -> None:
    """Tell the listeners, after a commit, that the outbox has new rows. Never raises: the work is
    committed, and rows a listener could not handle wait in the outbox for the next dispatch."""
    if not session.info.pop(RECORDED, None) or not has_app_context():
        return
    for listener in list(current_app.extensions.get(LISTENERS, ())):
        try:
            listener()
        except Exception:  # the caller's work stands; the outbox keeps the event
            current_app.logger.exception("after-commit listener %r failed; the outbox keeps its events", listener)
