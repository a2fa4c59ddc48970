"""Marshmallow schemas that validate plugin output into the core's store data objects.

A plugin maps its platform's payload onto these field names and calls ``load``; a payload
that does not fit raises :class:`marshmallow.ValidationError` with field messages.
"""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from core.integration import data

_amount = {"as_string": False, "allow_nan": False}
_non_negative = validate.Range(min=0)


def _money(**options: Any) -> fields.Decimal:
    return fields.Decimal(validate=_non_negative, **_amount, **options)


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE

    target: type = object

    @post_load
    def build(self, values: dict[str, Any], **_: Any) -> Any:
        return self.target(**values)


class CustomerSchema(_Base):
    target = data.CustomerData
    external_id = fields.String(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class OrderLineSchema(_Base):
    target = data.OrderLineData
    external_id = fields.String(required=True)
    sku = fields.String(load_default=None, allow_none=True)
    name = fields.String(required=True)
    quantity = fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False), **_amount)
    unit_price = _money(required=True)
    discount = _money(load_default=data.ZERO)
    tax = _money(load_default=None, allow_none=True)
    product_external_id = fields.String(load_default=None, allow_none=True)


class OrderSchema(_Base):
    target = data.OrderData
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    status = fields.String(required=True)
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


class RefundLineSchema(_Base):
    target = data.RefundLineData
    line_external_id = fields.String(required=True)
    quantity = fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False), **_amount)
    restock = fields.Boolean(load_default=True)


class RefundSchema(_Base):
    target = data.RefundData
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    order_external_id = fields.String(required=True)
    lines = fields.List(fields.Nested(RefundLineSchema), load_default=list)
    whole_order = fields.Boolean(load_default=False)
    include_shipping = fields.Boolean(load_default=False)
    amount = _money(load_default=None, allow_none=True)
    created_at = fields.AwareDateTime(load_default=None, allow_none=True)


class CategorySchema(_Base):
    target = data.CategoryData
    external_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_external_id = fields.String(load_default=None, allow_none=True)


class ProductSchema(_Base):
    target = data.ProductData
    external_id = fields.String(required=True)
    sku = fields.String(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    price = _money(load_default=data.ZERO)
    cost = _money(load_default=None, allow_none=True)
    barcode = fields.String(load_default=None, allow_none=True)
    quantity = fields.Decimal(load_default=None, allow_none=True, **_amount)
    category_external_ids = fields.List(fields.String(), load_default=list)
    stock_ref = fields.String(load_default=None, allow_none=True)
