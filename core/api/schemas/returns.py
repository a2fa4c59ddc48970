"""Schemas of return invoices (credit notes) against a sales invoice."""
from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, post_load

from core.api.schemas.common import PageQuery
from core.api.schemas.fields import (
    amount_out,
    boolean,
    document_lines,
    quantity,
    query_id,
    row_id,
    text,
)
from core.services.returns import ReturnDraft, ReturnLineDraft


class ReturnLineCreateSchema(Schema):
    invoice_line_id = row_id(required=True)
    quantity = quantity(required=True, positive=True)
    restock = boolean(load_default=True, metadata={"description": "False: the goods do not come back to stock."})


class ReturnCreateSchema(Schema):
    invoice_id = row_id(required=True)
    lines = document_lines(ReturnLineCreateSchema, minimum=0, load_default=list)
    include_shipping = boolean(load_default=False)
    date = fields.Date(load_default=date.today)
    refund = boolean(
        load_default=None, allow_none=True, metadata={"description": "Pay the money back; default: when the invoice was paid."}
    )
    refund_account_id = row_id(load_default=None, allow_none=True)
    reason = text(500, load_default=None, allow_none=True)
    reference = text(100, load_default=None, allow_none=True)
    external_key = text(200, load_default=None, allow_none=True)

    @post_load
    def make_draft(self, data: dict[str, Any], **_: Any) -> ReturnDraft:
        lines = [ReturnLineDraft(**line) for line in data.pop("lines")]
        return ReturnDraft(lines=lines, **data)


class ReturnLineSchema(Schema):
    id = fields.Integer()
    invoice_line_id = fields.Integer()
    product_id = fields.Integer()
    quantity = amount_out()
    net_amount = amount_out()
    discount_net = amount_out()
    vat_amount = amount_out()
    cost_amount = amount_out()
    restock = fields.Boolean()


class ReturnInvoiceSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date()
    invoice_id = fields.Integer()
    client_id = fields.Integer()
    branch_id = fields.Integer()
    warehouse_id = fields.Integer()
    status = fields.String()
    includes_shipping = fields.Boolean()
    lines_net = amount_out()
    discount_net = amount_out()
    shipping_net = amount_out()
    vat_total = amount_out()
    total = amount_out()
    cost_total = amount_out()
    journal_entry_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    external_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(ReturnLineSchema))


class ReturnQuery(PageQuery):
    invoice_id = query_id()
