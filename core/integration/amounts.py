"""Reconciling a store order's total with the invoice the core would book (O5)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from core.money import ZERO, money
from core.platform.data import OrderData
from core.services.errors import Invalid
from core.services.pricing import PricedLine, compute_invoice_amounts


@dataclass(frozen=True)
class Reconciliation:
    """``rounding`` to book when the difference is within tolerance; otherwise ``problem`` says why."""

    rounding: Decimal
    problem: str | None = None


def reconcile(order: OrderData, vat_rate: Decimal) -> Reconciliation:
    """Compare the store's total with the core's computation of the same order."""
    try:
        amounts = compute_invoice_amounts(
            [PricedLine(line.quantity, line.unit_price, line.discount) for line in order.lines],
            vat_rate=vat_rate,
            prices_include_vat=order.prices_include_vat,
            order_discount=order.order_discount,
            shipping=order.shipping,
        )
    except Invalid as error:
        details = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in error.fields.items())
        return Reconciliation(ZERO, f"The order's amounts cannot be booked: {details or error.message}")
    difference = money(order.total) - amounts.total
    tolerance = Decimal(str(current_app.config["ROUNDING_TOLERANCE"]))
    if abs(difference) <= tolerance:
        return Reconciliation(difference)
    lines = sum((money(line.quantity * line.unit_price) for line in order.lines), ZERO)
    discounts = sum((money(line.discount) for line in order.lines), ZERO) + money(order.order_discount)
    store_tax = "not given" if order.tax_total is None else f"{money(order.tax_total)}"
    return Reconciliation(
        ZERO,
        (
            f"The store's total {money(order.total)} differs from the ERP's {amounts.total} by {difference}, "
            f"more than the rounding tolerance {tolerance}. Components: lines {lines}, discounts {discounts}, "
            f"shipping {money(order.shipping)}, tax ERP {amounts.vat_total} vs store {store_tax} "
            f"({'prices include' if order.prices_include_vat else 'prices exclude'} VAT at {vat_rate * 100:.2f}%)."
        ),
    )
