"""Shared fixtures: one app and schema per test session, a clean database per test.

The database is SQLite (a temporary file) unless ``DATABASE_URL`` names another,
e.g. the PostgreSQL scratch database CI creates. The schema is built by running
the Alembic migrations, so every test run also proves the migrations.
"""
from __future__ import annotations

import os
import secrets
from decimal import Decimal

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core import create_app
from core.config import normalise_database_url
from core.extensions import db
from core.services.chart import seed_default_chart
from core.services.company import company_settings
from core.services.transaction import atomic
from tests.builders import Builders


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory):
    """SQLite in a temporary file, or a scratch database on the server ``DATABASE_URL`` names.

    On PostgreSQL each test session creates its own database (named after the
    one in ``DATABASE_URL`` plus the process id) and drops it afterwards, so two
    runs on one server never share tables.
    """
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
def app(tmp_path_factory: pytest.TempPathFactory, database_url: str):
    """The application, on a schema freshly built by the migrations."""
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


@pytest.fixture(autouse=True)
def clean_database(app):
    """Empty every table, then seed the default chart and company settings."""
    with app.app_context():
        wipe_tables()
        with atomic():
            seed_default_chart()
            company_settings().vat_rate = Decimal("0.15")
        db.session.remove()
    yield


def wipe_tables() -> None:
    """Delete every row, children first (DELETE is much faster than TRUNCATE on small tables)."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        for name in tables:
            connection.execute(text(f"DELETE FROM {name}"))
        if connection.dialect.name == "sqlite" and _has_sqlite_sequence(connection):
            connection.execute(text("DELETE FROM sqlite_sequence"))


def _has_sqlite_sequence(connection) -> bool:
    return bool(
        connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
        ).first()
    )


#: What the long probes measured (requests tried, 5xx, deliveries stored): shown after the run.
PROBE_FIGURES: list[str] = []


@pytest.fixture(scope="session")
def probe_figures() -> list[str]:
    """A probe appends a line of figures here; the terminal summary prints them, so CI's log keeps them."""
    return PROBE_FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if PROBE_FIGURES:
        terminalreporter.section("probe figures")
        for line in PROBE_FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def ctx(app):
    """An application context for calling services directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def build(ctx) -> Builders:
    """Builders for warehouses, products, stock and invoices (see tests/builders.py)."""
    return Builders()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- API fixtures (tests/test_api_*.py) ---------------------------------------------


class ApiClient:
    """Calls ``/api/v1`` with the token of a user of the given role."""

    def __init__(self, client, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def open(self, method: str, path: str, role: str | None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers.setdefault("Authorization", f"Bearer {self.tokens[role]}")
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, role: str | None = "viewer", **kwargs):
        return self.open("GET", path, role, **kwargs)

    def post(self, path: str, json=None, role: str | None = "accountant", **kwargs):
        return self.open("POST", path, role, json=json, **kwargs)

    def put(self, path: str, json=None, role: str | None = "admin", **kwargs):
        return self.open("PUT", path, role, json=json, **kwargs)


@pytest.fixture
def api(app, client, monkeypatch) -> ApiClient:
    """An API client holding a token for one user of each role (admin, accountant, viewer)."""
    from werkzeug.security import generate_password_hash

    from core.models import ROLES
    from core.services import users

    # One-round hashes: the API tests never check passwords, and scrypt costs 150 ms a user.
    monkeypatch.setattr(users, "generate_password_hash", lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1"))
    with app.app_context():
        tokens = {
            role: users.create_api_token(users.create_user(f"api-{role}", "password-123", role=role))[0]
            for role in ROLES
        }
        db.session.remove()
    return ApiClient(client, tokens)


@pytest.fixture
def shop(app):
    """Ids of a warehouse, a branch, a client and two stocked products (MUG-01: 10 at 7.50, TEA-1: 5 at 4.00)."""
    from types import SimpleNamespace

    with app.app_context():
        build = Builders()
        warehouse, branch, client = build.warehouse("MAIN"), build.branch("RUH"), build.client("Walk-in")
        mug, tea = build.product("MUG-01", "25"), build.product("TEA-1", "10")
        build.stock(mug, warehouse, "10", "7.5")
        build.stock(tea, warehouse, "5", "4")
        ids = SimpleNamespace(
            warehouse=warehouse.id, branch=branch.id, client=client.id, mug=mug.id, tea=tea.id
        )
        db.session.remove()
    return ids


@pytest.fixture
def count_rows(app):
    """``count_rows(Model)``: how many rows the table holds now."""
    from sqlalchemy import func, select

    def count(model) -> int:
        with app.app_context():
            value = db.session.execute(select(func.count()).select_from(model)).scalar_one()
            db.session.remove()
            return value

    return count
