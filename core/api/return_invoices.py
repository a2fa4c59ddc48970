"""Return invoices (credit notes): list, show, and post through the returns service."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.api.loading import load_body, load_query
from core.api.operations import operation
from core.api.pagination import paginate_query
from core.api.schemas.fields import URL_ID
from core.api.schemas.returns import ReturnCreateSchema, ReturnInvoiceSchema, ReturnQuery
from core.models import ReturnInvoice
from core.services.lookup import get_or_404
from core.services.returns import post_return

TAG = "Return invoices"


@operation("List return invoices", TAG, response=ReturnInvoiceSchema, query=ReturnQuery, paginated=True)
def list_returns() -> dict[str, Any]:
    query = load_query(ReturnQuery())
    statement = (
        select(ReturnInvoice)
        .options(selectinload(ReturnInvoice.lines))
        .order_by(ReturnInvoice.date.desc(), ReturnInvoice.id.desc())
    )
    if query.get("invoice_id") is not None:
        statement = statement.where(ReturnInvoice.invoice_id == query["invoice_id"])
    return paginate_query(statement, ReturnInvoiceSchema(), query)


@operation("Show a return invoice", TAG, response=ReturnInvoiceSchema)
def get_return(return_id: int) -> dict[str, Any]:
    return ReturnInvoiceSchema().dump(get_or_404(ReturnInvoice, return_id, "Return invoice"))


@operation(
    "Post a return invoice against a sales invoice",
    TAG,
    body=ReturnCreateSchema,
    response=ReturnInvoiceSchema,
    status=201,
    description="Reverses revenue, VAT and cost for the returned quantities and brings restocked "
    "goods back at the cost they left with. More than is left to return answers 422.",
)
def create_return() -> tuple[dict[str, Any], int, dict[str, str]]:
    returned = post_return(load_body(ReturnCreateSchema()))
    location = url_for("api.return_invoices_get", return_id=returned.id)
    return ReturnInvoiceSchema().dump(returned), 201, {"Location": location}


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/return-invoices", "return_invoices_list", list_returns, methods=["GET"])
    blueprint.add_url_rule("/return-invoices", "return_invoices_create", create_return, methods=["POST"])
    blueprint.add_url_rule(
        f"/return-invoices/<{URL_ID}:return_id>", "return_invoices_get", get_return, methods=["GET"]
    )
