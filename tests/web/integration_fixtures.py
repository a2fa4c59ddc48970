"""Fixtures for the store, sync and plugin pages: a signed-in browser-less client per role, forms with their
CSRF token, and the connected dummy store of the integration tests."""
from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from werkzeug.security import generate_password_hash

from core.extensions import db
from tests.integration.conftest import SECRET, DummyShop, dummy_shop, order_payload  # noqa: F401

#: What the test modules take with ``from tests.web.integration_fixtures import *``: the fixtures.
__all__ = ["dummy_shop", "sign_in"]

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class WebClient:
    """A test client signed in as one user; ``post`` adds the session's CSRF token to every form."""

    def __init__(self, client, role: str) -> None:
        self.client, self.role = client, role
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            page = self.client.get("/").get_data(as_text=True)
            found = CSRF.search(page)
            assert found, "no CSRF token on the dashboard"
            self._token = found.group(1)
        return self._token

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.token())
        return self.client.post(url, data=form, **kwargs)

    def text(self, url: str) -> str:
        """The page at ``url`` (which must answer 200), its entities decoded."""
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return body(response)


def body(response) -> str:
    """A response's HTML with its entities decoded (``&#39;`` → ``'``), for plain-text assertions."""
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def sign_in(app, monkeypatch) -> Callable[[str], WebClient]:
    """``sign_in("admin")``: a client signed in as a new user of that role (one per role)."""
    from core.services import users

    monkeypatch.setattr(users, "generate_password_hash", lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1"))
    made: dict[str, WebClient] = {}

    def make(role: str) -> WebClient:
        if role not in made:
            with app.app_context():
                user_id = users.create_user(f"web-{role}", "password-123", role=role).id
                db.session.remove()
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = f"{user_id}:0"  # a new user's session version (User.get_id)
                session["_fresh"] = True
            made[role] = WebClient(client, role)
        return made[role]

    return make


def store_order(app, store_id: int, number: str):
    """The store order row with ``number`` (a detached copy), or ``None``."""
    from sqlalchemy import select

    from core.models import StoreOrder

    with app.app_context():
        row = db.session.execute(
            select(StoreOrder).where(StoreOrder.store_id == store_id, StoreOrder.number == number)
        ).scalar_one_or_none()
        db.session.expunge_all() if row is None else db.session.expunge(row)
        db.session.remove()
    return row
