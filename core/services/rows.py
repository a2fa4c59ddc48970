"""Rows written with Core statements handed back as ORM objects, without a flush or a re-read."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict

from core.extensions import db

T = TypeVar("T")

#: ``Session.info`` key: (the session's transaction, its connection), kept for the transaction's length.
_CONNECTION = "mizan.rows.connection"


def connection(session: Session | None = None) -> Connection:
    """The connection of the session's current transaction (beginning one if needed), looked up
    once per transaction: a posting runs about ten statements on it."""
    session = session or db.session()
    kept = session.info.get(_CONNECTION)
    transaction = session.get_transaction()
    if kept is not None and transaction is not None and kept[0] is transaction and not kept[1].closed:
        return kept[1]
    found = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), found)
    return found


def execute(statement: Executable, parameters: Any = None) -> CursorResult[Any]:
    """Run a Core ``statement`` on the session's connection (no ORM layer, no autoflush: flush first
    when ORM rows the statement refers to may be pending)."""
    return connection().execute(statement, parameters)


def persistent(model: type[T], values: dict[str, Any]) -> T:
    """A ``model`` row just inserted with ``values`` (its primary key among them), attached to the
    session as a clean, loaded row: nothing is flushed for it, columns and relationships not given
    load lazily, and the commit expires it like any other row.

    The values go straight into the instance's state as loaded (committed) values, as a query
    would put them, without the constructor's attribute events: a posting builds one or two."""
    instance = sa_inspect(model).class_manager.new_instance()
    instance_dict(instance).update(values)
    make_transient_to_detached(instance)
    db.session.add(instance)
    return instance
