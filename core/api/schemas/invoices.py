"""Schemas of sales invoices: the posting request and the posted invoice."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from core.api.schemas.common import PageQuery
from core.api.schemas.fields import (
    amount_out,
    boolean,
    document_lines,
    money,
    quantity,
    query_id,
    row_id,
    text,
)
from core.services.invoices import InvoiceDraft, InvoiceLineDraft

ZERO = Decimal("0.00")


class InvoiceLineCreateSchema(Schema):
    product_id = row_id(required=True)
    quantity = quantity(required=True, positive=True)
    unit_price = money(required=True)
    discount = money(load_default=ZERO)
    description = text(300, load_default=None, allow_none=True)


class InvoiceCreateSchema(Schema):
    client_id = row_id(required=True)
    branch_id = row_id(required=True)
    warehouse_id = row_id(required=True)
    date = fields.Date(load_default=date.today)
    status = fields.String(load_default="approved", validate=validate.OneOf(("approved", "paid")))
    prices_include_vat = boolean(load_default=False)
    order_discount = money(load_default=ZERO)
    shipping = money(load_default=ZERO)
    payment_account_id = row_id(
        load_default=None, allow_none=True, metadata={"description": "Paid invoices: cash (default), bank or clearing account."}
    )
    memo = text(500, load_default=None, allow_none=True)
    reference = text(100, load_default=None, allow_none=True)
    external_key = text(200, load_default=None, allow_none=True, metadata={"description": "Idempotency key: a second post answers 409."})
    lines = document_lines(InvoiceLineCreateSchema, required=True)

    @post_load
    def make_draft(self, data: dict[str, Any], **_: Any) -> InvoiceDraft:
        lines = [InvoiceLineDraft(**line) for line in data.pop("lines")]
        return InvoiceDraft(lines=lines, **data)


class InvoiceLineSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    product_id = fields.Integer()
    description = fields.String()
    quantity = amount_out()
    unit_price = amount_out()
    discount = amount_out()
    order_discount_share = amount_out()
    net_amount = amount_out()
    discount_net = amount_out()
    vat_amount = amount_out()
    cost_amount = amount_out()


class PaymentSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date()
    direction = fields.String()
    account_id = fields.Integer()
    amount = amount_out()
    journal_entry_id = fields.Integer(allow_none=True)


class InvoiceSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date()
    client_id = fields.Integer()
    branch_id = fields.Integer()
    warehouse_id = fields.Integer()
    status = fields.String()
    prices_include_vat = fields.Boolean()
    vat_rate = amount_out()
    order_discount = amount_out()
    shipping = amount_out()
    lines_net = amount_out()
    discount_net = amount_out()
    shipping_net = amount_out()
    vat_total = amount_out()
    total = amount_out()
    cost_total = amount_out()
    journal_entry_id = fields.Integer(allow_none=True)
    memo = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    external_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    payments = fields.List(fields.Nested(PaymentSchema))


class InvoiceQuery(PageQuery):
    client_id = query_id()
    reference = fields.String(load_default=None)
    external_key = fields.String(load_default=None)
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
