"""Portable INSERT ... ON CONFLICT DO NOTHING for PostgreSQL and SQLite."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db


def insert_ignoring_conflicts(model: type, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``model``'s table, skipping rows whose unique key exists."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if len(rows) == 1:  # the common case: a statement built once per table, the row as its parameters
        db.session.execute(_ignoring_conflicts(model.__table__, dialect), rows[0])  # type: ignore[attr-defined]
        return
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(rows).on_conflict_do_nothing())


@lru_cache(maxsize=64)
def _ignoring_conflicts(table: Table, dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


def insert_or_update(model: type, row: dict[str, Any], key: list[str], update: dict[str, Any]) -> None:
    """Insert ``row``, or set ``update`` on the row that has the same ``key`` columns."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(row).on_conflict_do_update(index_elements=key, set_=update))
