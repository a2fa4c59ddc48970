"""Salla's easy mode: the store waits for ``app.store.authorize``, which carries the tokens (C2, C6)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from core.integration import connections
from core.integration.inbox import stored_body
from core.models import Category, StoreConnection, WebhookDelivery
from core.testing.kit.builders import count
from core.testing.sandbox import SandboxServer
from plugins.salla.testing import SallaDriver

BEARER = "Bearer proxy-credential-123456"


@pytest.fixture
def easy_mode_salla(app):
    """A Salla store waiting for ``app.store.authorize`` (its sandbox served), and its key."""
    driver = SallaDriver()
    with driver.sandbox.serve() as shop:
        store_id, key = driver.store_awaiting_authorize(app, shop.url)
        yield driver, store_id, key


def test_salla_app_authorize_event_brings_the_tokens_and_activates_the_store(app):
    """C2 (Salla easy mode): the store waits for app.store.authorize, which carries the tokens."""
    driver = SallaDriver()
    previous = app.config["PUBLIC_URL"]
    with SandboxServer(app) as erp, driver.sandbox.serve() as shop:
        app.config["PUBLIC_URL"] = erp.url
        try:
            store_id, key = driver.store_awaiting_authorize(app, shop.url)
            driver.connect_webhooks(f"{erp.url}/webhooks/{key}")
            driver.sandbox.authorize()
            with app.app_context():
                store = db.session.get(StoreConnection, store_id)
                assert store.status == "active"
                assert connections.credentials(store)["access_token"] == driver.sandbox.access_token
                assert count(Category) > 0
        finally:
            app.config["PUBLIC_URL"] = previous


def test_an_authorize_delivery_is_stored_without_its_tokens_in_clear_and_still_saves_them(app, easy_mode_salla):
    """C6: the tokens in the body are encrypted at rest, the proxy's Authorization header is not kept."""
    driver, store_id, key = easy_mode_salla
    body, headers = driver.sandbox.build_delivery("app.store.authorize", driver.sandbox.authorize(send=False))
    response = app.test_client().post(f"/webhooks/{key}", data=body, headers={**headers, "Authorization": BEARER})
    assert response.status_code == 200
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        for secret in (driver.sandbox.access_token, driver.sandbox.refresh_token):
            assert secret.encode() not in delivery.body
            assert secret not in str(delivery.headers)
        assert "authorization" not in delivery.headers and "proxy-credential" not in str(delivery.headers)
        assert delivery.body_encrypted and stored_body(delivery) == body
        assert delivery.status == "processed"
        store = db.session.get(StoreConnection, store_id)
        assert store.status == "active"
        assert connections.credentials(store)["access_token"] == driver.sandbox.access_token
