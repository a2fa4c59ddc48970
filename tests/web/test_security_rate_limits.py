"""Per-address limits: after N failed sign-ins or unknown API tokens an address gets 429 for a while."""
from __future__ import annotations

import pytest

from core import ratelimit
from core.extensions import db
from core.services.users import create_user
from tests.web.conftest import csrf_token


@pytest.fixture
def limits(app, monkeypatch):
    """Turn the limits on (3 failures a minute) with fresh counts; off again afterwards."""
    monkeypatch.setitem(app.config, "LOGIN_ATTEMPT_LIMIT", "3 per minute")
    monkeypatch.setitem(app.config, "API_TOKEN_FAILURE_LIMIT", "3 per minute")
    with app.app_context():
        ratelimit.reset()
    yield
    with app.app_context():
        ratelimit.reset()


def _sign_in(client, username: str, password: str, address: str = "127.0.0.1"):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_after_three_failed_sign_ins_an_address_gets_429_even_with_the_right_password(app, limits):
    with app.app_context():
        create_user("owner", "right-password-1")
        db.session.remove()
    client = app.test_client()
    for _ in range(3):  # different usernames: the per-account lockout never comes into play
        assert _sign_in(client, "nobody", "wrong-password").status_code == 200
    refused = _sign_in(client, "owner", "right-password-1")
    assert refused.status_code == 429
    assert "Too many sign-in attempts from your address" in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert 'id="sign-in"' in refused.get_data(as_text=True)  # the page, not a bare error
    # Another address is not affected.
    assert _sign_in(app.test_client(), "owner", "right-password-1", "10.0.0.9").status_code == 302


def test_parallel_guesses_from_one_address_get_no_more_tries_than_the_limit(app, limits):
    """Each attempt is counted before its password is checked: 12 parallel guesses, 3 allowed."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [app.test_client() for _ in range(12)]
    tokens = [csrf_token(c.get("/login").get_data(as_text=True)) for c in clients]

    def guess(index: int) -> int:
        return clients[index].post("/login", data={"csrf_token": tokens[index], "username": "nobody",
                                                   "password": f"guess-{index}"}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(guess, range(12)))
    assert statuses == [200] * 3 + [429] * 9


def test_after_three_unknown_api_tokens_an_address_gets_429_json_even_with_a_valid_token(api, limits):
    for _ in range(3):
        bad = api.get("/products", role=None, headers={"Authorization": "Bearer mzn_guessed-token"})
        assert bad.status_code == 401
    refused = api.get("/products", role="viewer")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_requests" and "unknown API token" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    other = api.get("/products", role="viewer", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_valid_api_tokens_do_not_count(api, limits):
    for _ in range(5):
        assert api.get("/products", role="viewer").status_code == 200


def test_with_redis_every_process_shares_the_counts(app, tmp_path):
    """Two apps on one Redis stand for two gunicorn workers: failures on one are refused by the other."""
    import os
    import uuid

    from core import create_app

    def redis_backed(name: str):
        return create_app({
            "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_PATH": str(tmp_path / name),
            "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            "LOGIN_ATTEMPT_LIMIT": "3 per minute",
        })

    first, second = redis_backed("a"), redis_backed("b")
    assert type(first.extensions["mizan.failure_limiter"].storage).__name__ == "RedisStorage"
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # a fresh address in the shared Redis
    for _ in range(3):
        assert _sign_in(first.test_client(), "nobody", "wrong-password", address).status_code == 200
    assert _sign_in(second.test_client(), "nobody", "wrong-password", address).status_code == 429
    for other in (first, second):
        with other.app_context():
            db.engine.dispose()


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited_not_the_proxys(app, tmp_path):
    from core import create_app

    proxied = create_app({
        "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path), "REDIS_URL": None, "PROXY_HOPS": 1,
        "LOGIN_ATTEMPT_LIMIT": "3 per minute",
    })
    client = proxied.test_client()

    def attempt(client_address: str):
        token = csrf_token(client.get("/login").get_data(as_text=True))
        return client.post("/login", data={"csrf_token": token, "username": "nobody", "password": "wrong-pass"},
                           headers={"X-Forwarded-For": client_address}, environ_base={"REMOTE_ADDR": "10.0.0.1"})

    for _ in range(3):
        assert attempt("203.0.113.5").status_code == 200
    assert attempt("203.0.113.5").status_code == 429
    assert attempt("198.51.100.7").status_code == 200  # another client behind the same proxy
    with proxied.app_context():
        db.engine.dispose()
