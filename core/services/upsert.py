"""Portable INSERT ... ON CONFLICT DO NOTHING for PostgreSQL and SQLite."""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db


def insert_ignoring_conflicts(model: type, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``model``'s table, skipping rows whose unique key exists."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(rows).on_conflict_do_nothing())


def insert_or_update(model: type, row: dict[str, Any], key: list[str], update: dict[str, Any]) -> None:
    """Insert ``row``, or set ``update`` on the row that has the same ``key`` columns."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(row).on_conflict_do_update(index_elements=key, set_=update))
