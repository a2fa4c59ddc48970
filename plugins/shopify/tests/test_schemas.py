"""Shopify payloads as core data, and the core's amounts reproducing Shopify's order totals (O5)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from marshmallow import ValidationError

from core.platform.data import OrderData
from core.services.pricing import PricedLine, compute_invoice_amounts
from plugins.shopify import schemas
from plugins.shopify.client import ShopifyClient
from plugins.shopify.sandbox import ShopifySandbox

VAT = Decimal("0.15")
PRODUCT = """query($q: String) { products(first: 1, query: $q) { nodes { id title
  collections(first: 5) { nodes { id } }
  variants(first: 10) { nodes { id title sku barcode price inventoryQuantity inventoryItem { id unitCost { amount } } } }
} } }"""


def core_amounts(order: OrderData):  # noqa: ANN201
    return compute_invoice_amounts(
        [PricedLine(line.quantity, line.unit_price, line.discount) for line in order.lines],
        vat_rate=VAT, prices_include_vat=order.prices_include_vat,
        order_discount=order.order_discount, shipping=order.shipping)


@pytest.mark.parametrize("taxes_included", [True, False])
@pytest.mark.parametrize("discount", [None, "10%", "10.00", "7.77", "33%"])
@pytest.mark.parametrize("shipping", [None, "15.00", "9.99"])
def test_the_core_reproduces_shopifys_total_and_tax(shop: ShopifySandbox, taxes_included: bool,
                                                    discount: str | None, shipping: str | None) -> None:
    payload = shop.create_order([("COF-250", 3, "33.33"), ("MUG-01", 1), ("DATE-1KG", 7, "12.47")],
                                shipping=shipping, discount=discount, taxes_included=taxes_included, send=False)
    order = schemas.order_data(payload)
    amounts = core_amounts(order)
    assert order.order_discount == 0  # Shopify allocates every discount to the lines
    assert amounts.total == order.total == Decimal(payload["total_price"])
    assert amounts.vat_total == order.tax_total
    assert [a.vat_amount for a in amounts.lines] == [line.tax for line in order.lines]


def test_the_sandbox_examples_add_up(shop: ShopifySandbox) -> None:
    inclusive = schemas.order_data(shop.create_order([("COF-250", 2), ("MUG-01", 1)], shipping="15.00",
                                                     discount="10%", taxes_included=True, send=False))
    exclusive = schemas.order_data(shop.create_order([("COF-250", 2), ("MUG-01", 1)], shipping="15.00",
                                                     discount="10%", taxes_included=False, send=False))
    assert (core_amounts(inclusive).total, inclusive.total) == (Decimal("100.50"), Decimal("100.50"))
    assert (core_amounts(exclusive).total, exclusive.total) == (Decimal("115.58"), Decimal("115.58"))


def test_discounts_not_allocated_to_lines_become_the_order_discount(shop: ShopifySandbox) -> None:
    payload = shop.create_order([("COF-250", 2)], send=False)
    payload["total_discounts"] = "5.00"
    payload["total_price"] = "65.00"
    order = schemas.order_data(payload)
    assert order.order_discount == Decimal("5.00") and core_amounts(order).total == Decimal("65.00")


def test_a_discounted_shipping_line_counts_its_discounted_price(shop: ShopifySandbox) -> None:
    payload = shop.create_order([("COF-250", 1)], shipping="15.00", send=False)
    payload["shipping_lines"][0]["discounted_price"] = "0.00"
    payload["total_discounts"] = "15.00"
    payload["total_price"] = "35.00"
    order = schemas.order_data(payload)
    assert (order.shipping, order.order_discount) == (Decimal("0.00"), Decimal("0.00"))
    assert core_amounts(order).total == order.total


def test_line_discount_falls_back_to_total_discount(shop: ShopifySandbox) -> None:
    payload = shop.create_order([("COF-250", 2)], discount="10.00", send=False)
    payload["line_items"][0]["discount_allocations"] = []
    assert schemas.order_data(payload).lines[0].discount == Decimal("10.00")


@pytest.mark.parametrize(("changes", "status"), [
    ({"financial_status": "pending"}, "pending"),
    ({"financial_status": "paid"}, "paid"),
    ({"financial_status": "partially_refunded", "fulfillment_status": "partial"}, "partially_refunded"),
    ({"financial_status": "pending", "fulfillment_status": "fulfilled"}, "fulfilled"),
    ({"financial_status": "paid", "fulfillment_status": "fulfilled", "cancelled_at": "2026-01-01T00:00:00Z"},
     "cancelled"),
])
def test_order_status(changes: dict, status: str) -> None:
    assert schemas.order_status(changes) == status


def test_the_graphql_product_node_gives_one_product_per_variant(shop: ShopifySandbox, client: ShopifyClient) -> None:
    coffee = next(p for p in shop.state()["products"] if p["title"].startswith("Arabic"))
    node = client.graphql(PRODUCT, q="sku:COF-250")["products"]["nodes"][0]
    node["variants"]["nodes"].append(dict(node["variants"]["nodes"][0], id="gid://shopify/ProductVariant/9",
                                          title="500 g", sku="COF-500"))
    first, second = schemas.products_from_node(node)
    assert (first.external_id, first.sku, first.name, first.price, first.cost, first.barcode, first.quantity) == (
        str(coffee["variants"][0]["id"]), "COF-250", "Arabic coffee 250 g", Decimal("35.00"), Decimal("18.00"),
        "6281000000011", Decimal(120))
    assert first.stock_ref == f"gid://shopify/InventoryItem/{coffee['variants'][0]['inventory_item_id']}"
    assert first.category_external_ids == [node["collections"]["nodes"][0]["legacyResourceId"]]
    assert (second.external_id, second.name) == ("9", "Arabic coffee 250 g - 500 g")


def test_credentials_default_the_api_base_and_the_store_ref() -> None:
    loaded = schemas.ShopifyCredentialsSchema().load(
        {"shop_domain": "https://Shop-1.myshopify.com/", "access_token": "t", "client_secret": "s",
         "location_id": 71000000002})
    assert loaded == {"shop_domain": "shop-1.myshopify.com", "access_token": "t", "client_secret": "s",
                      "api_base": "https://shop-1.myshopify.com", "location_id": "71000000002",
                      "store_ref": "shop-1.myshopify.com"}
    sandbox = schemas.ShopifyCredentialsSchema().load(
        {"shop_domain": "a.myshopify.com", "access_token": "t", "client_secret": "s",
         "api_base": "http://127.0.0.1:5102/", "location_id": "gid://shopify/Location/7"})
    assert (sandbox["api_base"], sandbox["location_id"]) == ("http://127.0.0.1:5102", "7")


@pytest.mark.parametrize("bad", [
    {"access_token": "t", "client_secret": "s"},
    {"shop_domain": "not a domain", "access_token": "t", "client_secret": "s"},
    {"shop_domain": "a.myshopify.com", "access_token": "", "client_secret": "s"},
    {"shop_domain": "a.myshopify.com", "access_token": "t"},
    {"shop_domain": "a.myshopify.com", "access_token": "t", "client_secret": "s", "location_id": "Riyadh"},
    {"shop_domain": "a.myshopify.com", "access_token": "t", "client_secret": "s", "extra": 1},
])
def test_credentials_that_do_not_fit(bad: dict) -> None:
    with pytest.raises(ValidationError):
        schemas.ShopifyCredentialsSchema().load(bad)
