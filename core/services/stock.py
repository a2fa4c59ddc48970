"""Stock in and out at moving-average cost, with the level row locked per product."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from core.models import Product, StockLevel, StockMovement
from core.money import ZERO, money, quantity, unit_cost
from core.services.domain_events import stock_moved
from core.services.errors import InsufficientStock, Invalid
from core.services.upsert import insert_ignoring_conflicts


def lock_levels(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock level rows of (product_id, warehouse_id) pairs, creating missing ones.

    Rows are locked in a fixed order (product, warehouse) so two transactions
    touching the same products never deadlock. On PostgreSQL this is
    ``SELECT ... FOR UPDATE``; SQLite transactions already hold the write lock.
    """
    ordered = sorted(pairs)
    insert_ignoring_conflicts(
        StockLevel,
        [{"product_id": p, "warehouse_id": w, "quantity": ZERO, "value": ZERO} for p, w in ordered],
    )
    levels = {}
    for product_id, warehouse_id in ordered:
        level = db.session.execute(
            select(StockLevel)
            .where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        levels[(product_id, warehouse_id)] = level
    return levels


def receive(
    level: StockLevel,
    qty: Decimal,
    value: Decimal,
    *,
    kind: str,
    source_type: str,
    source_number: str,
) -> StockMovement:
    """Bring ``qty`` into stock worth ``value`` in total; the average cost follows."""
    qty, value = quantity(qty), money(value)
    if qty <= 0:
        raise Invalid("A stock receipt needs a positive quantity.")
    if value < 0:
        raise Invalid("A stock receipt cannot have a negative cost.")
    level.quantity += qty
    level.value += value
    return _movement(level, qty, value, kind, source_type, source_number)


def issue(
    level: StockLevel, qty: Decimal, *, kind: str, source_type: str, source_number: str
) -> StockMovement:
    """Take ``qty`` out of stock at the moving-average cost.

    The value taken is round(value x qty / on hand), and the last unit out takes
    exactly what is left, so the stock value never drifts from the inventory account.
    """
    qty = quantity(qty)
    if qty > level.quantity:
        product = db.session.get(Product, level.product_id)
        code = product.code if product else level.product_id
        raise InsufficientStock(
            f"Not enough stock of {code}: {level.quantity} on hand, {qty} needed.",
            {"product": [f"{code}: {level.quantity} on hand, {qty} needed"]},
        )
    value = level.value if qty == level.quantity else money(level.value * qty / level.quantity)
    level.quantity -= qty
    level.value -= value
    return _movement(level, -qty, -value, kind, source_type, source_number)


def revalue(level: StockLevel, value: Decimal, *, source_type: str, source_number: str) -> StockMovement:
    """Change the value of the stock on hand by ``value`` (an ``adjustment`` that moves no quantity)."""
    value = money(value)
    if level.quantity <= 0 or level.value + value < 0:
        raise Invalid("Only stock on hand can be revalued, and not below zero.")
    level.value += value
    return _movement(level, ZERO, value, "adjustment", source_type, source_number)


def _movement(
    level: StockLevel, qty: Decimal, value: Decimal, kind: str, source_type: str, source_number: str
) -> StockMovement:
    movement = StockMovement(
        product_id=level.product_id,
        warehouse_id=level.warehouse_id,
        quantity=qty,
        unit_cost=unit_cost(value / qty) if qty else ZERO,
        value=value,
        kind=kind,
        source_type=source_type,
        source_number=source_number,
    )
    db.session.add(movement)
    # One StockChanged event for the transaction is written to the outbox before its commit (atomic()).
    stock_moved(db.session(), level.product_id, level.warehouse_id)
    return movement
