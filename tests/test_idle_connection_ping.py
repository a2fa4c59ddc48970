"""Pooled connections are pinged only after sitting idle (issue 12): a dead one is replaced unseen,
a busy one is handed out without the round trip, and a dead busy one costs one failed statement.

Each test builds an engine of its own on the test database (PostgreSQL: the connection is ended
from the server with ``pg_terminate_backend``; SQLite: it is closed under the pool).
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from core.dbsetup import ping_idle_connections


@pytest.fixture
def engine(app):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def backend_of(engine) -> object:
    """The DB-API connection the pool hands out next (it has one)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        return connection.connection.dbapi_connection


def end_connection(engine, dbapi_connection) -> None:
    """End a pooled connection behind the pool's back, as a database restart would."""
    if engine.dialect.name == "postgresql":
        pid = dbapi_connection.info.backend_pid
        with create_engine(engine.url).connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    else:
        dbapi_connection.close()


def test_a_connection_that_died_while_idle_is_replaced_before_the_statement_runs(engine):
    ping_idle_connections(engine, after=0.05)
    dead = backend_of(engine)
    end_connection(engine, dead)
    time.sleep(0.2)  # longer than ``after``: the checkout pings, finds it dead and connects anew

    with engine.connect() as connection:
        assert connection.execute(text("SELECT 41 + 1")).scalar_one() == 42
        assert connection.connection.dbapi_connection is not dead


def test_a_connection_in_steady_use_is_not_pinged_so_a_dead_one_fails_once_then_the_pool_recovers(engine):
    ping_idle_connections(engine, after=3600)
    dead = backend_of(engine)
    end_connection(engine, dead)

    with pytest.raises(DBAPIError) as failure, engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert failure.value.connection_invalidated

    with engine.connect() as connection:
        assert connection.execute(text("SELECT 41 + 1")).scalar_one() == 42
        assert connection.connection.dbapi_connection is not dead
