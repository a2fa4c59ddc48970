"""Decimal rounding rules for money, quantities and unit costs."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
QUANTITY_STEP = Decimal("0.001")
UNIT_COST_STEP = Decimal("0.0001")
ZERO = Decimal("0.00")


def to_decimal(value: object) -> Decimal:
    """Convert ``value`` to Decimal without passing through float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def money(value: object) -> Decimal:
    """Round to 2 places, half away from zero (the rounding of VAT invoices)."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def quantity(value: object) -> Decimal:
    """Round a stock quantity to 3 places."""
    return to_decimal(value).quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP)


def unit_cost(value: object) -> Decimal:
    """Round a unit cost to 4 places."""
    return to_decimal(value).quantize(UNIT_COST_STEP, rounding=ROUND_HALF_UP)
