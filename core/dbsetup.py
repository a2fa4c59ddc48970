"""Engine tuning: SQLite write serialisation and foreign keys."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine(engine: Engine) -> None:
    """Make SQLite behave for concurrent writers.

    Every SQLite transaction starts with ``BEGIN IMMEDIATE`` so writers queue on the
    busy timeout instead of failing with "database is locked" when a read
    transaction tries to upgrade. WAL lets readers go on while one writer works.
    PostgreSQL needs nothing here: services take row locks (``SELECT ... FOR UPDATE``).
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_mizan_configured", False):
        return
    engine._mizan_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
