"""Revaluing the stock on hand of one product in one warehouse at a new unit cost."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.extensions import db
from core.money import ZERO, money
from core.services.chart import account_by_key
from core.services.errors import Invalid
from core.services.journal import Posting, write_entry
from core.services.stock import lock_levels, revalue
from core.services.transaction import atomic

#: The document type of a revaluation (its journal entry's and stock movement's source).
SOURCE_TYPE = "stock_revaluation"


def revalue_stock(product_id: int, warehouse_id: int, new_unit_cost: Decimal, *, memo: str,
                  branch_id: int | None = None, counter_key: str = "opening_balance_equity") -> Decimal:
    """Value the quantity on hand at ``new_unit_cost``, in one transaction: a stock adjustment of no
    quantity and a journal entry between inventory and the ``counter_key`` account. Returns the change
    of value (0: nothing on hand or nothing to change, nothing posted)."""
    if new_unit_cost < 0:
        raise Invalid("A unit cost cannot be negative.", {"unit_cost": ["cannot be negative"]})
    with atomic():
        level = lock_levels({(product_id, warehouse_id)})[(product_id, warehouse_id)]
        if level.quantity <= 0:
            return ZERO
        change = money(level.quantity * new_unit_cost) - level.value
        if not change:
            return ZERO
        up, down = max(change, ZERO), max(-change, ZERO)
        inventory, counter = account_by_key("inventory").id, account_by_key(counter_key).id
        entry = write_entry(date.today(), [
            Posting(inventory, debit=up, credit=down, branch_id=branch_id),
            Posting(counter, debit=down, credit=up, branch_id=branch_id),
        ], memo=memo, source_type=SOURCE_TYPE)
        db.session.flush()
        assert entry is not None
        revalue(level, change, source_type=SOURCE_TYPE, source_number=entry.number)
    return change
