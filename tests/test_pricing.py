"""Invoice amounts (core/services/pricing.py): VAT bases, discounts, shipping, rounding, allocation."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.services.errors import Invalid
from core.services.pricing import PricedLine, allocate, compute_invoice_amounts, split_tax

D = Decimal
RATE = D("0.15")


def amounts(lines, *, inclusive=False, order_discount="0", shipping="0"):
    return compute_invoice_amounts(
        [PricedLine(D(q), D(p), D(d)) for q, p, d in lines],
        vat_rate=RATE,
        prices_include_vat=inclusive,
        order_discount=D(order_discount),
        shipping=D(shipping),
    )


def assert_totals_add_up(result):
    """total = gross sales excl. VAT - discounts excl. VAT + shipping excl. VAT + VAT."""
    gross_net = result.lines_net + result.discount_net
    assert result.total == gross_net - result.discount_net + result.shipping_net + result.vat_total
    assert result.lines_net == sum(line.net_amount for line in result.lines)
    assert result.discount_net == sum(line.discount_net for line in result.lines)
    assert result.vat_total == sum(line.vat_amount for line in result.lines) + result.shipping_vat


def test_exclusive_prices_add_vat_per_line_on_top():
    result = amounts([("3", "10.00", "0"), ("1", "50.00", "0")])
    assert [line.net_amount for line in result.lines] == [D("30.00"), D("50.00")]
    assert [line.vat_amount for line in result.lines] == [D("4.50"), D("7.50")]
    assert (result.lines_net, result.vat_total, result.total) == (D("80.00"), D("12.00"), D("92.00"))
    assert_totals_add_up(result)


def test_inclusive_prices_extract_vat_and_total_equals_the_store_total():
    """README example: 2 mugs at 25.00 incl. VAT + 15.00 shipping = 65.00, VAT 8.48."""
    result = amounts([("2", "25.00", "0")], inclusive=True, shipping="15.00")
    assert result.lines[0].net_amount == D("43.48")  # round(50 / 1.15)
    assert result.lines[0].vat_amount == D("6.52")
    assert (result.shipping_net, result.shipping_vat) == (D("13.04"), D("1.96"))
    assert result.vat_total == D("8.48")
    assert result.total == D("65.00")
    assert_totals_add_up(result)


def test_line_discount_reduces_the_taxable_amount_and_is_kept_excluding_vat():
    result = amounts([("3", "10.00", "2.00")])
    line = result.lines[0]
    assert line.gross == D("28.00")
    assert (line.net_amount, line.discount_net, line.vat_amount) == (D("28.00"), D("2.00"), D("4.20"))
    assert result.total == D("32.20")
    assert_totals_add_up(result)


def test_inclusive_line_discount_is_split_into_net_and_vat_like_the_price():
    result = amounts([("1", "115.00", "23.00")], inclusive=True)
    line = result.lines[0]
    assert (line.net_amount, line.vat_amount, line.discount_net) == (D("80.00"), D("12.00"), D("20.00"))
    assert result.total == D("92.00")  # 115 - 23, the store's total
    assert_totals_add_up(result)


def test_order_discount_is_allocated_over_lines_in_proportion_to_their_gross():
    result = amounts([("3", "10.00", "2.00"), ("1", "50.00", "0")], order_discount="7.80", shipping="20")
    assert [line.order_discount_share for line in result.lines] == [D("2.80"), D("5.00")]
    assert [line.net_amount for line in result.lines] == [D("25.20"), D("45.00")]
    assert [line.discount_net for line in result.lines] == [D("4.80"), D("5.00")]
    assert [line.vat_amount for line in result.lines] == [D("3.78"), D("6.75")]
    assert (result.shipping_net, result.shipping_vat) == (D("20.00"), D("3.00"))
    assert (result.lines_net, result.discount_net, result.vat_total) == (D("70.20"), D("9.80"), D("13.53"))
    assert result.total == D("103.73")
    assert_totals_add_up(result)


def test_inclusive_order_discount_and_shipping_keep_the_total_equal_to_the_store_total():
    lines = [("2", "33.33", "1.11"), ("1", "19.99", "0"), ("5", "7.77", "0.50")]
    result = amounts(lines, inclusive=True, order_discount="12.34", shipping="17.25")
    store_total = D("66.66") - D("1.11") + D("19.99") + D("38.85") - D("0.50") - D("12.34") + D("17.25")
    assert result.total == store_total
    assert sum(line.order_discount_share for line in result.lines) == D("12.34")
    assert_totals_add_up(result)


def test_shipping_is_taxed_like_a_line_in_both_bases():
    exclusive = amounts([("1", "10", "0")], shipping="20.00")
    assert (exclusive.shipping_net, exclusive.shipping_vat) == (D("20.00"), D("3.00"))
    inclusive = amounts([("1", "10", "0")], inclusive=True, shipping="23.00")
    assert (inclusive.shipping_net, inclusive.shipping_vat) == (D("20.00"), D("3.00"))


@pytest.mark.parametrize(
    ("quantity", "price", "net", "vat"),
    [
        ("1", "0.30", "0.30", "0.05"),  # VAT 0.045 -> 0.05 (half-even would give 0.04)
        ("1", "0.10", "0.10", "0.02"),  # 0.015 -> 0.02
        ("1.5", "0.35", "0.53", "0.08"),  # extended 0.525 -> 0.53; VAT 0.0795 -> 0.08
        ("1", "0.70", "0.70", "0.11"),  # 0.105 -> 0.11
    ],
)
def test_amounts_round_half_up_to_two_places(quantity, price, net, vat):
    result = amounts([(quantity, price, "0")])
    assert (result.lines[0].net_amount, result.lines[0].vat_amount) == (D(net), D(vat))


def test_split_tax_inclusive_rounds_the_net_half_up_and_vat_takes_the_rest():
    assert split_tax(D("10.00"), RATE, True) == (D("8.70"), D("1.30"))  # 8.6956.. -> 8.70
    assert split_tax(D("0.01"), RATE, True) == (D("0.01"), D("0.00"))


@pytest.mark.parametrize(
    ("lines", "options", "field"),
    [
        ([("0", "10", "0")], {}, "lines.0.quantity"),
        ([("1", "-1", "0")], {}, "lines.0.unit_price"),
        ([("1", "10", "10.01")], {}, "lines.0.discount"),
        ([("1", "10", "0")], {"order_discount": "10.01"}, "order_discount"),
        ([("1", "10", "0")], {"shipping": "-1"}, "shipping"),
    ],
)
def test_impossible_amounts_are_refused_naming_the_field(lines, options, field):
    with pytest.raises(Invalid) as error:
        amounts(lines, **options)
    assert field in error.value.fields


def test_an_invoice_needs_a_line():
    with pytest.raises(Invalid):
        compute_invoice_amounts([], vat_rate=RATE, prices_include_vat=False)


def test_allocate_gives_nothing_when_total_or_weights_are_zero():
    assert allocate(D("5"), [D("0"), D("0")]) == [D("0.00"), D("0.00")]
    assert allocate(D("0"), [D("1"), D("2")]) == [D("0.00"), D("0.00")]
    assert allocate(D("5"), []) == []


def test_allocate_never_gives_a_share_of_the_wrong_sign():
    """0.04 over 7 equal lines: exact shares are 0.0057; none may be negative."""
    shares = allocate(D("0.04"), [D("1")] * 7)
    assert sum(shares) == D("0.04")
    assert all(share in (D("0.00"), D("0.01")) for share in shares)


weights_strategy = st.lists(
    st.decimals(min_value=D("0.00"), max_value=D("100000.00"), places=2), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(
    total=st.decimals(min_value=D("0.00"), max_value=D("1000000.00"), places=2),
    weights=weights_strategy,
)
def test_allocate_sums_exactly_and_each_share_is_within_a_halala_of_its_proportion(total, weights):
    shares = allocate(total, weights)
    assert len(shares) == len(weights)
    weight_sum = sum(weights)
    if weight_sum == 0:
        assert all(share == 0 for share in shares)
        return
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        assert share.as_tuple().exponent == -2
        assert abs(share - total * weight / weight_sum) < D("0.01")
        if weight == 0:
            assert share == 0


line_strategy = st.tuples(
    st.decimals(min_value=D("0.001"), max_value=D("50"), places=3),
    st.decimals(min_value=D("0"), max_value=D("500"), places=2),
)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(line_strategy, min_size=1, max_size=6),
    inclusive=st.booleans(),
    discount_fraction=st.decimals(min_value=D("0"), max_value=D("1"), places=2),
    shipping=st.decimals(min_value=D("0"), max_value=D("100"), places=2),
)
def test_any_invoice_total_is_net_plus_shipping_plus_vat(lines, inclusive, discount_fraction, shipping):
    priced = [PricedLine(q, p) for q, p in lines]
    gross = sum((q * p).quantize(D("0.01"), rounding="ROUND_HALF_UP") for q, p in lines)
    order_discount = (gross * discount_fraction).quantize(D("0.01"), rounding="ROUND_DOWN")
    result = compute_invoice_amounts(
        priced, vat_rate=RATE, prices_include_vat=inclusive, order_discount=order_discount, shipping=shipping
    )
    assert_totals_add_up(result)
    assert sum(line.order_discount_share for line in result.lines) == order_discount
    assert all(line.order_discount_share >= 0 for line in result.lines)
    if inclusive:
        assert result.total == gross - order_discount + shipping
