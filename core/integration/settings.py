"""Per-store settings (C4), validated by marshmallow against the core's records."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from core.extensions import db
from core.models import Account, Branch, Client, Warehouse


class StoreSettingsSchema(Schema):
    """What an admin chooses for one store."""

    default_client_id = fields.Integer(allow_none=True, load_default=None)
    #: Exactly one warehouse: every inflow and outflow of this store goes through it.
    warehouse_id = fields.Integer(allow_none=True, load_default=None)
    branch_id = fields.Integer(allow_none=True, load_default=None)
    create_financial_invoice = fields.Boolean(load_default=True)
    update_inventory = fields.Boolean(load_default=False)
    product_sync = fields.Boolean(load_default=False)
    completed_statuses = fields.List(fields.String(), load_default=None)
    #: The revenue account this store's invoices credit and its returns debit; none: the platform's
    #: ``<platform>_sales`` account when its plugin made one, else the company's sales (and sales returns).
    sales_account_id = fields.Integer(allow_none=True, load_default=None)

    @validates_schema
    def references_exist(self, values: dict[str, Any], **_: Any) -> None:
        problems: dict[str, list[str]] = {}
        for name, model in (("default_client_id", Client), ("warehouse_id", Warehouse), ("branch_id", Branch)):
            row_id = values.get(name)
            if row_id is not None and db.session.get(model, row_id) is None:
                problems[name] = [f"no {model.__name__.lower()} with id {row_id}"]
        account_id = values.get("sales_account_id")
        if account_id is not None:
            account = db.session.get(Account, account_id)
            if account is None or account.type != "revenue" or account.is_group:
                problems["sales_account_id"] = [f"no revenue account (not a group) with id {account_id}"]
        if problems:
            raise ValidationError(problems)


REQUIRED_FOR_BOOKING = ("default_client_id", "warehouse_id", "branch_id")


def missing_for_booking(settings: dict[str, Any]) -> list[str]:
    """The settings a store still needs before its orders can be booked."""
    return [name for name in REQUIRED_FOR_BOOKING if not settings.get(name)]
