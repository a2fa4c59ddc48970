"""Zid payloads into the core's store data: orders (both body shapes, prices, coupon, guest, currency, SKUs),
products with variants and locations, categories, reverse orders, credentials."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from marshmallow import ValidationError

from core.integration.amounts import reconcile
from core.money import money
from core.services.pricing import PricedLine, compute_invoice_amounts
from plugins.zid import schemas
from plugins.zid.sandbox import ZidSandbox
from plugins.zid.schemas import (
    ZidCredentialsSchema,
    category_data,
    order_data,
    product_data,
    reverse_refund,
    saudi_phone,
    whole_refund,
)

FIXTURES = Path(__file__).parent / "fixtures"
VAT = Decimal("0.15")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def core_total(order: Any) -> Decimal:
    """The invoice total the core computes for ``order`` (what O5 compares with the store's total)."""
    return compute_invoice_amounts(
        [PricedLine(line.quantity, line.unit_price, line.discount) for line in order.lines],
        vat_rate=VAT, prices_include_vat=order.prices_include_vat,
        order_discount=order.order_discount, shipping=order.shipping).total


# -- orders ----------------------------------------------------------------------------------

def test_a_bare_order_maps_every_field() -> None:
    raw = fixture("order_coupon.json")
    order = order_data(raw)
    assert (order.external_id, order.number, order.status, order.currency) == ("501", "501", "new", "SAR")
    assert order.prices_include_vat is True and order.cancelled is False
    assert [(line.external_id, line.sku, line.quantity) for line in order.lines] == [
        ("9001", "COF-250", 2), ("9002", "MUG-01", 3), ("9003", "DATE-1KG", 1)]
    assert [line.unit_price for line in order.lines] == [Decimal("35"), Decimal("25"), Decimal("45")]
    assert [line.product_external_id for line in order.lines] == [p["id"] for p in raw["products"]]
    assert order.total == Decimal(raw["order_total"])
    assert order.tax_total == Decimal(next(e["value"] for e in raw["payment"]["invoice"] if e["code"] == "vat"))
    customer = order.customer
    assert customer is not None
    assert (customer.external_id, customer.email, customer.phone) == ("77", "sara@example.com", "+966500000001")


def test_zid_times_are_riyadh_time() -> None:
    """Zid's ``"2026-11-28 10:15:03"`` has no zone: it is the store's time, UTC+3 (O11 versions)."""
    raw = fixture("order_coupon.json")
    raw["created_at"], raw["updated_at"] = "2026-11-28 10:15:03", "2026-11-28 10:20:41"
    order = order_data(raw)
    assert order.created_at == datetime(2026, 11, 28, 7, 15, 3, tzinfo=UTC)
    assert order.modified_at == datetime(2026, 11, 28, 7, 20, 41, tzinfo=UTC)


def test_the_coupon_and_shipping_become_gross_at_the_orders_vat_rate() -> None:
    """Zid's invoice gives the coupon (10.00) and shipping (13.04…) VAT excluded; prices are gross, so are they."""
    order = order_data(fixture("order_coupon.json"))
    assert order.order_discount == Decimal("11.50")
    assert order.shipping == Decimal("15.00")


def test_the_core_total_of_a_three_line_coupon_order_is_zids_total_to_the_halala() -> None:
    """O5: coupon, shipping, several quantities, three lines: the invoice total is order_total, no rounding."""
    order = order_data(fixture("order_coupon.json"))
    assert core_total(order) == money(order.total) == Decimal("193.50")
    app = Flask(__name__)
    app.config["ROUNDING_TOLERANCE"] = "0.05"
    with app.app_context():
        check = reconcile(order, VAT)
    assert check.problem is None and check.rounding == 0


@pytest.mark.parametrize(("items", "shipping", "coupon"), [
    ([("MUG-01", 1)], "0", None),
    ([("MUG-01", 7)], "15.00", None),
    ([("COF-250", 3), ("ODD-1", 2)], "13.50", "SAVE10"),
    ([("ODD-1", 5), ("ODD-2", 3), ("ODD-3", 4)], "22.99", "SAVE10"),
    ([("ODD-2", 1)], "0", "SAVE10"),
    ([("DATE-1KG", 2), ("ODD-3", 1), ("MUG-01", 6)], "0", None),
])
def test_the_core_total_matches_zids_arithmetic(items: list[tuple[str, int]], shipping: str,
                                               coupon: str | None) -> None:
    """O5 against the sandbox's Zid arithmetic (VAT once on the net taxable amount), odd prices included."""
    store = ZidSandbox()
    for sku, price in (("COF-250", "35.00"), ("MUG-01", "25.00"), ("DATE-1KG", "45.00"),
                       ("ODD-1", "12.99"), ("ODD-2", "7.35"), ("ODD-3", "19.90")):
        store.add_product(sku, sku, price, 100)
    order = order_data(store.create_order(items, shipping=shipping, coupon=coupon, send=False))
    assert core_total(order) == money(order.total)


def test_an_enveloped_order_is_the_same_order_as_the_bare_one() -> None:
    envelope = fixture("order_envelope.json")
    assert envelope["event"] == "order.status.update" and "data" in envelope
    order = order_data(envelope)
    assert order == order_data(envelope["data"])
    assert order.status == "delivered"
    payload_shape = {"event": envelope["event"], "store_id": envelope["store_id"], "payload": envelope["data"]}
    assert order_data(payload_shape) == order


def test_a_kwd_guest_order_keeps_its_currency_and_books_to_the_default_client() -> None:
    """The currency is the order's (the core holds foreign ones); a guest has no customer (O4)."""
    raw = fixture("order_kwd_guest.json")
    order = order_data(raw)
    assert order.currency == "KWD"
    assert order.customer is None
    assert raw["is_guest_customer"] == 1 and raw["customer"]["name"]


def test_generated_empty_and_missing_skus_are_no_sku() -> None:
    """O6: a line whose SKU is Zid's ``Z.…``, ``""`` or null cannot name an ERP product."""
    raw = fixture("order_kwd_guest.json")
    assert [line["sku"] for line in raw["products"]] == ["Z.1234567", "", None]
    assert [line.sku for line in order_data(raw).lines] == [None, None, None]
    assert schemas.normalize_sku(" MUG-01 ") == "MUG-01"


@pytest.mark.parametrize("code", ["canceled", "cancelled"])
def test_a_cancelled_order_is_cancelled(code: str) -> None:
    raw = fixture("order_coupon.json")
    raw["order_status"] = {"name": "ملغي", "code": code}
    assert order_data(raw).cancelled is True


def test_the_vat_rate_comes_from_the_vat_title_when_lines_do_not_say() -> None:
    raw = fixture("order_coupon.json")
    for line in raw["products"]:
        line.pop("tax_percentage")
    assert order_data(raw) == order_data(fixture("order_coupon.json"))


@pytest.mark.parametrize(("mobile", "phone"), [
    ("966500000001", "+966500000001"), ("+966500000001", "+966500000001"), ("0500000001", "+966500000001"),
    ("500000001", "+966500000001"), ("00966500000001", "+966500000001"), ("", None), (None, None),
])
def test_mobiles_become_international_numbers(mobile: str | None, phone: str | None) -> None:
    assert saudi_phone(mobile) == phone


@pytest.mark.parametrize("change", [
    lambda o: o.pop("products"),
    lambda o: o.pop("order_total"),
    lambda o: o.update(order_total="12,5"),
    lambda o: o.update(order_total="NaN"),
    lambda o: o.update(products=[]),
    lambda o: o["products"][0].update(quantity=0),
    lambda o: o["products"][0].pop("order_product_id"),
    lambda o: o.update(order_status=None),
    lambda o: o.update(updated_at="yesterday"),
])
def test_an_order_that_does_not_fit_raises_validation_error(change: Any) -> None:
    raw = copy.deepcopy(fixture("order_coupon.json"))
    change(raw)
    with pytest.raises(ValidationError):
        order_data(raw)


# -- products and categories -------------------------------------------------------------

def test_a_parent_product_is_its_variants_with_the_parents_categories() -> None:
    raw = fixture("product_variants.json")
    products = product_data(raw)
    assert [p.sku for p in products] == ["POT-S", "POT-L"]
    assert [p.external_id for p in products] == [v["id"] for v in raw["variants"]]
    assert [p.stock_ref for p in products] == [v["id"] for v in raw["variants"]]
    assert all(p.category_external_ids == [str(raw["categories"][0]["id"])] for p in products)
    small = products[0]
    assert (small.name, small.price, small.cost) == ("دلة قهوة صغيرة", Decimal("60"), Decimal("30"))


def test_a_products_quantity_is_the_linked_locations() -> None:
    raw = fixture("product_variants.json")
    assert product_data(raw)[0].quantity == raw["variants"][0]["quantity"]  # Zid's default location
    assert product_data(raw, "jeddah-location-uuid")[0].quantity == 4
    assert product_data(raw, "a-location-without-stock")[0].quantity == 0


def test_a_standalone_product_names_arabic_first_and_drops_generated_skus() -> None:
    raw = fixture("product_variants.json")["variants"][0]
    raw.update(variants=[], structure="standalone", parent_id=None, sku="Z.998877", barcode=" ",
               name={"ar": "", "en": "Coffee pot small"}, is_infinite=True)
    (product,) = product_data(raw)
    assert (product.sku, product.barcode, product.name, product.quantity) == (None, None, "Coffee pot small", None)
    raw["name"] = "دلة"
    assert product_data(raw)[0].name == "دلة"


def test_product_prices_are_zids_price_as_is() -> None:
    """The kit expects the ERP's sale price to be the store's price (see README on VAT)."""
    raw = fixture("product_variants.json")["variants"][1]
    assert product_data(raw)[0].price == Decimal(str(raw["price"]))


def test_categories_are_flattened_with_their_parents() -> None:
    tree = fixture("categories.json")["categories"]
    found = [c for item in tree for c in category_data(item)]
    by_name = {c.name_ar or c.name: c for c in found}
    assert by_name["قهوة عربية"].parent_external_id == by_name["قهوة"].external_id
    assert by_name["قهوة"].parent_external_id is None
    assert len(found) == len({c.external_id for c in found}) == 4


# -- reverse orders ------------------------------------------------------------------------

def test_a_partial_reverse_order_refunds_its_lines_and_a_whole_one_the_order() -> None:
    """R1–R2: reverse-order lines are named by the order line ids the order's lines carry."""
    partial, whole = fixture("reverse_orders.json")["order_reverses"]
    refund = reverse_refund(partial, "501")
    assert refund.external_id == f"reverse:{partial['id']}" and refund.order_external_id == "501"
    assert [(line.line_external_id, line.quantity) for line in refund.lines] == [("9001", 1)]
    assert refund.whole_order is False
    assert order_data(fixture("order_coupon.json")).lines[0].external_id == "9001"
    entire = reverse_refund(whole, "501")
    assert entire.whole_order is True and entire.lines == []
    assert whole_refund("501", "refunded").external_id == "refunded:501"


# -- credentials ---------------------------------------------------------------------------

def test_credentials_need_both_tokens_and_a_numeric_store_id() -> None:
    loaded = ZidCredentialsSchema().load({"authorization": "p", "access_token": "m", "store_id": "12345"})
    assert loaded["api_base"] == "https://api.zid.sa" and loaded["app_id"] == "mizan"
    assert loaded["product_prices_include_vat"] is True and loaded["location_id"] is None
    for bad in ({"authorization": "p", "store_id": "1"}, {"authorization": "p", "access_token": "m", "store_id": "x1"},
                {"authorization": "p", "access_token": "m", "store_id": "1", "unknown": "x"}):
        with pytest.raises(ValidationError):
            ZidCredentialsSchema().load(bad)


def test_a_fourteen_decimal_price_is_read_as_the_halala_amount_it_stands_for() -> None:
    assert schemas.unit_price(Decimal("45.00000000000001")) == Decimal("45.00")
    assert schemas.unit_price(Decimal("14.93850000000000")) == Decimal("14.9385")  # a real fraction is kept


def test_a_loyalty_redemption_lowers_the_order_like_a_coupon() -> None:
    raw = fixture("order_coupon.json")
    raw["payment"]["invoice"].insert(2, {"code": "loyalty_redemption", "value": "-5.00000000000000", "title": "Points"})
    assert order_data(raw).order_discount == Decimal("17.25")  # (10 + 5) × 1.15


def test_a_variant_without_a_name_takes_its_parents() -> None:
    raw = fixture("product_variants.json")
    raw["variants"][1]["name"] = {"ar": "", "en": ""}
    assert [p.name for p in product_data(raw)] == ["دلة قهوة صغيرة", "دلة قهوة"]


def test_a_customer_id_of_zero_is_no_id() -> None:
    raw = fixture("order_coupon.json")
    raw["customer"]["id"] = 0
    customer = order_data(raw).customer
    assert customer is not None and customer.external_id is None and customer.name


def test_an_untaxed_order_keeps_its_shipping_as_zid_gives_it() -> None:
    """Zid's own answer shapes: the ``/view`` wrapper, numeric prices, an integer invoice number, products not
    taxable (VAT 0 though the title says 15 %), a two-part ``Z.`` SKU."""
    order = order_data(fixture("order_untaxed_view.json"))
    assert (order.number, order.status, order.shipping, order.tax_total) == ("39018491", "delivered", 20, 0)
    assert [(line.sku, line.unit_price, line.external_id) for line in order.lines] == [(None, 100, "62262")]
    assert order.total == 120


def test_zids_loyalty_order_at_another_rate_is_booked_to_its_total() -> None:
    """A shape seen in Zid's own answers: a price derived from an 11-decimal net price, a loyalty redemption,
    net shipping, a 24 % rate (given as 0.24) and a VAT that is not rounded to the halala."""
    raw = fixture("order_coupon.json")
    raw["products"] = [dict(raw["products"][0], quantity=1, price=200.00000086523, net_price=161.29032327841,
                            tax_percentage=0.24)]
    raw["payment"]["invoice"] = [
        {"code": "sub_totals_before_vat", "value": "161.29032327841000"},
        {"code": "loyalty_redemption", "value": "-1.00000000000000"},
        {"code": "shipping", "value": "20.00000000000000"},
        {"code": "taxable_amount", "value": "180.29032327841000"},
        {"code": "vat", "value": "43.26967758681800", "title": "VAT (%24)"},
        {"code": "total", "value": "223.56000086523000"}]
    raw["order_total"] = "223.56000086523000"
    order = order_data(raw)
    assert (order.lines[0].unit_price, order.order_discount, order.shipping) == (200, Decimal("1.24"), Decimal("24.80"))
    total = compute_invoice_amounts([PricedLine(line.quantity, line.unit_price) for line in order.lines],
                                    vat_rate=Decimal("0.24"), prices_include_vat=True,
                                    order_discount=order.order_discount, shipping=order.shipping).total
    assert total == money(order.total) == Decimal("223.56")


def test_a_partial_reverse_order_with_nothing_reversed_yet_is_no_refund() -> None:
    """Never the whole order for a partial return: a line counts what Zid reversed, not what was ordered."""
    partial = fixture("reverse_orders.json")["order_reverses"][0]
    partial["products"][0]["reversed_quantity"] = 0
    assert reverse_refund(partial, "501") is None
    del partial["products"][0]["reversed_quantity"]
    assert [line.quantity for line in reverse_refund(partial, "501").lines] == [2]


def test_a_store_whose_product_prices_exclude_vat_gives_the_erp_vat_inclusive_prices() -> None:
    """P1: with ``product_prices_include_vat`` off, Zid's net 100.00 is the ERP's sale price 115.00; on, as is."""
    product = {"id": "p-1", "sku": "NET-1", "name": {"ar": "منتج", "en": "Product"}, "price": 100, "quantity": 1}
    (net_store,) = schemas.product_data(product, gross=False)
    (gross_store,) = schemas.product_data(product)
    assert (net_store.price, gross_store.price) == (Decimal("115.00"), Decimal("100.00"))
    assert schemas.net_price(Decimal("115.00")) == Decimal("100.00")


def test_an_order_returned_or_delivered_before_says_it_went_through_delivered() -> None:
    """O1, R1: ``delivered_at`` set, or goods coming back, means the order was delivered; refunded before
    delivery did not."""
    assert schemas.reached_statuses("refunded", "2026-11-28 10:00:00") == ["delivered"]
    assert schemas.reached_statuses("reversed", None) == ["delivered"]
    assert schemas.reached_statuses("refunded", None) == []
    assert schemas.reached_statuses("delivered", "2026-11-28 10:00:00") == []
