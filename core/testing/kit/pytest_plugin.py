"""The kit as a pytest plugin (``pytest11``): the app on a clean database, served sandboxes, and ``driver``.

Every test that asks for ``driver`` (or ``connected_store``) runs once per installed driver
(:data:`core.testing.kit.driver.DRIVER_GROUP`). ``@pytest.mark.capability("partial_refunds")`` limits a
test to the drivers declaring that capability. No installed driver fails the test: nothing in the kit
passes on an empty list or skips.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.testing.kit.driver import driver_classes, missing_capabilities

NO_DRIVER = "no-driver-installed"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "capability(name): a kit test of an optional driver capability")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``driver`` over every installed driver (those declaring the test's capability)."""
    if "driver_class" not in metafunc.fixturenames:
        return
    drivers = driver_classes()
    marker = metafunc.definition.get_closest_marker("capability")
    if marker is not None:
        wanted = marker.args[0]
        drivers = {name: cls for name, cls in drivers.items() if wanted in getattr(cls, "capabilities", ())}
    if drivers:
        metafunc.parametrize("driver_class", list(drivers.values()), ids=list(drivers), scope="function")
    else:
        metafunc.parametrize("driver_class", [None], ids=[NO_DRIVER], scope="function")


@pytest.fixture
def driver_class(request: pytest.FixtureRequest) -> type:
    """The driver class under test (parametrised by :func:`pytest_generate_tests`)."""
    cls = getattr(request, "param", None)
    if cls is None:
        marker = request.node.get_closest_marker("capability")
        what = f" declaring capability {marker.args[0]!r}" if marker else ""
        pytest.fail(f"no store driver{what} is installed (entry-point group mizan.testing)")
    missing = missing_capabilities(cls)
    if missing:
        pytest.fail(f"{cls.__name__} declares {missing} but lacks the driver methods they need")
    return cls


@pytest.fixture
def driver(driver_class: type) -> Any:
    """A fresh driver (and sandbox store) of the installed platform under test."""
    return driver_class()


@pytest.fixture
def first_driver() -> Any:
    """A driver of the first installed platform (for tests that need a real store but test no platform)."""
    drivers = [cls for name, cls in driver_classes().items() if name != "dummy"] or list(driver_classes().values())
    if not drivers:
        pytest.fail("no store driver is installed (entry-point group mizan.testing)")
    return drivers[0]()


# --- figures the long probes measured --------------------------------------------------------------

#: What the long probes measured (requests tried, 5xx, deliveries stored): shown after the run.
PROBE_FIGURES: list[str] = []


@pytest.fixture(scope="session")
def probe_figures() -> list[str]:
    """A probe appends a line of figures here; the terminal summary prints them, so CI's log keeps them."""
    return PROBE_FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if PROBE_FIGURES:
        terminalreporter.section("probe figures")
        for line in PROBE_FIGURES:
            terminalreporter.write_line(line)


# --- the application on a database -------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite in a temporary file, or a scratch database on the server ``DATABASE_URL`` names.

    On PostgreSQL each test session creates its own database (named after the
    one in ``DATABASE_URL`` plus the process id) and drops it afterwards, so two
    runs on one server never share tables.
    """
    from core.config import normalise_database_url

    url = os.environ.get("DATABASE_URL")
    if not url:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "mizan-test.sqlite")
        return
    base = make_url(normalise_database_url(url))
    scratch = f"{base.database}_t{os.getpid()}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{scratch}"')
    yield base.set(database=scratch).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


@pytest.fixture(scope="session")
def session_app(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Flask]:
    """The application, on a schema freshly built by the migrations (its data is whatever the last test left)."""
    from flask_migrate import upgrade

    from core import create_app
    from core.extensions import db

    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            # A real key: worker processes started by tests run without TESTING and refuse weak ones.
            "SECRET_KEY": secrets.token_hex(32),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "REDIS_URL": None,  # jobs in-process; the job tests build their own app on Redis
            "EXTRA_PLUGINS": ("core.testing.dummy:DummyPlugin", "core.testing.dummy_basic:DummyBasicPlugin"),
            # Per-address failure limits off: tests sign in from one address all session long;
            # tests/web/test_security_rate_limits.py turns them on.
            "LOGIN_ATTEMPT_LIMIT": "",
            "API_TOKEN_FAILURE_LIMIT": "",
        }
    )
    with app.app_context():
        upgrade(revision="heads")
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(session_app: Flask) -> Flask:
    """The application on a clean database: every table emptied, the default chart and company settings seeded.

    Opt-in: only tests asking for ``app`` (or a fixture built on it) touch the database.
    """
    from core.extensions import db
    from core.services.chart import seed_default_chart
    from core.services.company import company_settings
    from core.services.transaction import atomic

    with session_app.app_context():
        wipe_tables()
        with atomic():
            seed_default_chart()
            company_settings().vat_rate = Decimal("0.15")
        db.session.remove()
    return session_app


def wipe_tables() -> None:
    """Delete every row, children first (DELETE is much faster than TRUNCATE on small tables)."""
    from core.extensions import db

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        for name in tables:
            connection.execute(text(f"DELETE FROM {name}"))
        if connection.dialect.name == "sqlite" and connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
        ).first():
            connection.execute(text("DELETE FROM sqlite_sequence"))


# --- a driver's store connected to the ERP, both over HTTP ------------------------------------------


class ConnectedStore:
    """A platform sandbox connected to the ERP served over HTTP."""

    def __init__(self, driver: Any, store_id: int, ids: SimpleNamespace, erp_url: str, key: str = "") -> None:
        self.driver, self.store_id, self.ids, self.erp_url = driver, store_id, ids, erp_url
        #: The store's connection key (its webhook URL is ``/webhooks/<key>``).
        self.key = key


@pytest.fixture
def served_app(app: Flask) -> Iterator[str]:
    """The app over HTTP on 127.0.0.1; ``PUBLIC_URL`` points at it (restored afterwards)."""
    from core.testing.sandbox import SandboxServer

    previous = app.config["PUBLIC_URL"]
    with SandboxServer(app) as erp:
        app.config["PUBLIC_URL"] = erp.url
        try:
            yield erp.url
        finally:
            app.config["PUBLIC_URL"] = previous


@contextmanager
def connect(app: Flask, erp_url: str, driver: Any, ids: SimpleNamespace | None = None) -> Iterator[ConnectedStore]:
    """Serve ``driver``'s sandbox, install its plugin and connect and activate a store of it on ``ids``
    (default: :func:`~core.testing.kit.builders.seed_shop`'s warehouse MAIN, branch RUH and client Walk-in)."""
    from core.extensions import db
    from core.integration import connections
    from core.plugins import registry
    from core.testing.kit.builders import seed_shop

    with driver.serve() as store_server:
        driver.url = store_server.url
        try:
            with app.app_context():
                ids = ids or seed_shop()
                plugins = registry()
                plugins.install(driver.platform)
                plugins.enable(driver.platform)
                store, key = connections.create_store(driver.platform, f"{driver.platform} test store")
                connections.set_credentials(store.id, driver.credentials(store_server.url))
                connections.update_settings(store.id, {
                    "default_client_id": ids.walk_in, "warehouse_id": ids.warehouse, "branch_id": ids.branch,
                    "create_financial_invoice": True, "update_inventory": True,
                })
                connections.activate(store.id, key)
                driver.connect_webhooks(connections.webhook_url(key))
                store_id = store.id
                db.session.remove()
            yield ConnectedStore(driver, store_id, ids, erp_url, key)
        finally:
            driver.settle()


@pytest.fixture
def connected_store(app: Flask, served_app: str, driver: Any) -> Iterator[ConnectedStore]:
    """Each installed driver's store connected to the served ERP (see :func:`connect`)."""
    with connect(app, served_app, driver) as store:
        yield store


@pytest.fixture
def first_connected_store(app: Flask, served_app: str, first_driver: Any) -> Iterator[ConnectedStore]:
    """The first installed platform's store connected to the served ERP (see :func:`connect`)."""
    with connect(app, served_app, first_driver) as store:
        yield store
