"""Schemas of journal entries: manual entries, reversals and posted entries."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, post_load

from core.api.schemas.common import PageQuery
from core.api.schemas.fields import amount_out, document_lines, money, row_id, text
from core.services.journal import ManualEntryDraft, Posting

ZERO = Decimal("0.00")


class PostingSchema(Schema):
    account_id = row_id(required=True)
    debit = money(load_default=ZERO)
    credit = money(load_default=ZERO)
    branch_id = row_id(load_default=None, allow_none=True)
    memo = text(500, load_default=None, allow_none=True)


class ManualEntryCreateSchema(Schema):
    date = fields.Date(load_default=date.today)
    memo = text(500, load_default=None, allow_none=True)
    lines = document_lines(PostingSchema, minimum=2, required=True)

    @post_load
    def make_draft(self, data: dict[str, Any], **_: Any) -> ManualEntryDraft:
        return ManualEntryDraft(date=data["date"], memo=data["memo"], lines=[Posting(**line) for line in data["lines"]])


class ReversalSchema(Schema):
    date = fields.Date(load_default=date.today)
    memo = text(500, load_default=None, allow_none=True)


class JournalLineSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    debit = amount_out()
    credit = amount_out()
    branch_id = fields.Integer(allow_none=True)
    memo = fields.String(allow_none=True)


class JournalEntrySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date()
    memo = fields.String(allow_none=True)
    source_type = fields.String()
    source_number = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(JournalLineSchema))


class JournalQuery(PageQuery):
    source_type = fields.String(load_default=None)
    source_number = fields.String(load_default=None)
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
