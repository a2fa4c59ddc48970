"""Schemas of the reports: stock levels, stock card, trial balance, account ledger."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields

from core.api.schemas.common import PageQuery, QuerySchema
from core.api.schemas.fields import DECIMAL_STRING, amount_out, query_id


class StockLevelSchema(Schema):
    product_id = fields.Integer()
    warehouse_id = fields.Integer()
    quantity = amount_out()
    value = amount_out()
    average_cost = fields.Method("four_places", metadata=DECIMAL_STRING)

    def four_places(self, level: Any) -> str:
        return str(Decimal(level.average_cost).quantize(Decimal("0.0001")))


class StockLevelQuery(PageQuery):
    warehouse_id = query_id()
    product_id = query_id()


class StockCardRowSchema(Schema):
    """One movement with the running on-hand quantity (``balance``)."""

    id = fields.Integer(attribute="movement.id")
    created_at = fields.DateTime(attribute="movement.created_at")
    warehouse_id = fields.Integer(attribute="movement.warehouse_id")
    kind = fields.String(attribute="movement.kind")
    source_type = fields.String(attribute="movement.source_type")
    source_number = fields.String(attribute="movement.source_number")
    quantity = fields.Decimal(as_string=True, attribute="movement.quantity", metadata=DECIMAL_STRING)
    unit_cost = fields.Decimal(as_string=True, attribute="movement.unit_cost", metadata=DECIMAL_STRING)
    value = fields.Decimal(as_string=True, attribute="movement.value", metadata=DECIMAL_STRING)
    balance = amount_out()


class StockCardQuery(PageQuery):
    warehouse_id = query_id()


class TrialBalanceRowSchema(Schema):
    account_id = fields.Integer(attribute="account.id")
    code = fields.String(attribute="account.code")
    name_en = fields.String(attribute="account.name_en")
    name_ar = fields.String(attribute="account.name_ar")
    type = fields.String(attribute="account.type")
    debit = amount_out()
    credit = amount_out()
    balance = amount_out()


class TrialBalanceSchema(Schema):
    as_of = fields.Date(allow_none=True)
    rows = fields.List(fields.Nested(TrialBalanceRowSchema))
    total_debit = amount_out()
    total_credit = amount_out()
    difference = amount_out()


class TrialBalanceQuery(QuerySchema):
    as_of = fields.Date(load_default=None)


class LedgerRowSchema(Schema):
    entry_id = fields.Integer(attribute="entry.id")
    entry_number = fields.String(attribute="entry.number")
    date = fields.Date(attribute="entry.date")
    memo = fields.String(attribute="entry.memo", allow_none=True)
    source_type = fields.String(attribute="entry.source_type")
    source_number = fields.String(attribute="entry.source_number", allow_none=True)
    line_id = fields.Integer(attribute="line.id")
    debit = fields.Decimal(as_string=True, attribute="line.debit", metadata=DECIMAL_STRING)
    credit = fields.Decimal(as_string=True, attribute="line.credit", metadata=DECIMAL_STRING)
    balance = amount_out()


class LedgerSchema(Schema):
    """A page of an account's postings, with balances on the account's normal side."""

    account_id = fields.Integer()
    date_from = fields.Date(allow_none=True)
    date_to = fields.Date(allow_none=True)
    opening_balance = amount_out()
    closing_balance = amount_out()
    items = fields.List(fields.Nested(LedgerRowSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class LedgerQuery(PageQuery):
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
