"""The core's pricing of a parsed Salla order gives back Salla's total and VAT to the halala (O5)."""
from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import money
from core.platform.data import OrderData
from core.services.pricing import InvoiceAmounts, PricedLine, compute_invoice_amounts
from plugins.salla.sandbox import SallaSandbox
from plugins.salla.webhooks import parse_delivery

VAT = Decimal("0.15")
SKUS = ("COF-250", "DATE-1KG", "MUG-01")

cents = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c) / 100)
lines = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 40), cents), min_size=1, max_size=6)
fees = st.integers(min_value=0, max_value=20_000).map(lambda c: Decimal(c) / 100)


def store() -> SallaSandbox:
    sandbox = SallaSandbox()
    for sku in SKUS:
        sandbox.add_product(sku, sku, "10", 1000)
    return sandbox


def booked(order: OrderData) -> InvoiceAmounts:
    """What the core computes for the order (core.services.pricing, as core.integration.amounts does)."""
    return compute_invoice_amounts(
        [PricedLine(line.quantity, line.unit_price, line.discount) for line in order.lines],
        vat_rate=VAT, prices_include_vat=order.prices_include_vat,
        order_discount=order.order_discount, shipping=order.shipping)


def parsed(sandbox: SallaSandbox, salla_order: dict) -> OrderData:
    body, _ = sandbox.build_delivery("order.created", salla_order)
    return parse_delivery(body).order


@settings(max_examples=150, deadline=None)
@given(items=lines, shipping=fees, discount_part=st.fractions(0, 1))
def test_core_reproduces_salla_total_and_vat_without_cod(items: list, shipping: Decimal,
                                                         discount_part: object) -> None:
    sandbox = store()
    sub_total = sum(money(price * qty) for _sku, qty, price in items)
    discount = money(sub_total * Decimal(discount_part.numerator) / discount_part.denominator)
    salla = sandbox.create_order(items, shipping=shipping, discount=discount, send=False)
    order = parsed(sandbox, salla)
    amounts = booked(order)
    assert amounts.total == order.total == Decimal(str(salla["amounts"]["total"]["amount"]))
    assert amounts.vat_total == order.tax_total
    assert [a.vat_amount for a in amounts.lines] == [line.tax for line in order.lines]


@settings(max_examples=60, deadline=None)
@given(items=lines, shipping=fees, cod=fees.filter(lambda c: c > 0))
def test_cod_fee_is_shipping_so_the_core_adds_its_vat(items: list, shipping: Decimal, cod: Decimal) -> None:
    """Salla does not tax the cash-on-delivery fee; the core taxes all shipping: the core's total
    and VAT exceed Salla's by round(15 % × (shipping + COD)) − round(15 % × shipping)."""
    sandbox = store()
    order = parsed(sandbox, sandbox.create_order(items, shipping=shipping, cod=cod, send=False))
    amounts = booked(order)
    extra_vat = money((shipping + cod) * VAT) - money(shipping * VAT)
    assert order.shipping == shipping + cod
    assert amounts.total - order.total == extra_vat == amounts.vat_total - order.tax_total


def test_discount_beyond_the_line_shares_becomes_the_order_discount() -> None:
    sandbox = store()
    salla = sandbox.create_order([("COF-250", 3, "20")], shipping="10", discount="6", send=False)
    salla = json.loads(json.dumps(salla))
    salla["amounts"]["discounts"].append({"title": "extra", "type": "fixed", "code": "X",
                                          "discount": "4.00", "discounted_shipping": 0})
    order = parsed(sandbox, salla)
    assert order.lines[0].discount == Decimal("6.00") and order.order_discount == Decimal("4.00")
