"""A copied session cookie stops working once its user signs out or gets a new password."""
from __future__ import annotations

import pytest

from core.extensions import db
from core.services.users import create_user, set_password
from tests.web.conftest import csrf_token

PASSWORD = "right-password-1"


@pytest.fixture
def owner(app):
    with app.app_context():
        create_user("owner", PASSWORD, role="admin")
        db.session.remove()


def _signed_in(app):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    return client


def _copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _is_signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200 and 'id="sign-out"' in response.get_data(as_text=True)


def test_a_copied_session_cookie_stops_working_after_sign_out(app, owner):
    client = _signed_in(app)
    thief = _copy_of(app, client)
    assert _is_signed_in(thief)
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _is_signed_in(client)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(app, owner):
    client = _signed_in(app)
    with app.app_context():
        set_password("owner", "another-password-2")
        db.session.remove()
    assert not _is_signed_in(client)


def test_signing_in_again_after_sign_out_works(app, owner):
    client = _signed_in(app)
    token = csrf_token(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert _is_signed_in(_signed_in(app))


def test_the_cli_sets_a_password_and_unlocks_the_account(app, owner, runner):
    from core.services.users import sign_in

    with app.app_context():
        for _ in range(5):
            sign_in("owner", "wrong-password", 5, 15)
        assert sign_in("owner", PASSWORD, 5, 15) is None  # locked
        db.session.remove()
    result = runner.invoke(args=["users", "password", "owner", "--password", "fresh-password-3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert sign_in("owner", "fresh-password-3", 5, 15) is not None
        db.session.remove()
