"""Shared fixtures of the core's tests; ``app`` (a clean database, opt-in) comes from the kit's pytest plugin.

The kit (core/testing/kit/pytest_plugin.py) builds one app and schema per session on SQLite (a
temporary file) unless ``DATABASE_URL`` names another, by running the Alembic migrations, so
every test run also proves them; a test asking for ``app`` gets every table emptied first.
"""
from __future__ import annotations

import pytest

from core.extensions import db
from tests.builders import Builders


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
