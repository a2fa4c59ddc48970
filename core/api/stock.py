"""Stock reports: on-hand levels per product and warehouse, and a product's stock card."""
from __future__ import annotations

from typing import Any, NamedTuple

from flask import Blueprint

from core.api.loading import load_query
from core.api.operations import operation
from core.api.pagination import paginate_list
from core.api.schemas.fields import URL_ID
from core.api.schemas.reports import (
    StockCardQuery,
    StockCardRowSchema,
    StockLevelQuery,
    StockLevelSchema,
)
from core.models import Product, StockMovement
from core.services.lookup import get_or_404
from core.services.reports import stock_card, stock_levels

TAG = "Stock"


class StockCardRow(NamedTuple):
    movement: StockMovement
    balance: Any


@operation("On-hand quantity and value per product and warehouse", TAG, response=StockLevelSchema, query=StockLevelQuery, paginated=True)
def list_stock_levels() -> dict[str, Any]:
    query = load_query(StockLevelQuery())
    levels = stock_levels(warehouse_id=query["warehouse_id"], product_id=query["product_id"])
    return paginate_list(levels, StockLevelSchema(), query)


@operation("A product's stock movements with the running quantity", TAG, response=StockCardRowSchema, query=StockCardQuery, paginated=True)
def get_stock_card(product_id: int) -> dict[str, Any]:
    query = load_query(StockCardQuery())
    get_or_404(Product, product_id, "Product")
    rows = [StockCardRow(m, balance) for m, balance in stock_card(product_id, query["warehouse_id"])]
    return paginate_list(rows, StockCardRowSchema(), query)


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/stock-levels", "stock_levels_list", list_stock_levels, methods=["GET"])
    blueprint.add_url_rule(
        f"/products/<{URL_ID}:product_id>/stock-card", "products_stock_card", get_stock_card, methods=["GET"]
    )
