"""After sign-in, and after switching the language, the browser is only ever sent to a path on this site."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from core.extensions import db
from core.services.users import create_user
from tests.web.conftest import csrf_token
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)

NASTY = [
    "//evil.example",
    "/%09/evil.example",  # the tab is dropped by browsers: //evil.example
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/ /evil.example",
    "/\\evil.example",  # browsers read a backslash as a slash
    "/\\/evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "///evil.example",
    "evil.example",
    "%2F%2Fevil.example",
    "\u3000//evil.example",
]
#: A NUL anywhere in the address or the form is refused outright (400) by the request guard.
WITH_NUL = "/%00/evil.example"


@pytest.fixture
def owner(app):
    with app.app_context():
        create_user("owner", "right-password-1")
        db.session.remove()


def _sign_in(app, next_value: str):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login?next=" + (next_value if "%" in next_value else quote(next_value, safe="")),
        data={"csrf_token": token, "username": "owner", "password": "right-password-1"},
    )


@pytest.mark.parametrize("target", NASTY)
def test_sign_in_never_redirects_off_site(app, owner, target):
    response = _sign_in(app, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/", target


def test_a_next_address_with_a_nul_character_is_refused_before_sign_in(app, owner):
    response = _sign_in(app, WITH_NUL)
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_language_switch_with_a_nul_in_next_is_refused(app):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/language/ar", data={"csrf_token": token, "next": "/\x00/evil.example"})
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("target", ["/sales/invoices?page=2", "/catalog/products", "/"])
def test_sign_in_returns_to_the_page_that_asked(app, owner, target):
    response = _sign_in(app, target)
    assert response.status_code == 302 and response.headers["Location"] == target


@pytest.mark.parametrize("target", NASTY)
def test_switching_language_never_redirects_off_site(app, target):
    from urllib.parse import unquote

    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    value = unquote(target) if "%" in target else target
    response = client.post("/language/ar", data={"csrf_token": token, "next": value})
    assert response.status_code == 302
    assert response.headers["Location"] == "/", target


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example/"])
def test_sync_actions_never_redirect_off_site(app, dummy_shop, sign_in, target):
    from core.integration.synclog import log_event
    from core.services.transaction import atomic

    with app.app_context():
        with atomic():
            entry = log_event(dummy_shop.store_id, "order", "failed", external_id="x")
        entry_id = entry.id
        db.session.remove()
    response = sign_in("accountant").post(f"/sync/log/{entry_id}/retry", {"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/sync/", target
