"""WooCommerce payloads mapped onto the core's store data: credentials, orders in both tax modes to the halala,
fees, guests, refunds, products, variations and categories."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from core.platform.data import OrderData
from core.services.pricing import PricedLine, compute_invoice_amounts
from plugins.woocommerce import schemas
from plugins.woocommerce.schemas import PLAIN_HTTP, WooCommerceCredentialsSchema

FIXTURES = Path(__file__).parent / "fixtures"
VAT = Decimal("0.15")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def booked_total(order: OrderData) -> Decimal:
    """The invoice total the core computes for the order at Saudi VAT (O5)."""
    amounts = compute_invoice_amounts(
        [PricedLine(line.quantity, line.unit_price, line.discount) for line in order.lines], vat_rate=VAT,
        prices_include_vat=order.prices_include_vat, order_discount=order.order_discount, shipping=order.shipping)
    return amounts.total


# -- credentials ------------------------------------------------------------------------------------

CREDS = {"store_url": "https://shop.example.com", "consumer_key": "ck_1", "consumer_secret": "cs_1"}


def test_credentials_need_the_site_and_the_key_pair_and_default_to_restocking() -> None:
    loaded = WooCommerceCredentialsSchema().load(CREDS)
    assert loaded["restock_refunds"] is True and loaded["product_prices_include_tax"] is True
    assert loaded["webhook_secret"] is None and loaded["store_ref"] is None
    with pytest.raises(ValidationError) as missing:
        WooCommerceCredentialsSchema().load({"store_url": "https://shop.example.com"})
    assert set(missing.value.messages) == {"consumer_key", "consumer_secret"}


def test_an_unknown_credential_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        WooCommerceCredentialsSchema().load({**CREDS, "api_base": "https://x"})
    assert "api_base" in error.value.messages


def test_plain_http_is_refused_with_the_reason_except_on_this_machine() -> None:
    """C1: WooCommerce over http needs OAuth 1.0a signatures, which Mizan does not send."""
    with pytest.raises(ValidationError) as error:
        WooCommerceCredentialsSchema().load({**CREDS, "store_url": "http://shop.example.com"})
    assert error.value.messages["store_url"] == [PLAIN_HTTP]
    for local in ("http://127.0.0.1:8080", "http://localhost:5000", "http://[::1]:81"):
        assert WooCommerceCredentialsSchema().load({**CREDS, "store_url": local})["store_url"] == local


def test_the_store_ref_is_the_site_address_without_scheme_or_trailing_slash() -> None:
    assert schemas.site_ref("https://Shop.Example.com/") == "shop.example.com"
    assert schemas.site_ref("http://127.0.0.1:8123/store/") == "127.0.0.1:8123/store"


# -- orders -----------------------------------------------------------------------------------------

def test_an_order_with_prices_including_tax_books_to_the_halala() -> None:
    """O1, O5: two lines, a coupon, shipping and a gift-wrap fee, VAT included: the core's total is the store's."""
    order = schemas.order_data(fixture("order_inclusive.json"))
    assert order.prices_include_vat is True
    mug, coffee, fee = order.lines
    assert (mug.external_id, mug.sku, mug.product_external_id) == ("1", "MUG-01", "10")
    assert (mug.quantity, mug.unit_price, mug.discount, mug.tax) == (2, Decimal("25.00"), Decimal("5.00"),
                                                                      Decimal("5.87"))
    assert (coffee.unit_price, coffee.discount) == (Decimal("45.00"), Decimal("4.50"))
    assert (fee.sku, fee.quantity, fee.unit_price, fee.tax) == (None, 1, Decimal("10.00"), Decimal("1.30"))
    assert order.shipping == Decimal("15.00") and order.order_discount == 0
    assert (order.total, order.tax_total) == (Decimal("110.50"), Decimal("14.41"))
    assert booked_total(order) == order.total


def test_an_order_with_prices_excluding_tax_books_to_the_halala() -> None:
    """O5: the same order entered without tax: net prices, net shipping, the core adds VAT per line."""
    order = schemas.order_data(fixture("order_exclusive.json"))
    assert order.prices_include_vat is False
    mug, coffee, fee = order.lines
    assert (mug.quantity, mug.unit_price, mug.discount) == (3, Decimal("21.74"), Decimal("6.52"))
    assert (coffee.unit_price, coffee.discount) == (Decimal("39.13"), Decimal("3.91"))
    assert (fee.unit_price, fee.tax) == (Decimal("8.70"), Decimal("1.31"))
    assert order.shipping == Decimal("13.04")
    assert booked_total(order) == order.total == Decimal("133.02")


def test_a_fee_line_is_a_charge_without_product_of_kind_fee() -> None:
    order = schemas.order_data(fixture("order_inclusive.json"))
    fee = order.lines[-1]
    assert (fee.external_id, fee.name, fee.product_external_id) == ("4", "Gift wrap", None)
    assert fee.kind == "fee" and {line.kind for line in order.lines[:-1]} == {"item"}


def test_a_negative_fee_is_an_order_discount() -> None:
    payload = fixture("order_inclusive.json")
    payload["fee_lines"][0].update(total="-8.70", total_tax="-1.30")
    payload["total"] = "90.50"
    order = schemas.order_data(payload)
    assert [line.sku for line in order.lines] == ["MUG-01", "COF-250"]
    assert order.order_discount == Decimal("10.00")
    assert booked_total(order) == order.total


def test_a_unit_price_that_is_no_whole_halala_is_rounded_up_and_the_line_keeps_its_total() -> None:
    """O5: 3 for 10.00 (VAT excluded): 3.34 each less 0.02, so the line is still 10.00."""
    payload = fixture("order_exclusive.json")
    line = payload["line_items"][1]
    line.update(quantity=3, subtotal="10.00", subtotal_tax="1.50", total="10.00", total_tax="1.50")
    coffee = schemas.order_data(payload).lines[1]
    assert (coffee.unit_price, coffee.discount) == (Decimal("3.34"), Decimal("0.02"))


def test_the_order_carries_its_times_in_utc_and_its_buyer() -> None:
    payload = fixture("order_inclusive.json")
    payload.update(date_created_gmt="2026-11-28T10:00:00", date_modified_gmt="2026-11-28T10:05:00")
    order = schemas.order_data(payload)
    assert (order.created_at, order.modified_at) == (datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
                                                     datetime(2026, 11, 28, 10, 5, tzinfo=UTC))
    assert order.customer is not None
    assert (order.customer.external_id, order.customer.name, order.customer.email) == (
        "5", "سارة القحطاني", "sara@example.com")
    assert (order.status, order.cancelled, order.reached_statuses) == ("processing", False, [])


def test_a_guest_completed_then_refunded_says_it_was_completed() -> None:
    """O4, O1: customer_id 0 is a guest; date_completed_gmt on a refunded order: reached ``completed``."""
    order = schemas.order_data(fixture("order_guest_refunded.json"))
    assert order.customer is None
    assert (order.status, order.reached_statuses) == ("refunded", ["completed"])


def test_a_cancelled_order_is_cancelled_and_the_number_is_woocommerces() -> None:
    payload = fixture("order_inclusive.json")
    payload.update(status="cancelled", number="WC-2001")
    order = schemas.order_data(payload)
    assert (order.cancelled, order.number, order.external_id) == (True, "WC-2001", str(payload["id"]))


def test_an_order_without_lines_or_with_a_bad_amount_does_not_fit() -> None:
    payload = fixture("order_inclusive.json")
    with pytest.raises(ValidationError):
        schemas.order_data({**payload, "line_items": [], "fee_lines": []})
    with pytest.raises(ValidationError):
        schemas.order_data({**payload, "total": "lots"})


# -- refunds ----------------------------------------------------------------------------------------

def test_a_line_refund_names_the_order_line_with_a_positive_quantity() -> None:
    """R1–R2: WooCommerce's negative quantity and ``_refunded_item_id``; restock per the store's setting."""
    refund = schemas.refund_data(fixture("refund_lines.json"), "101", restock=False)
    assert (refund.external_id, refund.order_external_id) == ("102", "101")
    assert [(line.line_external_id, line.quantity, line.restock) for line in refund.lines] == [
        ("1", Decimal("1"), False)]
    assert (refund.amount, refund.include_shipping, refund.whole_order) == (None, False, False)
    assert refund.created_at is not None and refund.created_at.tzinfo is not None


def test_a_refund_of_shipping_and_a_fee_says_so() -> None:
    payload = fixture("refund_lines.json")
    payload["shipping_lines"] = [{"id": 9, "total": "-13.04", "total_tax": "-1.96", "meta_data": [
        {"key": "_refunded_item_id", "value": "3"}]}]
    payload["fee_lines"] = [{"id": 8, "total": "-8.70", "total_tax": "-1.30", "meta_data": [
        {"key": "_refunded_item_id", "value": "4"}]}]
    refund = schemas.refund_data(payload, "101")
    assert refund.include_shipping is True
    assert [(line.line_external_id, line.quantity, line.restock) for line in refund.lines] == [
        ("1", Decimal("1"), True), ("4", Decimal("1"), False)]


def test_a_refund_without_quantities_is_an_amount() -> None:
    """R1: an amount-only refund (a goodwill credit) is a credit note of that amount, VAT included."""
    payload = copy.deepcopy(fixture("refund_lines.json"))
    payload.update(amount="12.50", line_items=[])
    refund = schemas.refund_data(payload, "101")
    assert (refund.lines, refund.amount) == ([], Decimal("12.50"))


# -- products and categories ------------------------------------------------------------------------

def test_a_simple_product_with_its_cost_quantity_and_categories() -> None:
    product = schemas.product_data(fixture("product_simple.json"))
    assert (product.external_id, product.sku, product.name, product.stock_ref) == ("11", "COF-250", "Coffee", "11")
    assert (product.price, product.cost, product.quantity) == (Decimal("45.00"), Decimal("20.0"), 9)


def test_the_cost_falls_back_to_the_cost_of_goods_plugins_meta() -> None:
    payload = fixture("product_simple.json")
    del payload["cost_of_goods_sold"]
    payload["meta_data"] = [{"id": 1, "key": "_wc_cog_cost", "value": "18.25"}]
    assert schemas.product_data(payload).cost == Decimal("18.25")


def test_prices_entered_without_tax_become_vat_inclusive_sale_prices() -> None:
    """P1: the ERP's sale prices include VAT."""
    assert schemas.product_data(fixture("product_simple.json"), gross=False).price == Decimal("51.75")
    assert schemas.net_price(Decimal("51.75")) == Decimal("45.00")


def test_a_variation_is_pushed_through_its_parent() -> None:
    product = schemas.product_data(fixture("product_variation.json"), parent_name="T-shirt")
    assert (product.sku, product.stock_ref, product.quantity) == ("TS-RED-M", "12/13", 4)
    nameless = schemas.product_data({**fixture("product_variation.json"), "name": ""}, parent_name="T-shirt")
    assert nameless.name == "T-shirt - Red"


def test_a_product_without_managed_stock_has_no_quantity_and_a_blank_sku_is_none() -> None:
    product = schemas.product_data({**fixture("product_simple.json"), "manage_stock": False, "sku": " "})
    assert (product.quantity, product.sku) == (None, None)


def test_categories_are_unescaped_and_name_their_parent() -> None:
    top, child = (schemas.category_data(item) for item in fixture("categories.json"))
    assert (top.name, top.parent_external_id) == ("Coffee & Tea", None)
    assert (child.name, child.parent_external_id) == ("قهوة عربية", top.external_id)


def test_query_times_are_utc_without_a_zone() -> None:
    assert schemas.iso_gmt(datetime(2026, 11, 28, 13, 0, 5, 123, tzinfo=UTC)) == "2026-11-28T13:00:05"


def test_absurd_quantities_do_not_fit_instead_of_overflowing() -> None:
    payload = fixture("order_inclusive.json")
    payload["line_items"][0]["quantity"] = "1e-999999"
    with pytest.raises(ValidationError):
        schemas.order_data(payload)
