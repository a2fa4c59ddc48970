"""Paginating lists: ?page=&per_page= in, {"items", "page", "per_page", "total", "pages"} out."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from marshmallow import Schema
from sqlalchemy import Select, func, select

from core.api.errors import ApiError
from core.extensions import db


def page_params(query: dict[str, Any]) -> tuple[int, int]:
    """The page and page size from a loaded query (see ``PageQuery``), within the configured maximum."""
    maximum = int(current_app.config["API_MAX_PAGE_SIZE"])
    per_page = query.get("per_page") or int(current_app.config["API_PAGE_SIZE"])
    if per_page > maximum:
        raise ApiError(400, "The query parameters are not valid.", {"per_page": [f"must be at most {maximum}"]})
    return query.get("page") or 1, per_page


def paginate_query(statement: Select[Any], schema: Schema, query: dict[str, Any]) -> dict[str, Any]:
    """One page of the rows ``statement`` selects, dumped with ``schema``."""
    page, per_page = page_params(query)
    total = db.session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return envelope(schema.dump(rows, many=True), page, per_page, total)


def paginate_list(items: Sequence[Any], schema: Schema, query: dict[str, Any]) -> dict[str, Any]:
    """One page of an already computed list (reports)."""
    page, per_page = page_params(query)
    start = (page - 1) * per_page
    return envelope(schema.dump(items[start : start + per_page], many=True), page, per_page, len(items))


def envelope(items: list[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": (total + per_page - 1) // per_page,
    }
