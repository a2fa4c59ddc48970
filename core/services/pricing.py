"""How an invoice's amounts are computed from its lines (the one documented way).

Prices, line discounts, the order discount and the shipping fee are all entered in
the same VAT basis: VAT-inclusive or VAT-exclusive, per invoice.

1. Each line's gross = round(quantity x unit price, 2) - line discount.
2. The order discount is spread over the lines in proportion to their gross, to
   the halala: each line's exact share rounded down, the halalas left over going
   one each to the lines with the largest rounded-off fractions (then the larger
   line, then the earlier one), so the shares sum exactly to the discount and each
   is within a halala of its exact share; each line's taxable amount = gross - its share.
3. VAT per line, rounded half-up to 2 places:
   - exclusive: net = taxable, VAT = round(net x rate);
   - inclusive: net = round(taxable / (1 + rate)), VAT = taxable - net.
   The shipping fee is taxed the same way as a line.
4. Totals: lines net = sum of line nets; VAT = sum of line VAT + shipping VAT;
   total = lines net + shipping net + VAT. With inclusive prices the total is
   therefore exactly sum(line gross) - order discount + shipping, the store's total.

Discounts are also kept excluding VAT (``discount_net``) so revenue can be posted
gross with the discounts in their own account.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from core.money import CENT, ZERO, money
from core.services.errors import Invalid


@dataclass(frozen=True)
class PricedLine:
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = ZERO


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    order_discount_share: Decimal
    net_amount: Decimal
    discount_net: Decimal
    vat_amount: Decimal


@dataclass(frozen=True)
class InvoiceAmounts:
    lines: list[LineAmounts]
    lines_net: Decimal
    discount_net: Decimal
    shipping_net: Decimal
    shipping_vat: Decimal
    vat_total: Decimal
    total: Decimal


def split_tax(amount: Decimal, rate: Decimal, inclusive: bool) -> tuple[Decimal, Decimal]:
    """Return (net, VAT) of an amount entered in the given basis."""
    amount = money(amount)
    if inclusive:
        net = money(amount / (1 + rate))
        return net, amount - net
    return amount, money(amount * rate)


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``total`` over ``weights`` proportionally to 2 places, summing exactly.

    Largest remainder: every share is its exact proportion rounded toward zero,
    and the halalas still missing go one each to the shares with the largest
    rounded-off fraction, so no share is more than a halala off its proportion
    (nor of the wrong sign).
    """
    total = money(total)
    weight_sum = sum(weights, ZERO)
    if not weights or total == 0 or weight_sum == 0:
        return [ZERO for _ in weights]
    exact = [total * w / weight_sum for w in weights]
    shares = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    missing = int((total - sum(shares, ZERO)) / CENT)
    step = CENT if missing > 0 else -CENT
    order = sorted(range(len(weights)), key=lambda i: (-abs(exact[i] - shares[i]), -weights[i], i))
    for i in order[: abs(missing)]:
        shares[i] += step
    return shares


def compute_invoice_amounts(
    lines: list[PricedLine],
    *,
    vat_rate: Decimal,
    prices_include_vat: bool,
    order_discount: Decimal = ZERO,
    shipping: Decimal = ZERO,
) -> InvoiceAmounts:
    """Compute every amount of an invoice; raises :class:`Invalid` on impossible input."""
    if not lines:
        raise Invalid("An invoice needs at least one line.", {"lines": ["at least one line"]})
    problems: dict[str, list[str]] = {}
    grosses = []
    for index, line in enumerate(lines):
        if line.quantity <= 0:
            problems.setdefault(f"lines.{index}.quantity", []).append("must be greater than 0")
        if line.unit_price < 0:
            problems.setdefault(f"lines.{index}.unit_price", []).append("cannot be negative")
        extended = money(line.quantity * line.unit_price)
        if line.discount < 0 or line.discount > extended:
            problems.setdefault(f"lines.{index}.discount", []).append(
                f"must be between 0 and the line amount {extended}"
            )
        grosses.append(extended - money(line.discount))
    if order_discount < 0 or order_discount > sum(grosses, ZERO):
        problems.setdefault("order_discount", []).append(
            "must be between 0 and the sum of the lines"
        )
    if shipping < 0:
        problems.setdefault("shipping", []).append("cannot be negative")
    if problems:
        raise Invalid("The invoice amounts are not valid.", problems)

    shares = allocate(order_discount, grosses)
    line_amounts = []
    for line, gross, share in zip(lines, grosses, shares, strict=True):
        net, vat = split_tax(gross - share, vat_rate, prices_include_vat)
        discount_net, _ = split_tax(money(line.discount) + share, vat_rate, prices_include_vat)
        line_amounts.append(LineAmounts(gross, share, net, discount_net, vat))
    shipping_net, shipping_vat = split_tax(shipping, vat_rate, prices_include_vat)
    lines_net = sum((a.net_amount for a in line_amounts), ZERO)
    vat_total = sum((a.vat_amount for a in line_amounts), ZERO) + shipping_vat
    return InvoiceAmounts(
        lines=line_amounts,
        lines_net=lines_net,
        discount_net=sum((a.discount_net for a in line_amounts), ZERO),
        shipping_net=shipping_net,
        shipping_vat=shipping_vat,
        vat_total=vat_total,
        total=lines_net + shipping_net + vat_total,
    )
