"""Salla: deliveries are acted on only for the store's own merchant (issue 9 case 3), the ``Token`` security
strategy is accepted, and the token expiry of ``app.store.authorize`` is kept and shown (issue 9 case 7)."""
from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from core.extensions import db
from core.integration import connections
from core.models import SalesInvoice, StoreConnection, StoreOrder, WebhookDelivery
from core.plugins import registry
from core.testing.kit.builders import count, seed_shop
from plugins.salla.sandbox import API_PREFIX, SallaSandbox, seed_demo

OTHER_MERCHANT = 777


@pytest.fixture
def salla(app) -> Iterator[SimpleNamespace]:
    """A Salla store in easy mode, its merchant id not known yet (no ``store_ref``): it waits for
    ``app.store.authorize``. Its settings are complete; its sandbox is served."""
    sandbox = SallaSandbox()
    seed_demo(sandbox)
    with sandbox.serve() as shop:
        with app.app_context():
            ids = seed_shop()
            registry().install("salla")
            registry().enable("salla")
            store, key = connections.create_store("salla", "Easy mode")
            connections.set_credentials(store.id, {"webhook_secret": sandbox.webhook_secret,
                                                   "api_base": shop.url + API_PREFIX})
            connections.update_settings(store.id, {"default_client_id": ids.walk_in, "warehouse_id": ids.warehouse,
                                                   "branch_id": ids.branch, "create_financial_invoice": True})
            store_id = store.id
            db.session.remove()
        yield SimpleNamespace(sandbox=sandbox, store_id=store_id, key=key, client=app.test_client())


def post(salla: SimpleNamespace, event: str, data: dict, sandbox: SallaSandbox | None = None):
    body, headers = (sandbox or salla.sandbox).build_delivery(event, data)
    return salla.client.post(f"/webhooks/{salla.key}", data=body, headers=headers)


def other_merchant(salla: SimpleNamespace) -> SallaSandbox:
    """The same app's webhooks for another merchant: signed with the same (app-level) secret."""
    if "other" not in salla.__dict__:
        salla.other = SallaSandbox(merchant_id=OTHER_MERCHANT, webhook_secret=salla.sandbox.webhook_secret)
        seed_demo(salla.other)
    return salla.other


def deliveries(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery.status, WebhookDelivery.last_error)
                                  .order_by(WebhookDelivery.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def completed_order(sandbox: SallaSandbox) -> dict:
    order = sandbox.create_order([("MUG-01", 1)], send=False)
    sandbox.set_order_status(order["id"], "completed", send=False)
    return sandbox.order(order["id"])


def test_before_authorize_no_merchant_is_acted_on_and_a_foreign_one_is_never_booked(app, salla):
    """Issue 9 case 3: before the merchant id is known only the authorize event acts; waiting deliveries are
    checked against it once known: ours books, another merchant's goes to needs attention (other_store)."""
    ours = completed_order(salla.sandbox)
    foreign = completed_order(other_merchant(salla))
    assert post(salla, "order.created", ours).status_code == 200
    assert post(salla, "order.created", foreign, other_merchant(salla)).status_code == 200
    assert [status for status, _ in deliveries(app)] == ["waiting", "waiting"]
    with app.app_context():
        assert count(SalesInvoice) == 0 and count(StoreOrder) == 0
        db.session.remove()

    assert post(salla, "app.store.authorize", salla.sandbox.authorize(send=False)).status_code == 200

    ours_status, foreign_status, authorize_status = deliveries(app)
    assert ours_status == ("processed", None)
    assert foreign_status[0] == "needs_attention"
    assert foreign_status[1].startswith("other_store: ") and str(OTHER_MERCHANT) in foreign_status[1]
    assert authorize_status == ("processed", None)
    with app.app_context():
        [order] = db.session.execute(select(StoreOrder)).scalars().all()
        assert (order.external_id, order.state) == (str(ours["id"]), "booked")
        assert count(SalesInvoice) == 1
        store = db.session.get(StoreConnection, salla.store_id)
        assert (store.status, store.external_ref) == ("active", str(salla.sandbox.merchant_id))
        db.session.remove()


def test_once_the_merchant_is_known_another_merchants_delivery_needs_attention_and_never_books(app, salla):
    post(salla, "app.store.authorize", salla.sandbox.authorize(send=False))
    assert post(salla, "order.created", completed_order(other_merchant(salla)), other_merchant(salla)).status_code == 200
    authorized, foreign = deliveries(app)
    assert authorized == ("processed", None)
    assert foreign[0] == "needs_attention" and foreign[1].startswith("other_store: ")
    with app.app_context():
        assert count(StoreOrder) == 0 and count(SalesInvoice) == 0
        db.session.remove()


def test_another_merchants_authorize_does_not_take_the_store(app, salla):
    post(salla, "app.store.authorize", salla.sandbox.authorize(send=False))
    foreign = other_merchant(salla)
    post(salla, "app.store.authorize", foreign.authorize(send=False), foreign)
    with app.app_context():
        store = db.session.get(StoreConnection, salla.store_id)
        assert store.external_ref == str(salla.sandbox.merchant_id)
        assert connections.credentials(store)["access_token"] == salla.sandbox.access_token
        db.session.remove()


@pytest.mark.parametrize("form", ["bare", "bearer"])
def test_the_token_strategy_is_accepted_over_real_http(app, salla, form):
    """Issue 9 case 7: ``X-Salla-Security-Strategy: Token`` with ``Authorization: <secret>`` (or ``Bearer``)."""
    salla.sandbox.security_strategy = "Token"
    body, headers = salla.sandbox.build_delivery("app.store.authorize", salla.sandbox.authorize(send=False))
    assert headers["X-Salla-Security-Strategy"] == "Token" and "X-Salla-Signature" not in headers
    if form == "bearer":
        headers["Authorization"] = "Bearer " + headers["Authorization"]
    assert salla.client.post(f"/webhooks/{salla.key}", data=body, headers=headers).status_code == 200
    with app.app_context():
        assert db.session.get(StoreConnection, salla.store_id).status == "active"
        db.session.remove()


def test_the_sandbox_sends_the_token_strategy_and_the_order_books(app, salla):
    from core.testing.sandbox import SandboxServer

    salla.sandbox.security_strategy = "Token"
    previous = app.config["PUBLIC_URL"]
    with SandboxServer(app) as erp:
        app.config["PUBLIC_URL"] = erp.url
        try:
            salla.sandbox.set_webhook_target(f"{erp.url}/webhooks/{salla.key}")
            salla.sandbox.authorize()
            order = salla.sandbox.create_order([("MUG-01", 1)])
            salla.sandbox.set_order_status(order["id"], "completed")
            sent = salla.sandbox.deliveries
            assert sent and all(d.headers["X-Salla-Security-Strategy"] == "Token" and d.status == 200 for d in sent)
            with app.app_context():
                assert db.session.get(StoreConnection, salla.store_id).status == "active"
                assert db.session.execute(select(StoreOrder.state)).scalar_one() == "booked"
                db.session.remove()
        finally:
            app.config["PUBLIC_URL"] = previous


@pytest.mark.parametrize("authorization", ["wrong-token", "", "Bearer wrong-token", "Basic xyz"])
def test_a_wrong_token_is_refused_and_nothing_stored(app, salla, authorization):
    salla.sandbox.security_strategy = "Token"
    body, headers = salla.sandbox.build_delivery("app.store.authorize", salla.sandbox.authorize(send=False))
    headers["Authorization"] = authorization
    assert salla.client.post(f"/webhooks/{salla.key}", data=body, headers=headers).status_code == 401
    assert deliveries(app) == []


def test_the_token_expiry_is_kept_encrypted_and_shown_on_the_store_page(app, salla, monkeypatch):
    """Issue 9 case 7: ``expires`` of app.store.authorize is kept with the (encrypted) credentials."""
    data = salla.sandbox.authorize(send=False)
    post(salla, "app.store.authorize", data)
    with app.app_context():
        store = db.session.get(StoreConnection, salla.store_id)
        assert connections.credentials(store)["token_expires_at"] == data["expires"]
        assert str(data["expires"]).encode() not in (store.credentials_encrypted or "").encode()
        expiry = connections.token_expiry(store)
        assert int(expiry.timestamp()) == data["expires"]
        db.session.remove()
    page = _signed_in(app, monkeypatch).get(f"/stores/{salla.store_id}").get_data(as_text=True)
    assert 'id="token-expires"' in page and str(expiry.year) in page
    assert "token_expires_at" not in page  # shown, not an editable credential


def _signed_in(app, monkeypatch):
    from core.services import users

    monkeypatch.setattr(users, "generate_password_hash", lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1"))
    with app.app_context():
        user_id = users.create_user("salla-admin", "password-123", role="admin").id
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:0"
        session["_fresh"] = True
    return client


def test_an_active_store_whose_merchant_is_unknown_keeps_orders_waiting_until_authorize(app, salla):
    """Issue 9 case 3: even an active store acts on nothing but the authorize event until its merchant id is known."""
    with app.app_context():
        store = db.session.get(StoreConnection, salla.store_id)
        store.status = "active"
        db.session.commit()
        db.session.remove()
    order = completed_order(salla.sandbox)
    post(salla, "order.created", order)
    [(status, reason)] = deliveries(app)
    assert status == "waiting" and reason.startswith("store_not_identified: ")
    post(salla, "app.store.authorize", salla.sandbox.authorize(send=False))
    assert [status for status, _ in deliveries(app)] == ["processed", "processed"]
    with app.app_context():
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "booked"
        db.session.remove()
