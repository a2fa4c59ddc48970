"""Engine tuning: SQLite deferred reads, immediate writes, WAL durability and foreign keys; idle connections pinged."""
from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError

log = logging.getLogger(__name__)

#: Execution option ``atomic()`` starts its connection with: the transaction will write.
WRITE_OPTION = "mizan_write"
#: Execution option of a connection on which each statement is its own transaction (SQLite: no
#: ``BEGIN`` is emitted, and the driver, left in autocommit, commits each statement).
AUTOCOMMIT_OPTION = "mizan_autocommit"
#: ``connection.info`` key set while a transaction runs that began deferred (a read).
DEFERRED = "mizan.deferred"
#: ``connection.info`` key set between SQLAlchemy's begin and the transaction's first statement.
PENDING = "mizan.begin_pending"
#: The durability chosen for the ledger (README, "Configuration"): a committed posting survives a power cut.
SYNCHRONOUS = "FULL"
_WRITES = ("insert", "update", "delete", "replace")
#: ``ConnectionRecord.info`` key: when the pooled connection was last given back (``time.monotonic()``).
CHECKED_IN_AT = "mizan.checked_in_at"


def configure_engine(engine: Engine, ping_after_idle: float = 0.0) -> None:
    """Tune the engine for its database: :func:`configure_sqlite`, or on a server database
    :func:`ping_idle_connections`."""
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    elif ping_after_idle > 0:
        ping_idle_connections(engine, ping_after_idle)


def ping_idle_connections(engine: Engine, after: float) -> None:
    """Check a pooled connection that sat unused for more than ``after`` seconds before handing it
    out (one ``SELECT 1``); a dead one is replaced, so a database restarted while the app idled
    costs no request. A connection in steady use is handed out without the round trip that
    ``pool_pre_ping`` spends on every checkout (a webhook acknowledgement is two statements).
    Should the server restart under load, the first statement on each stale connection fails,
    the pool discards its connections (SQLAlchemy's disconnect detection), and the next request
    works: a webhook's sender retries, a job is retried."""
    if getattr(engine, "_mizan_pinging", False):
        return
    engine._mizan_pinging = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at <= after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the pooled connection is dead; the pool takes a new one") from error


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave for concurrent readers and writers.

    A transaction started by ``atomic()`` (every write), or whose first statement writes or locks
    (``SELECT ... FOR UPDATE``), begins with ``BEGIN IMMEDIATE``: it takes the write lock first, so
    writers queue on the busy timeout instead of failing with "database is locked" when a read
    transaction tries to upgrade. Any other transaction (a read) begins deferred and, in WAL mode,
    reads its snapshot without waiting for a writer and without holding one up.
    ``synchronous=FULL``: a committed transaction is on disk (measured in bench/book_orders.py, see
    the README). PostgreSQL needs no locking set-up: services take row locks (``SELECT ... FOR UPDATE``).
    """
    if getattr(engine, "_mizan_configured", False):
        return
    engine._mizan_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # BEGIN is emitted with the transaction's first statement, when it is known what it does;
        # on an autocommit connection (transaction.statement_connection) each statement is its own.
        if connection.get_execution_options().get(AUTOCOMMIT_OPTION):
            return
        connection.info[PENDING] = True
        connection.info.pop(DEFERRED, None)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Connection) -> None:
        connection.info.pop(PENDING, None)
        connection.info.pop(DEFERRED, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(connection: Connection, cursor: Any, statement: str, _parameters: Any, context: Any,
                      _executemany: bool) -> None:
        if connection.info.pop(PENDING, False):
            immediate = _writes(connection, statement, context)
            cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            if not immediate:
                connection.info[DEFERRED] = True
        elif connection.info.get(DEFERRED) and _is_write(statement):
            # A read transaction upgraded to a write: it fails at once (SQLITE_BUSY) when another
            # writer committed since it began. Writes belong in atomic().
            log.warning("a write outside atomic() on SQLite: %s", statement.split("\n", 1)[0][:200])


def _writes(connection: Connection, statement: str, context: Any) -> bool:
    """Whether a transaction starting with ``statement`` takes the write lock: it was begun by ``atomic()``,
    or it starts with a write or a locking read (``SELECT ... FOR UPDATE``, which SQLite does not spell)."""
    if connection.get_execution_options().get(WRITE_OPTION) or _is_write(statement):
        return True
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].lower().startswith(_WRITES)
