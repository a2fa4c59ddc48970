"""The WooCommerce plugin as the core sees it: its attributes, and a sandbox store connected to the served ERP
(webhooks created with a secret and their ping acknowledged, forged deliveries refused, orders booked to the halala
in both tax modes, refunds fetched through the API, an order refunded before its first delivery)."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import entry_points

import httpx
import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import ReturnInvoice, SalesInvoice, StoreConnection, StoreOrder
from core.models.inbox import WebhookDelivery
from core.platform.base import Credentials
from core.plugins import registry
from core.secrets import decrypt_json
from core.services.chart import DEFAULT_CHART
from core.testing.kit.pytest_plugin import ConnectedStore, connect
from plugins.woocommerce import WooCommercePlugin
from plugins.woocommerce.client import WooCommerceClient
from plugins.woocommerce.sandbox import WooCommerceSandbox, seed_demo, signature
from plugins.woocommerce.testing import WooCommerceDriver
from plugins.woocommerce.webhooks import SUBSCRIBED_TOPICS
from tests.web.integration_fixtures import *  # noqa: F403  (the fixture sign_in)


def test_the_plugin_is_registered_under_its_name() -> None:
    (point,) = [p for p in entry_points(group="mizan.plugins") if p.name == "woocommerce"]
    assert point.load() is WooCommercePlugin
    assert (WooCommercePlugin.name, WooCommercePlugin.title) == ("woocommerce", "WooCommerce")
    assert WooCommercePlugin.completed_statuses == ("completed",)


def test_the_plugin_declares_signed_webhooks_to_one_url() -> None:
    plugin = WooCommercePlugin()
    assert (plugin.authenticity, plugin.webhook_secret_kind, plugin.topic_in_url, plugin.body_format) == (
        "hmac", "secret", False, "any")
    assert plugin.registers_webhooks and plugin.webhook_topics == SUBSCRIBED_TOPICS
    assert set(plugin.secret_fields) == {"consumer_secret", "webhook_secret"}
    assert set(plugin.secret_fields) <= set(plugin.credentials_schema().fields)
    assert plugin.stock_batch_size == 100
    client = plugin.client(None, Credentials({"store_url": "https://shop.example.com", "consumer_key": "ck",
                                              "consumer_secret": "cs"}))
    try:
        assert isinstance(client, WooCommerceClient)
        for capability, call in {"order_annotation": "annotate_order", "reconcile": "list_orders",
                                 "order_by_id": "fetch_order_by_id", "refunds_via_api": "list_refunds"}.items():
            assert capability in plugin.capabilities and callable(getattr(client, call))
    finally:
        client.close()


def test_default_accounts_are_free_in_the_chart_and_in_the_other_plugins() -> None:
    """C3: installing WooCommerce next to the other platforms creates its own accounts."""
    chart = {account.code for account in DEFAULT_CHART}
    others = {account.code for point in entry_points(group="mizan.plugins") if point.name != "woocommerce"
              for account in point.load().default_accounts}
    codes = [account.code for account in WooCommercePlugin.default_accounts]
    assert not set(codes) & (chart | others)
    assert WooCommercePlugin.clearing_account_key in {account.key for account in WooCommercePlugin.default_accounts}


# -- a sandbox store connected to the served ERP ------------------------------------------------

@pytest.fixture
def woo(app, served_app: str) -> Iterator[ConnectedStore]:
    with connect(app, served_app, WooCommerceDriver()) as store:
        yield store


def orders(app) -> dict[str, str]:
    with app.app_context():
        found = dict(db.session.execute(select(StoreOrder.number, StoreOrder.state)).all())
        db.session.remove()
    return found


def stored_deliveries(app) -> int:
    with app.app_context():
        found = len(db.session.execute(select(WebhookDelivery)).scalars().all())
        db.session.remove()
    return found


def test_activation_creates_every_webhook_with_the_secret_and_its_ping_is_acknowledged(
        app, woo: ConnectedStore) -> None:
    """The ping WooCommerce sends when a webhook is saved reaches the real endpoint: 200, nothing stored."""
    sandbox = woo.driver.sandbox
    with app.app_context():
        store = db.session.get(StoreConnection, woo.store_id)
        values = decrypt_json(store.credentials_encrypted)
        assert store.external_ref == sandbox.site_url.split("://", 1)[1].rstrip("/")
        db.session.remove()
    assert sorted(w["topic"] for w in sandbox.webhooks) == sorted(SUBSCRIBED_TOPICS)
    assert {(w["delivery_url"], w["secret"], w["status"]) for w in sandbox.webhooks} == {
        (f"{woo.erp_url}/webhooks/{woo.key}", values["webhook_secret"], "active")}
    pings = [d for d in sandbox.deliveries if d.body.startswith(b"webhook_id=")]
    assert len(pings) == len(SUBSCRIBED_TOPICS) and {d.status for d in pings} == {200}
    assert stored_deliveries(app) == 0


def test_a_delivery_with_a_wrong_signature_is_refused_and_not_stored(app, woo: ConnectedStore) -> None:
    order = woo.driver.new_order([("MUG-01", 1)], send=False)
    headers, body = woo.driver.sandbox.build_delivery("order.updated", order["id"], {"id": 1, "secret": "forged"})
    response = httpx.post(f"{woo.erp_url}/webhooks/{woo.key}", content=body, headers=headers)
    assert response.status_code == 401
    unsigned = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
    assert httpx.post(f"{woo.erp_url}/webhooks/{woo.key}", content=body, headers=unsigned).status_code == 401
    assert stored_deliveries(app) == 0 and orders(app) == {}


def test_a_delivery_signed_with_the_stores_secret_is_accepted(app, woo: ConnectedStore) -> None:
    order = woo.driver.new_order([("MUG-01", 1)], send=False)
    secret = woo.driver.webhook_secret
    headers, body = woo.driver.sandbox.build_delivery("order.created", order["id"], {"id": 1, "secret": secret})
    assert headers["X-WC-Webhook-Signature"] == signature(secret, body)
    assert httpx.post(f"{woo.erp_url}/webhooks/{woo.key}", content=body, headers=headers).status_code == 200
    assert stored_deliveries(app) == 1 and str(order["number"]) in orders(app)


@pytest.mark.parametrize("prices_include_tax", [True, False])
def test_a_coupon_order_is_booked_with_woocommerces_total(app, woo: ConnectedStore, prices_include_tax: bool) -> None:
    """O1, O5: lines, quantities, a coupon and shipping, prices with or without tax: the invoice total is the store's."""
    driver = woo.driver
    order = driver.new_order([("COF-250", 2), ("MUG-01", 3), ("DATE-1KG", 1)], shipping="15.00", coupon="save10",
                             prices_include_tax=prices_include_tax)
    driver.complete(order)
    driver.settle()
    assert orders(app) == {str(order["number"]): "booked"}
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == driver.total(order)
        assert invoice.rounding == 0
        db.session.remove()
    assert driver.written_back(order).startswith("Mizan invoice ")


def test_a_fee_line_is_booked_without_a_product(app, woo: ConnectedStore) -> None:
    """O5: the gift-wrap fee is a line of the invoice; the total is the store's to the halala."""
    driver = woo.driver
    order = driver.new_order([("MUG-01", 2)], fee="10.00")
    driver.complete(order)
    driver.settle()
    assert orders(app) == {str(order["number"]): "booked"}
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == driver.total(order) == Decimal("60.00")
        assert len(invoice.lines) == 2
        db.session.remove()


def test_a_guest_order_is_booked_to_the_default_client(app, woo: ConnectedStore) -> None:
    """O4: customer_id 0."""
    driver = woo.driver
    order = driver.new_order([("MUG-01", 1)], guest=True)
    driver.complete(order)
    driver.settle()
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.client_id == woo.ids.walk_in
        db.session.remove()


def test_a_line_refund_is_fetched_through_the_api_and_returned(app, woo: ConnectedStore) -> None:
    """R1–R2: the order.updated delivery names the refund; its line comes from the API; a re-delivery books nothing."""
    driver = woo.driver
    order = driver.new_order([("MUG-01", 2), ("COF-250", 1)])
    driver.complete(order)
    driver.refund_line(order, 0, 1)
    driver.redeliver_last()
    driver.settle()
    assert orders(app) == {str(order["number"]): "partly_returned"}
    with app.app_context():
        (returned,) = db.session.execute(select(ReturnInvoice)).scalars().all()
        assert [(line.quantity, line.product_id) for line in returned.lines] == [(Decimal("1"), woo.ids.mug)]
        assert returned.total == Decimal("25.00")  # one mug at its VAT-inclusive price
        db.session.remove()


def test_an_order_completed_then_refunded_before_its_first_delivery_is_booked_then_returned(
        app, woo: ConnectedStore) -> None:
    """O1, R1: the body is built when it goes out; it says refunded, but date_completed says it was completed."""
    driver = woo.driver
    sandbox = driver.sandbox
    sandbox.deferred = True
    order = driver.new_order([("MUG-01", 2)])
    driver.complete(order)
    driver.refund_all(order)
    sandbox.deferred = False
    sandbox.flush()
    driver.settle()
    assert orders(app) == {str(order["number"]): "returned"}
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        (returned,) = db.session.execute(select(ReturnInvoice)).scalars().all()
        assert returned.total == invoice.total == Decimal("50.00")
        db.session.remove()


def test_an_order_refunded_before_it_was_completed_is_no_sale(app, woo: ConnectedStore) -> None:
    """O1: a processing order refunded whole never reached ``completed``: nothing is booked or returned."""
    driver = woo.driver
    order = driver.new_order([("MUG-01", 1)])
    driver.refund_all(order)
    driver.settle()
    assert orders(app).get(str(order["number"])) in ("skipped", "waiting", None)
    with app.app_context():
        assert db.session.execute(select(ReturnInvoice)).scalars().all() == []
        assert db.session.execute(select(SalesInvoice)).scalars().all() == []
        db.session.remove()


# -- through the web pages -----------------------------------------------------------------------

def test_an_admin_connects_a_woocommerce_site_with_its_api_key(app, served_app: str, sign_in) -> None:
    """C1–C2: the wizard asks for the site and the key pair (not the webhook secret Mizan generates); a plain
    http site is refused with the reason; activation checks the key, takes the site as the store's reference,
    creates every webhook (each ping acknowledged) and imports the categories."""
    sandbox = WooCommerceSandbox()
    seed_demo(sandbox)
    with app.app_context():
        registry().install("woocommerce")
        registry().enable("woocommerce")
        db.session.remove()
    admin = sign_in("admin")
    with sandbox.serve() as served:
        response = admin.post("/stores/new", {"platform": "woocommerce", "name": "Woo shop"})
        store_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
        page = admin.text(f"/stores/{store_id}")
        assert 'name="cred-store_url"' in page and 'name="cred-consumer_key"' in page
        assert 'name="cred-consumer_secret"' in page and "cred-webhook_secret" not in page
        credentials = {"cred-store_url": "http://shop.example.com", "cred-consumer_key": sandbox.consumer_key,
                       "cred-consumer_secret": sandbox.consumer_secret, "cred-restock_refunds": "y",
                       "cred-product_prices_include_tax": "y"}
        refused = admin.post(f"/stores/{store_id}/credentials", credentials)
        assert refused.status_code == 200 and "OAuth 1.0a" in refused.get_data(as_text=True)
        credentials["cred-store_url"] = served.url
        assert admin.post(f"/stores/{store_id}/credentials", credentials).status_code == 302
        assert admin.post(f"/stores/{store_id}/activate").status_code == 302
        sandbox.join_pings()
    with app.app_context():
        store = db.session.get(StoreConnection, store_id)
        values = decrypt_json(store.credentials_encrypted)
        assert (store.status, store.external_ref) == ("active", served.url.split("://", 1)[1])
        assert values["restock_refunds"] is True and values["webhook_secret"]
        db.session.remove()
    assert sorted(w["topic"] for w in sandbox.webhooks) == sorted(SUBSCRIBED_TOPICS)
    assert {d.status for d in sandbox.deliveries} == {200}
