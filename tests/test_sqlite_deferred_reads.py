"""Reads do not take the write lock (issue 12): a read transaction begins deferred, atomic() begins immediate.

Two threads, each with its own session and connection, on the test database (a SQLite file in WAL
mode, or PostgreSQL): a long read does not hold up a writer, and a writer does not hold up a reader.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from core.dbsetup import DEFERRED
from core.extensions import db
from core.models import Client
from core.services.transaction import atomic

#: Far below the busy timeout (30 s): waiting on a lock would show.
QUICK = 5.0


def clients() -> int:
    return db.session.execute(select(func.count(Client.id))).scalar_one()


def in_thread(app, job) -> threading.Thread:
    def run() -> None:
        with app.app_context():
            try:
                job()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_long_read_transaction_does_not_block_a_writer(app):
    reading, written = threading.Event(), threading.Event()
    seen: list[int] = []

    def reader() -> None:
        seen.append(clients())  # the read transaction is open from here on
        reading.set()
        written.wait(QUICK * 2)
        seen.append(clients())  # same transaction, still open

    thread = in_thread(app, reader)
    assert reading.wait(QUICK)
    with app.app_context():
        start = time.monotonic()
        with atomic():
            db.session.add(Client(name="written while a read is open"))
        took = time.monotonic() - start
        db.session.remove()
    written.set()
    thread.join(QUICK * 3)
    assert took < QUICK, f"the writer waited {took:.1f} s for a reader"
    assert seen[0] == 0
    with app.app_context():
        assert clients() == 1
        db.session.remove()


def test_a_writer_does_not_block_a_reader(app):
    writing, read = threading.Event(), threading.Event()

    def writer() -> None:
        with atomic():
            db.session.add(Client(name="not committed yet"))
            db.session.flush()  # the write lock is held (SQLite) and the row written, uncommitted
            writing.set()
            read.wait(QUICK * 2)

    thread = in_thread(app, writer)
    assert writing.wait(QUICK)
    with app.app_context():
        start = time.monotonic()
        during = clients()
        took = time.monotonic() - start
        db.session.remove()
    read.set()
    thread.join(QUICK * 3)
    assert took < QUICK, f"the reader waited {took:.1f} s for a writer"
    assert during == 0  # it sees the last committed state, not the writer's work
    with app.app_context():
        assert clients() == 1
        db.session.remove()


def test_on_sqlite_reads_begin_deferred_and_writes_or_locking_reads_begin_immediate(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            assert db.engine.dialect.name == "postgresql"  # row locks there; no BEGIN mode to choose
            return
        try:
            clients()
            assert db.session.connection().info.get(DEFERRED) is True
            db.session.commit()
            with atomic():
                db.session.add(Client(name="a write"))
                db.session.flush()
                assert not db.session.connection().info.get(DEFERRED)
            db.session.execute(select(Client).with_for_update()).all()
            assert not db.session.connection().info.get(DEFERRED)
            db.session.commit()
        finally:
            db.session.remove()
