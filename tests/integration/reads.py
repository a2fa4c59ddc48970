"""Reading outcomes in integration tests: row counts and quantities on hand (inside an app context)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.models import StockLevel, WebhookDelivery


def count(model) -> int:
    """How many rows ``model``'s table holds."""
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def on_hand(product_id: int, warehouse_id: int) -> Decimal:
    """The quantity of a product on hand in a warehouse (0 when it never had stock)."""
    level = db.session.get(StockLevel, (product_id, warehouse_id))
    return level.quantity if level else Decimal(0)


def count_in(app, model) -> int:
    """:func:`count` in an app context of its own (outside one)."""
    with app.app_context():
        value = count(model)
        db.session.remove()
    return value


def delivery_row(app, delivery_id: int) -> WebhookDelivery:
    """A stored delivery, detached, read in an app context of its own."""
    with app.app_context():
        row = db.session.get(WebhookDelivery, delivery_id)
        db.session.expunge(row)
        db.session.remove()
    return row
