"""Revaluing the stock on hand at a new unit cost (core/services/revaluation.py): a value-only adjustment."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import JournalEntry, StockMovement
from core.services.errors import Invalid
from core.services.reports import trial_balance
from core.services.revaluation import revalue_stock
from tests.builders import balance, entry_lines, on_hand

D = Decimal
ZERO = D("0.00")


def test_stock_at_zero_cost_is_revalued_up_against_opening_balance_equity(build):
    warehouse, product = build.warehouse(), build.product()
    build.opening_balance(product, warehouse, "5", "0")
    change = revalue_stock(product.id, warehouse.id, D("40.00"), memo="cost from the store")
    assert change == D("200.00")
    assert on_hand(product, warehouse) == (D("5.000"), D("200.00"))
    movement = db.session.execute(select(StockMovement).where(StockMovement.kind == "adjustment")).scalar_one()
    assert (movement.quantity, movement.value, movement.source_type) == (D("0"), D("200.00"), "stock_revaluation")
    entry = db.session.execute(select(JournalEntry).where(JournalEntry.source_type == "stock_revaluation")).scalar_one()
    assert movement.source_number == entry.number
    assert entry_lines(entry.id) == {"inventory": (D("200.00"), ZERO), "opening_balance_equity": (ZERO, D("200.00"))}
    assert balance("inventory") == D("200.00")
    assert trial_balance().difference == 0


def test_a_lower_cost_revalues_down_and_the_next_sale_costs_the_new_average(build):
    warehouse, product = build.warehouse(), build.product()
    build.opening_balance(product, warehouse, "4", "10.00")
    assert revalue_stock(product.id, warehouse.id, D("7.50"), memo="cheaper") == D("-10.00")
    assert on_hand(product, warehouse) == (D("4.000"), D("30.00"))
    invoice = build.invoice(build.client(), build.branch(), warehouse, [(product, "1", "20")])
    assert invoice.cost_total == D("7.50")
    assert balance("inventory") == D("22.50")
    assert trial_balance().difference == 0


def test_nothing_on_hand_or_the_same_value_posts_nothing(build):
    warehouse, product, other = build.warehouse(), build.product(), build.product()
    build.opening_balance(product, warehouse, "2", "3.00")
    assert revalue_stock(product.id, warehouse.id, D("3.00"), memo="same") == ZERO
    assert revalue_stock(other.id, warehouse.id, D("3.00"), memo="none on hand") == ZERO
    assert db.session.execute(select(StockMovement).where(StockMovement.kind == "adjustment")).first() is None
    with pytest.raises(Invalid):
        revalue_stock(product.id, warehouse.id, D("-1"), memo="negative")
    assert on_hand(product, warehouse) == (D("2.000"), D("6.00"))
