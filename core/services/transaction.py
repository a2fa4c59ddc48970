"""One transaction per service call: all of it commits, or none of it."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from core.extensions import db
from core.services.stock import STOCK_CHANGED


@contextmanager
def atomic() -> Iterator[Session]:
    """Run the block in one transaction, committing at the end or rolling back on error."""
    session = db.session()
    if session.in_transaction():
        # Close a read transaction left open by earlier queries so the write
        # transaction starts fresh (on SQLite it must start with BEGIN IMMEDIATE).
        session.commit()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(STOCK_CHANGED, None)
        raise
    moved = session.info.pop(STOCK_CHANGED, None)
    if moved:
        from core.integration.events import stock_changed

        stock_changed(moved)
