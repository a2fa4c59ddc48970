"""One transaction per service call: all of it commits, or none of it."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from core.dbsetup import WRITE_OPTION
from core.extensions import db
from core.services import domain_events

#: Session-info key counting the open ``atomic()`` blocks.
DEPTH = "mizan.atomic_depth"
#: Session-info key set when an inner block failed and rolled the whole transaction back.
DOOMED = "mizan.atomic_doomed"


class TransactionRolledBack(RuntimeError):
    """An inner ``atomic()`` failed, so the outer one has nothing left to commit."""


@contextmanager
def atomic() -> Iterator[Session]:
    """Run the block in one transaction, committing at the end or rolling back on error.

    An ``atomic()`` inside another joins it: only the outermost block commits, so a caller can
    post a document and record its domain event in one commit. Domain events recorded in the
    transaction (and the stock it moved) are written to the outbox before the commit; the
    after-commit listeners (the dispatcher) are told once it has committed.
    """
    session = db.session()
    depth = session.info.get(DEPTH, 0)
    if depth:
        session.info[DEPTH] = depth + 1
        try:
            yield session
        except BaseException:
            # The whole transaction is lost (a failed flush leaves nothing to keep); the outer
            # block re-raises or, if it swallowed the error, refuses to commit.
            session.rollback()
            domain_events.forget(session)
            session.info[DOOMED] = True
            raise
        finally:
            session.info[DEPTH] = depth
        return
    if session.in_transaction():
        # Close a read transaction left open by earlier queries so the write
        # transaction starts fresh (on SQLite it must start with BEGIN IMMEDIATE).
        session.commit()
    session.info[DEPTH] = 1
    try:
        if session.get_bind().dialect.name == "sqlite":
            session.connection(execution_options={WRITE_OPTION: True})  # BEGIN IMMEDIATE (core.dbsetup)
        yield session
        if session.info.pop(DOOMED, None):
            raise TransactionRolledBack("an inner transaction failed and rolled everything back")
        domain_events.record_stock_changes(session)
        session.commit()
    except BaseException:
        session.rollback()
        domain_events.forget(session)
        raise
    finally:
        session.info.pop(DEPTH, None)
        session.info.pop(DOOMED, None)
    domain_events.committed(session)
