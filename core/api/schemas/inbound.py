"""Schemas of inbound requisitions and opening balances."""
from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from core.api.schemas.common import PageQuery
from core.api.schemas.fields import (
    amount_out,
    document_lines,
    quantity,
    query_id,
    row_id,
    text,
    unit_cost,
)
from core.models.inbound import REQUISITION_KINDS
from core.services.inbound import InboundDraft, InboundLineDraft


class InboundLineCreateSchema(Schema):
    product_id = row_id(required=True)
    quantity = quantity(required=True, positive=True)
    unit_cost = unit_cost(required=True)


class InboundCreateSchema(Schema):
    kind = fields.String(load_default="inbound_requisition", validate=validate.OneOf(REQUISITION_KINDS))
    warehouse_id = row_id(required=True)
    date = fields.Date(load_default=date.today)
    branch_id = row_id(load_default=None, allow_none=True)
    counter_account_id = row_id(
        load_default=None, allow_none=True, metadata={"description": "Credited against inventory; default by kind."}
    )
    memo = text(500, load_default=None, allow_none=True)
    reference = text(100, load_default=None, allow_none=True)
    external_key = text(200, load_default=None, allow_none=True)
    lines = document_lines(InboundLineCreateSchema, required=True)

    @post_load
    def make_draft(self, data: dict[str, Any], **_: Any) -> InboundDraft:
        lines = [InboundLineDraft(**line) for line in data.pop("lines")]
        return InboundDraft(lines=lines, **data)


class InboundLineSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    quantity = amount_out()
    unit_cost = amount_out()
    amount = amount_out()


class InboundSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date()
    kind = fields.String()
    warehouse_id = fields.Integer()
    branch_id = fields.Integer(allow_none=True)
    counter_account_id = fields.Integer()
    total = amount_out()
    journal_entry_id = fields.Integer(allow_none=True)
    memo = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    external_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(InboundLineSchema))


class InboundQuery(PageQuery):
    kind = fields.String(load_default=None, validate=validate.OneOf(REQUISITION_KINDS))
    warehouse_id = query_id()
