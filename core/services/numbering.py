"""Gap-free document numbers from the sequences table (the row is locked until commit)."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Update, bindparam, update

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


_SEQUENCES = Sequence.__table__.c


@lru_cache(maxsize=8)
def _bump(count: int) -> Update:
    """Bump ``count`` sequences (parameters ``n0``...) in one statement, built once per count."""
    return (
        update(Sequence.__table__)
        .where(_SEQUENCES.name.in_([bindparam(f"n{i}") for i in range(count)]))
        .values(last_value=_SEQUENCES.last_value + 1)
        .returning(_SEQUENCES.name, _SEQUENCES.prefix, _SEQUENCES.last_value)
    )


def next_numbers(*document_types: str) -> list[str]:
    """Reserve the next number of each of ``document_types`` (distinct) in one statement."""
    rows = execute(_bump(len(document_types)), {f"n{i}": name for i, name in enumerate(document_types)})
    found = {name: f"{prefix}-{value:06d}" for name, prefix, value in rows}
    return [found[name] if name in found else next_number(name) for name in document_types]
