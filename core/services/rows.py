"""Rows written with Core statements handed back as ORM objects, without a flush or a re-read."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable
from sqlalchemy.orm import make_transient_to_detached

from core.extensions import db

T = TypeVar("T")


def execute(statement: Executable, parameters: Any = None) -> CursorResult[Any]:
    """Run a Core ``statement`` on the session's connection (no ORM layer, no autoflush: flush first
    when ORM rows the statement refers to may be pending)."""
    return db.session.connection().execute(statement, parameters)


def persistent(instance: T) -> T:
    """Attach ``instance`` (built with its primary key and the values just inserted) to the session.

    It joins the identity map as a clean, loaded row: nothing is flushed for it, relationships
    not given load lazily, and the commit expires it like any other row.
    """
    make_transient_to_detached(instance)
    db.session.add(instance)
    return instance
