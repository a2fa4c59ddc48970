"""Shopify payloads (REST orders, refunds, products; GraphQL nodes) validated into the core's store data."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
)

from core.money import ZERO, money
from core.platform import schemas as core
from core.platform.data import CategoryData, CostData, OrderData, ProductData, RefundData

DEFAULT_VARIANT_TITLE = "Default Title"
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d+)?$")


def gid(kind: str, number: object) -> str:
    """``gid://shopify/{kind}/{number}`` (a gid stays as it is)."""
    text = str(number)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def legacy_id(value: object) -> str:
    """The number at the end of a Shopify id: ``gid://shopify/ProductVariant/12`` and ``12`` give ``"12"``."""
    text = str(value).split("?", 1)[0].rstrip("/")
    return text.rsplit("/", 1)[-1]


# ---------------------------------------------------------------- credentials


class ShopifyId(fields.Field):
    """A Shopify id sent as an int, a numeric string or a gid; loaded as the number's text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError("Not a valid Shopify id.")
        number = legacy_id(value)
        if not number.isdigit():
            raise ValidationError("Not a valid Shopify id.")
        return number


class ShopifyCredentialsSchema(Schema):
    """What a Shopify store connection needs.

    ``shop_domain`` is the shop's ``*.myshopify.com`` host; ``access_token`` the Admin API token;
    ``client_secret`` the app's client secret, which signs the webhooks; ``api_base`` where the
    Admin API lives (default ``https://{shop_domain}``; the sandbox's URL in tests and the demo);
    ``location_id`` the Shopify location linked to the store's ERP warehouse (default: the
    shop's first location); ``store_ref`` is always the shop domain.
    """

    class Meta:
        unknown = RAISE

    shop_domain = fields.String(required=True, validate=validate.Regexp(_HOST, error="Not a valid shop domain."))
    access_token = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(required=True, validate=validate.Length(min=1))
    api_base = fields.Url(load_default=None, allow_none=True, require_tld=False, schemes={"http", "https"})
    location_id = ShopifyId(load_default=None, allow_none=True)
    store_ref = fields.String(load_default=None, allow_none=True)

    @pre_load
    def _domain(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("shop_domain"), str):
            domain = re.sub(r"^https?://", "", data["shop_domain"].strip().lower()).rstrip("/")
            data = {**data, "shop_domain": domain}
        return data

    @post_load
    def _defaults(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["api_base"] = (data.get("api_base") or f"https://{data['shop_domain']}").rstrip("/")
        data["store_ref"] = data["shop_domain"]
        return data


# ---------------------------------------------------------------- payload shapes


def _amount(**options: Any) -> fields.Decimal:
    bounds = validate.Range(min=-core.MAX_AMOUNT, max=core.MAX_AMOUNT)
    return fields.Decimal(as_string=False, allow_nan=False, validate=bounds, **options)


def _text(**options: Any) -> fields.String:
    return fields.String(load_default=None, allow_none=True, **options)


class _Shopify(Schema):
    class Meta:
        unknown = EXCLUDE


class _Allocation(_Shopify):
    amount = _amount(required=True)


class _TaxLine(_Shopify):
    price = _amount(required=True)


class _LineItem(_Shopify):
    id = ShopifyId(required=True)
    variant_id = ShopifyId(load_default=None, allow_none=True)
    sku = _text()
    name = _text()
    title = _text()
    quantity = fields.Integer(required=True, strict=False)
    price = _amount(required=True)
    total_discount = _amount(load_default=ZERO, allow_none=True)
    discount_allocations = fields.List(fields.Nested(_Allocation), load_default=list)
    tax_lines = fields.List(fields.Nested(_TaxLine), load_default=list)


class _ShippingLine(_Shopify):
    price = _amount(required=True)
    discounted_price = _amount(load_default=None, allow_none=True)


class _Customer(_Shopify):
    id = ShopifyId(load_default=None, allow_none=True)
    first_name = _text()
    last_name = _text()
    email = _text()
    phone = _text()


class _Order(_Shopify):
    id = ShopifyId(required=True)
    name = fields.String(required=True)
    financial_status = _text()
    fulfillment_status = _text()
    cancelled_at = _text()
    created_at = _text()
    updated_at = _text()
    currency = fields.String(required=True)
    taxes_included = fields.Boolean(required=True)
    email = _text()
    phone = _text()
    customer = fields.Nested(_Customer, load_default=None, allow_none=True)
    line_items = fields.List(fields.Nested(_LineItem), required=True)
    shipping_lines = fields.List(fields.Nested(_ShippingLine), load_default=list)
    total_discounts = _amount(load_default=ZERO, allow_none=True)
    total_tax = _amount(load_default=None, allow_none=True)
    total_price = _amount(required=True)


class _RefundLine(_Shopify):
    line_item_id = ShopifyId(required=True)
    quantity = fields.Integer(required=True, strict=False)
    restock_type = _text()


class _Adjustment(_Shopify):
    kind = _text()


class _Transaction(_Shopify):
    kind = _text()
    status = _text()
    amount = _amount(required=True)


class _Refund(_Shopify):
    id = ShopifyId(required=True)
    order_id = ShopifyId(required=True)
    created_at = _text()
    restock = fields.Boolean(load_default=True, allow_none=True)
    refund_line_items = fields.List(fields.Nested(_RefundLine), load_default=list)
    order_adjustments = fields.List(fields.Nested(_Adjustment), load_default=list)
    transactions = fields.List(fields.Nested(_Transaction), load_default=list)


class _Variant(_Shopify):
    id = ShopifyId(required=True)
    title = _text()
    sku = _text()
    barcode = _text()
    price = _amount(required=True)
    inventory_item_id = ShopifyId(load_default=None, allow_none=True)
    inventory_quantity = fields.Integer(load_default=None, allow_none=True)


class _InventoryItem(_Shopify):
    id = ShopifyId(required=True)
    sku = _text()
    cost = _amount(load_default=None, allow_none=True)


class _Product(_Shopify):
    id = ShopifyId(required=True)
    title = fields.String(required=True)
    variants = fields.List(fields.Nested(_Variant), required=True, validate=validate.Length(min=1))


# ---------------------------------------------------------------- mapping


def order_status(order: dict[str, Any]) -> str:
    """The one status the core compares with the store's completed statuses.

    ``"cancelled"`` when the order has ``cancelled_at``; else ``"fulfilled"`` when its
    ``fulfillment_status`` is ``fulfilled``; else its ``financial_status`` (``"paid"``,
    ``"pending"``, ``"refunded"`` ...). Shopify has no single "completed" status: by default
    ``paid`` and ``fulfilled`` both count as completed.
    """
    if order.get("cancelled_at"):
        return "cancelled"
    if order.get("fulfillment_status") == "fulfilled":
        return "fulfilled"
    return order.get("financial_status") or "pending"


def order_data(payload: Any) -> OrderData:
    """A REST order resource (the ``orders/*`` webhook body, ``orders.json``) as validated OrderData.

    Lines carry their discount allocations as the line discount, so ``order_discount`` is only
    what ``total_discounts`` has beyond the line and shipping allocations (0 for Shopify's own
    "across" allocations). Shipping is each shipping line's ``discounted_price`` (else ``price``).
    """
    order = _Order().load(_object(payload))
    lines = [_line(item) for item in order["line_items"]]
    shipping = sum((s["discounted_price"] if s["discounted_price"] is not None else s["price"]
                    for s in order["shipping_lines"]), ZERO)
    shipping_discount = sum((s["price"] - s["discounted_price"] for s in order["shipping_lines"]
                             if s["discounted_price"] is not None), ZERO)
    allocated = sum((line["discount"] for line in lines), ZERO) + shipping_discount
    unallocated = money(order["total_discounts"] or ZERO) - money(allocated)
    return core.OrderSchema().load({
        "external_id": order["id"],
        "number": order["name"],
        "status": order_status(order),
        "currency": order["currency"],
        "prices_include_vat": order["taxes_included"],
        "lines": lines,
        "shipping": money(shipping),
        "order_discount": max(unallocated, ZERO),
        "tax_total": None if order["total_tax"] is None else money(order["total_tax"]),
        "total": money(order["total_price"]),
        "customer": _customer(order),
        "created_at": order["created_at"],
        "cancelled": bool(order["cancelled_at"]),
        "modified_at": order["updated_at"],  # the order's version (O11)
    })


def refund_data(payload: Any) -> RefundData:
    """A ``refunds/create`` body as RefundData.

    Each refund line keeps its quantity and ``restock`` (``restock_type`` other than
    ``no_restock``); a ``shipping_refund`` order adjustment refunds the shipping; a refund
    without lines carries the amount of its successful refund transactions.
    """
    refund = _Refund().load(_object(payload))
    lines = [{"line_external_id": line["line_item_id"], "quantity": line["quantity"],
              "restock": (line["restock_type"] != "no_restock") if line["restock_type"]
              else bool(refund["restock"])}
             for line in refund["refund_line_items"]]
    amount = None
    if not lines:
        amount = sum((t["amount"] for t in refund["transactions"]
                      if (t["kind"] or "refund") == "refund" and t["status"] in (None, "success")), ZERO)
    return core.RefundSchema().load({
        "external_id": refund["id"],
        "order_external_id": refund["order_id"],
        "lines": lines,
        "include_shipping": any(a["kind"] == "shipping_refund" for a in refund["order_adjustments"]),
        "amount": None if amount is None else money(amount),
        "created_at": refund["created_at"],
    })


def product_data(payload: Any) -> ProductData:
    """A REST product (``products/*`` webhook body) as ProductData of one variant.

    A StoreEvent carries one product, so the event stands for the first variant that has an
    SKU (else the first variant, which the core then skips for lack of an SKU, P3). The
    webhook carries no cost (it lives on the inventory item) and no collections.
    """
    product = _Product().load(_object(payload))
    variants = product["variants"]
    variant = next((v for v in variants if v["sku"]), variants[0])
    return core.ProductSchema().load({
        "external_id": variant["id"],
        "sku": variant["sku"] or None,
        "name": variant_name(product["title"], variant["title"]),
        "price": money(variant["price"]),
        "barcode": variant["barcode"] or None,
        "quantity": variant["inventory_quantity"],
        "stock_ref": gid("InventoryItem", variant["inventory_item_id"]) if variant["inventory_item_id"] else None,
    })


def cost_data(payload: Any) -> CostData | None:
    """An ``inventory_items/update`` body (the REST InventoryItem: ``id``, ``sku``, ``cost`` as a
    decimal string or null) as CostData naming the item as ``stock_ref`` does; None without a cost."""
    item = _InventoryItem().load(_object(payload))
    if item["cost"] is None:
        return None
    return core.CostSchema().load({"cost": money(item["cost"]), "sku": item["sku"] or None,
                                   "stock_ref": gid("InventoryItem", item["id"])})


def products_from_node(node: Any) -> list[ProductData]:
    """A GraphQL ``Product`` node (with ``variants`` and ``collections``) as one ProductData per variant."""
    product = _object(node)
    collections = [legacy_id(c["id"]) for c in nodes(product.get("collections"))]
    return [variant_data(variant, product, collections) for variant in nodes(product.get("variants"))]


def variant_data(variant: dict[str, Any], product: dict[str, Any] | None = None,
                 collections: Iterable[str] | None = None) -> ProductData:
    """A GraphQL ``ProductVariant`` node as ProductData (id = the variant's number); the product's
    title and collections come from ``product`` or the variant's own ``product`` field."""
    product = product or variant.get("product") or {}
    if collections is None:
        collections = [legacy_id(c["id"]) for c in nodes(product.get("collections"))]
    item = variant.get("inventoryItem") or {}
    cost = (item.get("unitCost") or {}).get("amount")
    return core.ProductSchema().load({
        "external_id": legacy_id(variant.get("id", "")),
        "sku": variant.get("sku") or None,
        "name": variant_name(product.get("title") or "", variant.get("title")),
        "price": variant.get("price") or "0",
        "cost": cost,
        "barcode": variant.get("barcode") or None,
        "quantity": variant.get("inventoryQuantity"),
        "category_external_ids": list(collections),
        "stock_ref": item.get("id"),
    })


def category_data(node: Any) -> CategoryData:
    """A GraphQL ``Collection`` node as CategoryData (collections are flat: no parent)."""
    collection = _object(node)
    return core.CategorySchema().load({"external_id": legacy_id(collection.get("id", "")),
                                       "name": collection.get("title")})


def variant_name(title: str, variant_title: str | None) -> str:
    """``Product`` or ``Product - Variant`` (Shopify's placeholder "Default Title" is left out)."""
    if variant_title and variant_title != DEFAULT_VARIANT_TITLE:
        return f"{title} - {variant_title}"
    return title


def _line(item: dict[str, Any]) -> dict[str, Any]:
    allocations = item["discount_allocations"]
    discount = (sum((a["amount"] for a in allocations), ZERO) if allocations
                else item["total_discount"] or ZERO)
    return {
        "external_id": item["id"],
        "sku": item["sku"] or None,
        "name": item["name"] or item["title"] or f"line {item['id']}",
        "quantity": item["quantity"],
        "unit_price": money(item["price"]),
        "discount": money(discount),
        "tax": money(sum((t["price"] for t in item["tax_lines"]), ZERO)),
        "product_external_id": item["variant_id"],
    }


def _customer(order: dict[str, Any]) -> dict[str, Any] | None:
    customer = order["customer"]
    if not customer:
        return None
    email = customer["email"] or order["email"]
    phone = customer["phone"] or order["phone"]
    full = " ".join(p for p in (customer["first_name"], customer["last_name"]) if p).strip()
    return {"external_id": customer["id"], "email": email, "phone": phone,
            "name": full or email or phone or f"Shopify customer {customer['id']}"}


def nodes(connection: Any) -> list[dict[str, Any]]:
    """The nodes of a GraphQL connection (``nodes`` or ``edges{node}``)."""
    if not isinstance(connection, dict):
        return []
    if isinstance(connection.get("nodes"), list):
        return connection["nodes"]
    return [edge["node"] for edge in connection.get("edges") or []]


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": ["Expected a JSON object."]})
    return payload

