"""List, show and create master data: accounts, clients, categories, products, warehouses, branches."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from marshmallow import Schema
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from core.api.loading import load_body, load_query
from core.api.operations import operation
from core.api.pagination import paginate_query
from core.api.schemas.common import PageQuery
from core.api.schemas.fields import URL_ID
from core.api.schemas.master_data import (
    AccountSchema,
    BranchSchema,
    CategorySchema,
    ClientSchema,
    ProductSchema,
    SearchQuery,
    WarehouseSchema,
)
from core.models import Account, Branch, Category, Client, Product, Warehouse
from core.services.lookup import get_or_404
from core.services.master_data import create_record


def register_master_data(
    blueprint: Blueprint,
    path: str,
    model: type,
    schema: type[Schema],
    label: str,
    order_by: InstrumentedAttribute[Any],
    search: tuple[InstrumentedAttribute[Any], ...] = (),
) -> None:
    """Add ``GET /<path>``, ``POST /<path>`` and ``GET /<path>/<id>`` for one model."""
    name = path.replace("-", "_")
    id_name = f"{label}_id"
    tag = path.replace("-", " ").capitalize()
    query_schema = SearchQuery if search else PageQuery

    @operation(f"List {path}", tag, response=schema, query=query_schema, paginated=True)
    def list_rows() -> dict[str, Any]:
        query = load_query(query_schema())
        statement: Select[Any] = select(model).order_by(order_by, model.id)  # type: ignore[attr-defined]
        if search and query.get("q"):
            statement = statement.where(or_(*(c.icontains(query["q"], autoescape=True) for c in search)))
        return paginate_query(statement, schema(), query)

    @operation(f"Show one {label}", tag, response=schema)
    def get_row(**url: int) -> dict[str, Any]:
        return schema().dump(get_or_404(model, url[id_name], label.capitalize()))

    @operation(f"Create a {label}", tag, body=schema, response=schema, status=201)
    def create_row() -> tuple[dict[str, Any], int, dict[str, str]]:
        row = create_record(model, load_body(schema()))
        return schema().dump(row), 201, {"Location": url_for(f"api.{name}_get", **{id_name: row.id})}

    blueprint.add_url_rule(f"/{path}", f"{name}_list", list_rows, methods=["GET"])
    blueprint.add_url_rule(f"/{path}", f"{name}_create", create_row, methods=["POST"])
    blueprint.add_url_rule(f"/{path}/<{URL_ID}:{id_name}>", f"{name}_get", get_row, methods=["GET"])


def register(blueprint: Blueprint) -> None:
    register_master_data(blueprint, "accounts", Account, AccountSchema, "account", Account.code)
    register_master_data(
        blueprint, "clients", Client, ClientSchema, "client", Client.name,
        search=(Client.name, Client.email, Client.phone),
    )
    register_master_data(blueprint, "categories", Category, CategorySchema, "category", Category.name)
    register_master_data(
        blueprint, "products", Product, ProductSchema, "product", Product.code,
        search=(Product.name, Product.code, Product.barcode),
    )
    register_master_data(blueprint, "warehouses", Warehouse, WarehouseSchema, "warehouse", Warehouse.code)
    register_master_data(blueprint, "branches", Branch, BranchSchema, "branch", Branch.code)
