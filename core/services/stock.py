"""Stock in and out at moving-average cost, with the level row locked per product."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, bindparam, insert, select, update

from core.extensions import db
from core.models import Product, StockLevel, StockMovement
from core.money import ZERO, money, quantity, unit_cost
from core.services import domain_events
from core.services.domain_events import stock_moved
from core.services.errors import InsufficientStock, Invalid
from core.services.rows import execute
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


# --- Documents: all of a document's products and stock levels in one locked query -----------------

_LEVEL = StockLevel.__table__.c
_PRODUCT = Product.__table__.c


@lru_cache(maxsize=64)
def products_with_levels(count: int) -> Select[Any]:
    """``count`` products (parameters ``p0``...) with their level in a warehouse (``warehouse_id``).

    The level rows are locked in product order (``FOR UPDATE`` in the sub-select on PostgreSQL;
    SQLite transactions hold the write lock). One statement per count, built once: plain bound
    parameters are much cheaper to execute than an expanding ``IN``.
    """
    ids = [bindparam(f"p{i}") for i in range(count)]
    levels = (
        select(_LEVEL.product_id, _LEVEL.quantity, _LEVEL.value)
        .where(_LEVEL.warehouse_id == bindparam("warehouse_id"), _LEVEL.product_id.in_(ids))
        .order_by(_LEVEL.product_id)
        .with_for_update()
        .subquery("levels")
    )
    return (
        select(_PRODUCT.id, _PRODUCT.code, _PRODUCT.name, _PRODUCT.stock_tracked, levels.c.quantity, levels.c.value)
        .select_from(Product.__table__)
        .outerjoin(levels, levels.c.product_id == _PRODUCT.id)
        .where(_PRODUCT.id.in_(ids))
    )

_UPDATE_LEVEL = (
    update(StockLevel.__table__)
    .where(_LEVEL.product_id == bindparam("p"), _LEVEL.warehouse_id == bindparam("w"))
    .values(quantity=bindparam("q"), value=bindparam("v"))
)
_INSERT_MOVEMENTS = insert(StockMovement.__table__)
_NO_STOCK = (Decimal("0.000"), Decimal("0.00"))


@dataclass
class DocumentStock:
    """A product of a document and its stock level in the document's warehouse (kept up to date)."""

    product_id: int
    code: str
    name: str
    stock_tracked: bool
    quantity: Decimal
    value: Decimal
    changed: bool = False


class StockBatch:
    """The stock a document moves: read and locked in one query, written in two statements."""

    def __init__(
        self,
        warehouse_id: int,
        product_ids: list[int],
        query: Callable[[int], Select[Any]] = products_with_levels,
        **parameters: Any,
    ) -> None:
        """``query(count)``: :func:`products_with_levels`, or it with more columns (given ``parameters``),
        whose values on the first row are kept in :attr:`first_row`. Call :meth:`create_missing_levels`
        (once the warehouse is known to exist) before moving stock."""
        self.warehouse_id = warehouse_id
        ids = sorted(set(product_ids))
        self._values = {"warehouse_id": warehouse_id, **{f"p{i}": p for i, p in enumerate(ids)}, **parameters}
        self._statement = query(len(ids))
        self._load(execute(self._statement, self._values).all() if ids else [])
        self.movements: list[dict[str, Any]] = []

    def _load(self, rows: list[Row[Any]]) -> None:
        self.first_row: Row[Any] | None = rows[0] if rows else None
        self._missing = [row.id for row in rows if row.stock_tracked and row.quantity is None]
        self.products: dict[int, DocumentStock] = {
            row.id: DocumentStock(
                row.id, row.code, row.name, row.stock_tracked,
                *((row.quantity, row.value) if row.quantity is not None else _NO_STOCK),
            )
            for row in rows
        }

    def create_missing_levels(self) -> None:
        """Create the level rows of stock-tracked products new to the warehouse (rare), then lock
        and read them like the others; no statement when none is missing."""
        if self._missing:
            insert_ignoring_conflicts(
                StockLevel,
                [{"product_id": p, "warehouse_id": self.warehouse_id, "quantity": ZERO, "value": ZERO}
                 for p in self._missing],
            )
            self._load(execute(self._statement, self._values).all())

    def issue(self, product_id: int, qty: Decimal, *, kind: str, source_type: str) -> Decimal:
        """Take ``qty`` out at the moving-average cost (as :func:`issue`); returns the value taken."""
        level = self.products[product_id]
        qty = quantity(qty)
        if qty > level.quantity:
            raise InsufficientStock(
                f"Not enough stock of {level.code}: {level.quantity} on hand, {qty} needed.",
                {"product": [f"{level.code}: {level.quantity} on hand, {qty} needed"]},
            )
        value = level.value if qty == level.quantity else money(level.value * qty / level.quantity)
        level.quantity -= qty
        level.value -= value
        self._move(level, -qty, -value, kind, source_type)
        return value

    def receive(self, product_id: int, qty: Decimal, value: Decimal, *, kind: str, source_type: str) -> None:
        """Bring ``qty`` in worth ``value`` (as :func:`receive`)."""
        level = self.products[product_id]
        qty, value = quantity(qty), money(value)
        if qty <= 0:
            raise Invalid("A stock receipt needs a positive quantity.")
        if value < 0:
            raise Invalid("A stock receipt cannot have a negative cost.")
        level.quantity += qty
        level.value += value
        self._move(level, qty, value, kind, source_type)

    def _move(self, level: DocumentStock, qty: Decimal, value: Decimal, kind: str, source_type: str) -> None:
        level.changed = True
        self.movements.append({
            "product_id": level.product_id, "warehouse_id": self.warehouse_id, "quantity": qty,
            "unit_cost": unit_cost(value / qty) if qty else ZERO, "value": value, "kind": kind,
            "source_type": source_type,
        })

    def write(self, source_number: str, created_at: datetime) -> None:
        """Write the levels and movements (call once the document number is known)."""
        changed = [level for level in self.products.values() if level.changed]
        if not changed:
            return
        execute(
            _UPDATE_LEVEL,
            [{"p": level.product_id, "w": self.warehouse_id, "q": level.quantity, "v": level.value} for level in changed],
        )
        for movement in self.movements:
            movement["source_number"] = source_number
            movement["created_at"] = created_at
        execute(_INSERT_MOVEMENTS, self.movements)
        session = db.session()
        for level in changed:
            domain_events.stock_moved(session, level.product_id, self.warehouse_id)
