"""Creating master data: accounts, clients, categories, products, warehouses, branches."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import Account, Category, Product
from core.services.domain_events import ProductCreated, record
from core.services.errors import Conflict, Invalid
from core.services.lookup import referenced
from core.services.transaction import atomic

T = TypeVar("T")

#: Which unique column to name when an insert clashes.
UNIQUE_FIELDS = ("code", "barcode", "key", "username")


def create_record(model: type[T], fields: dict[str, Any]) -> T:
    """Insert one row of ``model``; a duplicate unique value becomes :class:`Conflict`."""
    _check_references(model, fields)
    try:
        with atomic():
            row = model(**fields)
            db.session.add(row)
            db.session.flush()
            if model is Product:
                record(ProductCreated(row.id))
    except IntegrityError:
        clashing = _clashing_fields(model, fields)
        label = ", ".join(f"{name} {fields[name]}" for name in clashing) or "these values"
        raise Conflict(
            f"A {model.__name__.lower()} with {label} exists.",
            {name: ["already exists"] for name in clashing},
        ) from None
    return row


def _clashing_fields(model: type, fields: dict[str, Any]) -> list[str]:
    """The unique fields whose value another row already holds (all given ones if none is found)."""
    given = [name for name in UNIQUE_FIELDS if fields.get(name) is not None and hasattr(model, name)]
    taken = [
        name for name in given
        if db.session.execute(
            select(getattr(model, name)).where(getattr(model, name) == fields[name]).limit(1)
        ).first() is not None
    ]
    return taken or given


def _check_references(model: type, fields: dict[str, Any]) -> None:
    if model is Account and fields.get("parent_id") is not None:
        parent = referenced(Account, fields["parent_id"], "parent_id")
        if not parent.is_group:
            raise Invalid(
                f"Account {parent.code} is not a group account and cannot have children.",
                {"parent_id": ["must be a group account"]},
            )
        if parent.type != fields.get("type"):
            raise Invalid(
                f"A {fields.get('type')} account cannot sit under the {parent.type} account {parent.code}.",
                {"type": [f"must be {parent.type}, like its parent"]},
            )
    if model is Category and fields.get("parent_id") is not None:
        referenced(Category, fields["parent_id"], "parent_id")
    if model is Product and fields.get("category_id") is not None:
        referenced(Category, fields["category_id"], "category_id")
