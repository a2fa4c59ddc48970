"""One transaction per service call: all of it commits, or none of it."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.dbsetup import AUTOCOMMIT_OPTION, WRITE_OPTION
from core.extensions import db
from core.services import domain_events

#: Session-info key counting the open ``atomic()`` blocks.
DEPTH = "mizan.atomic_depth"
#: Session-info key set when an inner block failed and rolled the whole transaction back.
DOOMED = "mizan.atomic_doomed"


class TransactionRolledBack(RuntimeError):
    """An inner ``atomic()`` failed, so the outer one has nothing left to commit."""


def begin_writing(session: Session | None = None) -> Session:
    """Start a transaction that will write. On SQLite a read transaction left open by earlier queries
    is closed first and the new one begins with ``BEGIN IMMEDIATE`` (core.dbsetup), so it never has
    to upgrade a read snapshot (which fails at once when another writer committed). On PostgreSQL
    (read committed: every statement sees what is committed) the open transaction goes on, which
    saves a ``COMMIT`` and a ``BEGIN`` per job.

    ``atomic()`` starts with it.
    """
    session = session or db.session()
    if session.get_bind().dialect.name != "sqlite":
        return session  # PostgreSQL (read committed): the reads so far simply join the writing transaction
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})  # BEGIN IMMEDIATE (core.dbsetup)
    return session


@contextmanager
def statement_connection() -> Iterator[Connection]:
    """A Core connection of its own, outside the session, on which each statement is its own
    transaction (autocommit): a read takes no lock and a single write commits as it returns, with
    no ``BEGIN`` or ``COMMIT`` round trip. For a hot path that reads, then writes one row (the
    webhook acknowledgement); on SQLite only the write takes the write lock, and only while it runs."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # The driver already commits each statement (core.dbsetup emits BEGIN itself, and not here);
            # SQLAlchemy's AUTOCOMMIT level would, when reset, put the connection back in the driver's
            # legacy implicit-BEGIN mode.
            yield connection.execution_options(**{AUTOCOMMIT_OPTION: True})
        else:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")


def doomed() -> bool:
    """Whether an inner ``atomic()`` of the open one failed: everything since its start is rolled back."""
    return bool(db.session().info.get(DOOMED))


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
    session.info[DEPTH] = 1
    try:
        begin_writing(session)
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
