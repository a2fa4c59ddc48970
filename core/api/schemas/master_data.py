"""Schemas of master data: accounts, clients, categories, products, warehouses, branches."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields, validate

from core.api.schemas.common import PageQuery
from core.api.schemas.fields import boolean, money, row_id, text
from core.models import ACCOUNT_TYPES


class AccountSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = text(20, required=True)
    name_en = text(200, required=True)
    name_ar = text(200, required=True)
    type = fields.String(required=True, validate=validate.OneOf(ACCOUNT_TYPES))
    parent_id = row_id(load_default=None, allow_none=True)
    is_group = boolean(load_default=False)
    key = text(80, load_default=None, allow_none=True, metadata={"description": "Role name services look the account up by."})


class ClientSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = text(200, required=True)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = text(40, load_default=None, allow_none=True)
    vat_number = text(30, load_default=None, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class CategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = text(200, required=True)
    name_ar = text(200, load_default=None, allow_none=True)
    parent_id = row_id(load_default=None, allow_none=True)


class ProductSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = text(100, required=True, metadata={"description": "The SKU; unique."})
    name = text(300, required=True)
    name_ar = text(300, load_default=None, allow_none=True)
    barcode = text(100, load_default=None, allow_none=True)
    category_id = row_id(load_default=None, allow_none=True)
    purchase_price = money(load_default=Decimal("0.00"))
    sale_price = money(load_default=Decimal("0.00"))
    stock_tracked = boolean(load_default=True)
    created_at = fields.DateTime(dump_only=True)


class PlaceSchema(Schema):
    """Warehouses and branches share their fields."""

    id = fields.Integer(dump_only=True)
    code = text(30, required=True)
    name = text(200, required=True)
    name_ar = text(200, load_default=None, allow_none=True)


class WarehouseSchema(PlaceSchema):
    pass


class BranchSchema(PlaceSchema):
    pass


class SearchQuery(PageQuery):
    q = fields.String(load_default=None, metadata={"description": "Part of a name, code, barcode, email or phone."})
