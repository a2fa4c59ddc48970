"""Sales invoices: list, show, and post through the invoicing service."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.api.loading import load_body, load_query
from core.api.operations import operation
from core.api.pagination import paginate_query
from core.api.schemas.fields import URL_ID
from core.api.schemas.invoices import InvoiceCreateSchema, InvoiceQuery, InvoiceSchema
from core.models import SalesInvoice
from core.services.invoices import post_invoice
from core.services.lookup import get_or_404

TAG = "Invoices"


@operation("List sales invoices", TAG, response=InvoiceSchema, query=InvoiceQuery, paginated=True)
def list_invoices() -> dict[str, Any]:
    query = load_query(InvoiceQuery())
    statement = (
        select(SalesInvoice)
        .options(selectinload(SalesInvoice.lines), selectinload(SalesInvoice.payments))
        .order_by(SalesInvoice.date.desc(), SalesInvoice.id.desc())
    )
    for name in ("client_id", "reference", "external_key"):
        if query.get(name) is not None:
            statement = statement.where(getattr(SalesInvoice, name) == query[name])
    if query.get("date_from"):
        statement = statement.where(SalesInvoice.date >= query["date_from"])
    if query.get("date_to"):
        statement = statement.where(SalesInvoice.date <= query["date_to"])
    return paginate_query(statement, InvoiceSchema(), query)


@operation("Show a sales invoice with its lines, totals, entry and payments", TAG, response=InvoiceSchema)
def get_invoice(invoice_id: int) -> dict[str, Any]:
    return InvoiceSchema().dump(get_or_404(SalesInvoice, invoice_id, "Invoice"))


@operation(
    "Post a sales invoice",
    TAG,
    body=InvoiceCreateSchema,
    response=InvoiceSchema,
    status=201,
    description="Books revenue, VAT, receivable, stock out and COGS in one transaction; a paid "
    "invoice also gets a payment voucher. Not enough stock answers 409 (insufficient_stock) "
    "and writes nothing; an external_key posted before answers 409 with existing_id.",
)
def create_invoice() -> tuple[dict[str, Any], int, dict[str, str]]:
    invoice = post_invoice(load_body(InvoiceCreateSchema()))
    return InvoiceSchema().dump(invoice), 201, {"Location": url_for("api.invoices_get", invoice_id=invoice.id)}


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/invoices", "invoices_list", list_invoices, methods=["GET"])
    blueprint.add_url_rule("/invoices", "invoices_create", create_invoice, methods=["POST"])
    blueprint.add_url_rule(f"/invoices/<{URL_ID}:invoice_id>", "invoices_get", get_invoice, methods=["GET"])
