"""Gap-free document numbers from the sequences table (the row is locked until commit)."""
from __future__ import annotations

from sqlalchemy import bindparam, update

from core.extensions import db
from core.models import Sequence
from core.services.rows import execute
from core.services.upsert import insert_ignoring_conflicts

PREFIXES = {
    "sales_invoice": "INV",
    "return_invoice": "RET",
    "payment_voucher": "PV",
    "journal_entry": "JE",
    "inbound_requisition": "IR",
    "opening_balance": "OB",
}


def next_number(document_type: str) -> str:
    """Reserve the next number for ``document_type``, e.g. ``INV-000042``."""
    statement = (
        update(Sequence)
        .where(Sequence.name == document_type)
        .values(last_value=Sequence.last_value + 1)
        .returning(Sequence.prefix, Sequence.last_value)
    )
    row = db.session.execute(statement).first()
    if row is None:
        prefix = PREFIXES.get(document_type, document_type[:3].upper())
        insert_ignoring_conflicts(
            Sequence, [{"name": document_type, "prefix": prefix, "last_value": 0}]
        )
        row = db.session.execute(statement).one()
    prefix, value = row
    return f"{prefix}-{value:06d}"


_BUMP_MANY = (
    update(Sequence)
    .where(Sequence.name.in_(bindparam("names", expanding=True)))
    .values(last_value=Sequence.last_value + 1)
    .returning(Sequence.name, Sequence.prefix, Sequence.last_value)
)


def next_numbers(*document_types: str) -> list[str]:
    """Reserve the next number of each of ``document_types`` (distinct) in one statement."""
    found = {name: f"{prefix}-{value:06d}" for name, prefix, value in execute(_BUMP_MANY, {"names": list(document_types)})}
    return [found[name] if name in found else next_number(name) for name in document_types]
