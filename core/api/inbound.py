"""Inbound requisitions and opening balances: list, show, and post stock in at a cost."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.api.loading import load_body, load_query
from core.api.operations import operation
from core.api.pagination import paginate_query
from core.api.schemas.fields import URL_ID
from core.api.schemas.inbound import InboundCreateSchema, InboundQuery, InboundSchema
from core.models import InboundRequisition
from core.services.inbound import post_inbound
from core.services.lookup import get_or_404

TAG = "Inbound requisitions"


@operation("List inbound requisitions and opening balances", TAG, response=InboundSchema, query=InboundQuery, paginated=True)
def list_requisitions() -> dict[str, Any]:
    query = load_query(InboundQuery())
    statement = (
        select(InboundRequisition)
        .options(selectinload(InboundRequisition.lines))
        .order_by(InboundRequisition.date.desc(), InboundRequisition.id.desc())
    )
    for name in ("kind", "warehouse_id"):
        if query.get(name) is not None:
            statement = statement.where(getattr(InboundRequisition, name) == query[name])
    return paginate_query(statement, InboundSchema(), query)


@operation("Show an inbound requisition", TAG, response=InboundSchema)
def get_requisition(requisition_id: int) -> dict[str, Any]:
    return InboundSchema().dump(get_or_404(InboundRequisition, requisition_id, "Requisition"))


@operation(
    "Post an inbound requisition or opening balance",
    TAG,
    body=InboundCreateSchema,
    response=InboundSchema,
    status=201,
    description="Brings stock in at the given unit costs (moving average) and debits inventory "
    "against goods received (requisition) or opening balance equity.",
)
def create_requisition() -> tuple[dict[str, Any], int, dict[str, str]]:
    requisition = post_inbound(load_body(InboundCreateSchema()))
    location = url_for("api.inbound_requisitions_get", requisition_id=requisition.id)
    return InboundSchema().dump(requisition), 201, {"Location": location}


def register(blueprint: Blueprint) -> None:
    path = "/inbound-requisitions"
    blueprint.add_url_rule(path, "inbound_requisitions_list", list_requisitions, methods=["GET"])
    blueprint.add_url_rule(path, "inbound_requisitions_create", create_requisition, methods=["POST"])
    blueprint.add_url_rule(
        f"{path}/<{URL_ID}:requisition_id>", "inbound_requisitions_get", get_requisition, methods=["GET"]
    )
