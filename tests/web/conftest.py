"""Fixtures for the web pages: a signed-in browser-like client per role, CSRF left on."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from core.extensions import db
from tests.builders import Builders
from tests.integration.conftest import dummy_shop  # noqa: F401  (a connected dummy store, for store-order links)

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


FIELD_BLOCK = re.compile(r'<div class="field has-error">(.*?)</div>', re.S)
ERROR = re.compile(r'<small class="error" role="alert">(.*?)</small>', re.S)


def field_errors(html: str, field_id: str) -> list[str]:
    """The error messages shown next to the form field with id ``field_id``."""
    for block in FIELD_BLOCK.findall(html):
        if f'id="{field_id}"' in block:
            return [message.strip() for message in ERROR.findall(block)]
    return []


class WebClient:
    """A test client signed in as one user; ``post`` takes the CSRF token from the form page."""

    def __init__(self, client, role: str) -> None:
        self.client = client
        self.role = role

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def text(self, path: str, **kwargs) -> str:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)

    def post(self, path: str, data: dict | None = None, form_page: str | None = None, **kwargs):
        """POST ``data`` with a fresh CSRF token read from ``form_page`` (default: a page that has one)."""
        token = csrf_token(self.client.get(form_page or "/").get_data(as_text=True))
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)

    def use_language(self, code: str) -> None:
        response = self.post(f"/language/{code}", {"next": "/"})
        assert response.status_code == 302


@pytest.fixture
def web(app, monkeypatch):
    """``web(role)``: a client signed in as a fresh user of ``role`` (admin, accountant, viewer)."""
    from werkzeug.security import generate_password_hash

    from core.services import users

    monkeypatch.setattr(users, "generate_password_hash", lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1"))
    made: dict[str, WebClient] = {}

    def signed_in(role: str = "viewer") -> WebClient:
        if role in made:
            return made[role]
        with app.app_context():
            users.create_user(f"pages-{role}", "password-123", role=role)
            db.session.remove()
        client = app.test_client()
        token = csrf_token(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"csrf_token": token, "username": f"pages-{role}", "password": "password-123"}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        made[role] = WebClient(client, role)
        return made[role]

    return signed_in


@pytest.fixture
def sale(app):
    """A shop with one invoice (paid, with shipping and a discount) and a partial return.

    MUG-01 (barcode 6281000000017) 10 at 7.50 and TEA-1 5 at 4.00 in warehouse MAIN; a paid
    invoice of 2 mugs at 25 and 1 tea at 10, 5 order discount, 15 shipping, VAT 15%: net 55.00,
    VAT 10.50, total 80.50; one mug returned (26.36, refunded in cash).
    """
    with app.app_context():
        build = Builders()
        warehouse, branch = build.warehouse("MAIN"), build.branch("RUH")
        client = build.client("Noura Alharbi")
        mug = build.product("MUG-01", "25", barcode="6281000000017", name_ar="كوب")
        tea = build.product("TEA-1", "10")
        build.stock(mug, warehouse, "10", "7.5")
        build.stock(tea, warehouse, "5", "4")
        invoice = build.invoice(
            client, branch, warehouse, [(mug, "2", "25"), (tea, "1", "10")],
            status="paid", order_discount=Decimal("5"), shipping=Decimal("15"), reference="ORDER-778",
            date=date(2026, 1, 15),
        )
        credit_note = build.return_(invoice, [(invoice.lines[0], "1")])
        ids = SimpleNamespace(
            warehouse=warehouse.id, branch=branch.id, client=client.id, mug=mug.id, tea=tea.id,
            invoice=invoice.id, invoice_number=invoice.number, invoice_total=invoice.total,
            invoice_entry=invoice.journal_entry_id, credit_note=credit_note.id,
            credit_note_number=credit_note.number, credit_note_total=credit_note.total,
        )
        db.session.remove()
    return ids
