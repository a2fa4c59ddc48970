"""Marshmallow schemas that validate plugin output into the core's store data objects.

A plugin maps its platform's payload onto these field names and calls ``load``; a payload
that does not fit raises :class:`marshmallow.ValidationError` with field messages.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from core.platform import data

#: Largest amount a store may send (a trillion): far inside the money columns (18 digits, 2 places),
#: so sums and VAT of such amounts still fit.
MAX_AMOUNT = Decimal("1e12")
#: Largest quantity a line, refund or product may carry (a billion units).
MAX_QUANTITY = Decimal("1e9")
#: Longest external id, SKU, barcode or status (the columns that keep them).
MAX_ID = 100
MAX_STATUS = 50

_amount = {"as_string": False, "allow_nan": False}
_non_negative = validate.Range(min=0, max=MAX_AMOUNT)
_positive_quantity = validate.Range(min=0, min_inclusive=False, max=MAX_QUANTITY)


def _money(**options: Any) -> fields.Decimal:
    return fields.Decimal(validate=_non_negative, **_amount, **options)


def _id(**options: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=MAX_ID), **options)


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE

    target: type = object

    @post_load
    def build(self, values: dict[str, Any], **_: Any) -> Any:
        return self.target(**values)


class CustomerSchema(_Base):
    target = data.CustomerData
    external_id = _id(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class OrderLineSchema(_Base):
    target = data.OrderLineData
    external_id = _id(required=True)
    sku = _id(load_default=None, allow_none=True)
    name = fields.String(required=True)
    quantity = fields.Decimal(required=True, validate=_positive_quantity, **_amount)
    unit_price = _money(required=True)
    discount = _money(load_default=data.ZERO)
    tax = _money(load_default=None, allow_none=True)
    product_external_id = _id(load_default=None, allow_none=True)
    kind = fields.String(load_default="item", validate=validate.OneOf(data.LINE_KINDS))


class OrderSchema(_Base):
    target = data.OrderData
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    status = fields.String(required=True, validate=validate.Length(max=MAX_STATUS))
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    prices_include_vat = fields.Boolean(required=True)
    lines = fields.List(fields.Nested(OrderLineSchema), required=True, validate=validate.Length(min=1))
    total = _money(required=True)
    customer = fields.Nested(CustomerSchema, load_default=None, allow_none=True)
    shipping = _money(load_default=data.ZERO)
    order_discount = _money(load_default=data.ZERO)
    tax_total = _money(load_default=None, allow_none=True)
    created_at = fields.AwareDateTime(load_default=None, allow_none=True)
    cancelled = fields.Boolean(load_default=False)
    modified_at = fields.AwareDateTime(load_default=None, allow_none=True)
    reached_statuses = fields.List(fields.String(validate=validate.Length(max=MAX_STATUS)), load_default=list)


class RefundLineSchema(_Base):
    target = data.RefundLineData
    line_external_id = _id(required=True)
    quantity = fields.Decimal(required=True, validate=_positive_quantity, **_amount)
    restock = fields.Boolean(load_default=True)


class RefundSchema(_Base):
    target = data.RefundData
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    order_external_id = _id(required=True)
    lines = fields.List(fields.Nested(RefundLineSchema), load_default=list)
    whole_order = fields.Boolean(load_default=False)
    include_shipping = fields.Boolean(load_default=False)
    amount = _money(load_default=None, allow_none=True)
    created_at = fields.AwareDateTime(load_default=None, allow_none=True)


class CategorySchema(_Base):
    target = data.CategoryData
    external_id = _id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_external_id = _id(load_default=None, allow_none=True)
    name_ar = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class CostSchema(_Base):
    target = data.CostData
    cost = _money(required=True)
    stock_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    sku = _id(load_default=None, allow_none=True)

    @validates_schema
    def _names_a_product(self, values: dict[str, Any], **_: Any) -> None:
        if not values.get("stock_ref") and not values.get("sku"):
            raise ValidationError("a cost names its product by stock_ref or sku", "sku")


class ProductSchema(_Base):
    target = data.ProductData
    external_id = _id(required=True)
    sku = _id(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    price = _money(load_default=data.ZERO)
    cost = _money(load_default=None, allow_none=True)
    barcode = _id(load_default=None, allow_none=True)
    quantity = fields.Decimal(load_default=None, allow_none=True, **_amount,
                              validate=validate.Range(min=-MAX_QUANTITY, max=MAX_QUANTITY))
    category_external_ids = fields.List(_id(), load_default=list)
    stock_ref = fields.String(load_default=None, allow_none=True)
    name_ar = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))

    @validates_schema
    def _stock_value_fits(self, values: dict[str, Any], **_: Any) -> None:
        """A new product's quantity is booked at its cost: their product must fit the books too."""
        quantity, cost = values.get("quantity"), values.get("cost")
        if quantity is not None and cost is not None and abs(quantity * cost) > MAX_AMOUNT:
            raise ValidationError(f"quantity × cost is more than {MAX_AMOUNT:,.0f}", "quantity")
