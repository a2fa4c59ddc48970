"""One Salla store is connectable once, also when its reference arrives only at activation or authorize (C1)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import StoreConnection, WebhookDelivery
from core.plugins import registry
from plugins.salla.sandbox import API_PREFIX, SallaSandbox
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import body
from tests.web.test_store_wizard import _create, _store, master  # noqa: F401  (master is a fixture)

MERCHANT = 7311


@pytest.fixture
def salla(app) -> Iterator[str]:
    """The Salla plugin enabled and a sandbox Salla store served over HTTP; yields its API base."""
    with app.app_context():
        registry().install("salla")
        registry().enable("salla")
        db.session.remove()
    sandbox = SallaSandbox(merchant_id=MERCHANT, access_token="token-1", webhook_secret="whsec-1")
    with sandbox.serve() as served:
        yield served.url + API_PREFIX


def _states(app) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(StoreConnection.name, StoreConnection.status, StoreConnection.external_ref)
            .order_by(StoreConnection.id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_an_empty_store_reference_is_learnt_at_activation_and_a_second_connection_refused(app, salla, sign_in):
    """Salla's reference is optional in the form: activation asks the store for its merchant id."""
    admin = sign_in("admin")
    credentials = {"cred-access_token": "token-1", "cred-webhook_secret": "whsec-1", "cred-api_base": salla}
    ids = []
    for name in ("Salla shop", "Salla shop again"):
        response = admin.post("/stores/new", {"platform": "salla", "name": name})
        store_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
        assert admin.post(f"/stores/{store_id}/credentials", credentials).status_code == 302
        ids.append(store_id)

    assert admin.post(f"/stores/{ids[0]}/activate").status_code == 302
    response = admin.post(f"/stores/{ids[1]}/activate")

    assert response.status_code == 409
    assert "already connected as “Salla shop”" in body(response)
    assert _states(app) == [("Salla shop", "active", str(MERCHANT)), ("Salla shop again", "pending", None)]


def test_an_authorize_event_naming_a_store_already_connected_leaves_the_second_connection_pending(app, salla):
    """Salla's easy mode: the merchant id arrives with app.store.authorize; a second connection is refused."""
    from core.integration import connections

    with app.app_context():
        first, _key = connections.create_store("salla", "Salla shop")
        connections.set_credentials(first.id, {"webhook_secret": "whsec-1", "api_base": salla})
        connections.authorize(first, {"access_token": "token-1", "store_ref": str(MERCHANT)})
        second, _key = connections.create_store("salla", "Salla shop again")
        connections.set_credentials(second.id, {"webhook_secret": "whsec-1", "api_base": salla})
        with pytest.raises(connections.StoreAlreadyConnected) as refused:
            connections.authorize(second, {"access_token": "token-1", "store_ref": str(MERCHANT)})
        assert refused.value.status == 409 and refused.value.other_name == "Salla shop"
        db.session.remove()
    assert _states(app) == [("Salla shop", "active", str(MERCHANT)), ("Salla shop again", "pending", None)]


def test_an_authorize_webhook_for_a_store_already_connected_needs_attention_and_is_not_retried(app):
    """The delivery is authentic but cannot be acted on: needs attention with the reason, not a failed job."""
    from core.integration import connections

    with app.app_context():
        registry().install("salla")
        registry().enable("salla")
        sandbox = SallaSandbox(merchant_id=MERCHANT, access_token="token-1", webhook_secret="whsec-1")
        with sandbox.serve() as served:
            api_base = served.url + API_PREFIX
            first, _key = connections.create_store("salla", "Salla shop")
            connections.set_credentials(first.id, {"webhook_secret": "whsec-1", "api_base": api_base})
            connections.authorize(first, {"access_token": "token-1", "store_ref": str(MERCHANT)})
            second, key = connections.create_store("salla", "Salla shop again")
            connections.set_credentials(second.id, {"webhook_secret": "whsec-1", "api_base": api_base})
            db.session.remove()
            body, headers = sandbox.build_delivery("app.store.authorize", sandbox.authorize(send=False))
            response = app.test_client().post(f"/webhooks/{key}", data=body, headers=headers)
        assert response.status_code == 200
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "needs_attention"
        assert delivery.last_error.startswith("store_already_connected: ")
        assert "Salla shop" in delivery.last_error
        db.session.remove()
    assert _states(app) == [("Salla shop", "active", str(MERCHANT)), ("Salla shop again", "pending", None)]
