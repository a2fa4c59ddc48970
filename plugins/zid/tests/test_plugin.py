"""The Zid plugin as the core sees it: its attributes, and a sandbox store connected to the served ERP
(activation subscribing Basic-auth webhooks, orders booked with Zid's total, enveloped bodies, returns)."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import entry_points

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import ReturnInvoice, SalesInvoice, StoreConnection, StoreOrder
from core.platform.base import Credentials
from core.plugins import registry
from core.secrets import decrypt_json
from core.services.chart import DEFAULT_CHART
from core.testing.kit.pytest_plugin import ConnectedStore, connect
from plugins.zid import ZidPlugin
from plugins.zid.client import ZidClient
from plugins.zid.sandbox import ZidSandbox, seed_demo
from plugins.zid.testing import ZidDriver
from plugins.zid.webhooks import SUBSCRIBED_TOPICS
from tests.web.integration_fixtures import *  # noqa: F403  (the fixture sign_in)


def test_the_plugin_is_registered_under_its_name() -> None:
    (point,) = [p for p in entry_points(group="mizan.plugins") if p.name == "zid"]
    assert point.load() is ZidPlugin
    assert (ZidPlugin.name, ZidPlugin.title) == ("zid", "Zid")
    assert ZidPlugin.completed_statuses == ("delivered",)


def test_the_plugin_declares_basic_webhooks_per_topic_url() -> None:
    plugin = ZidPlugin()
    assert (plugin.authenticity, plugin.webhook_secret_kind, plugin.topic_in_url) == ("basic", "basic", True)
    assert plugin.registers_webhooks and plugin.webhook_topics == SUBSCRIBED_TOPICS
    assert set(plugin.secret_fields) <= set(plugin.credentials_schema().fields)
    assert plugin.stock_batch_size == 50
    client = plugin.client(None, Credentials({"authorization": "p", "access_token": "m", "store_id": "1"}))
    try:
        assert isinstance(client, ZidClient)
        for capability, call in {"order_annotation": "annotate_order", "reconcile": "list_orders",
                                 "order_by_id": "fetch_order_by_id", "refunds_via_api": "list_refunds"}.items():
            assert capability in plugin.capabilities and callable(getattr(client, call))
    finally:
        client.close()


def test_default_accounts_are_free_in_the_chart_and_in_the_other_plugins() -> None:
    """C3: installing Zid next to Shopify and Salla creates its own accounts."""
    chart = {account.code for account in DEFAULT_CHART}
    others = {account.code for name in ("shopify", "salla")
              for point in entry_points(group="mizan.plugins") if point.name == name
              for account in point.load().default_accounts}
    codes = [account.code for account in ZidPlugin.default_accounts]
    assert not set(codes) & (chart | others)
    assert ZidPlugin.clearing_account_key in {account.key for account in ZidPlugin.default_accounts}


# -- a sandbox store connected to the served ERP ------------------------------------------------

@pytest.fixture
def zid(app, served_app: str) -> Iterator[ConnectedStore]:
    with connect(app, served_app, ZidDriver()) as store:
        yield store


def orders(app) -> dict[str, str]:
    with app.app_context():
        found = dict(db.session.execute(select(StoreOrder.number, StoreOrder.state)).all())
        db.session.remove()
    return found


def test_activation_subscribes_every_topic_with_the_stores_basic_credentials(app, zid: ConnectedStore) -> None:
    sandbox = zid.driver.sandbox
    with app.app_context():
        values = decrypt_json(db.session.get(StoreConnection, zid.store_id).credentials_encrypted)
        db.session.remove()
    assert sorted(s["event"] for s in sandbox.subscriptions) == sorted(SUBSCRIBED_TOPICS)
    assert all(s["target_url"].endswith(f"/webhooks/{zid.key}/{s['event']}") for s in sandbox.subscriptions)
    assert {(s["username"], s["password"]) for s in sandbox.subscriptions} == {
        (values["webhook_username"], values["webhook_password"])}


@pytest.mark.parametrize("envelope", [False, True])
def test_a_coupon_order_is_booked_with_zids_total_in_either_body_shape(app, zid: ConnectedStore,
                                                                     envelope: bool) -> None:
    """O1, O5: three lines, several quantities, a coupon and shipping: the invoice total is order_total."""
    driver = zid.driver
    driver.sandbox.envelope = envelope
    order = driver.new_order([("COF-250", 2), ("MUG-01", 3), ("DATE-1KG", 1)], shipping="15.00", coupon="SAVE10")
    driver.complete(order)
    driver.settle()
    assert orders(app) == {str(order["id"]): "booked"}
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == driver.total(order) == Decimal("193.50")
        assert invoice.rounding == 0 and invoice.shipping == Decimal("15.00")
        assert invoice.order_discount == Decimal("11.50")
        db.session.remove()
    assert driver.written_back(order).startswith("Mizan invoice ")


def test_a_guest_order_is_booked_to_the_default_client(app, zid: ConnectedStore) -> None:
    """O4: Zid's guest (is_guest_customer) has no customer of its own."""
    driver = zid.driver
    order = driver.new_order([("MUG-01", 1)], guest=True)
    driver.complete(order)
    driver.settle()
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.client_id == zid.ids.walk_in
        db.session.remove()


def test_a_partial_reverse_order_becomes_a_return_of_that_line(app, zid: ConnectedStore) -> None:
    """R1–R2: the reverse order's line is returned; a second delivery of the same status books nothing more."""
    driver = zid.driver
    order = driver.new_order([("MUG-01", 2), ("COF-250", 1)])
    driver.complete(order)
    driver.refund_line(order, 0, 1)
    driver.redeliver_last()
    driver.settle()
    with app.app_context():
        returns = db.session.execute(select(ReturnInvoice)).scalars().all()
        assert [[(line.quantity, line.product_id) for line in r.lines] for r in returns] == [
            [(Decimal("1"), zid.ids.mug)]]
        (returned,) = returns
        assert returned.total == Decimal("25.00")  # one mug at its gross price
        db.session.remove()


def test_a_refunded_order_is_returned_whole_once(app, zid: ConnectedStore) -> None:
    """R1: ``refunded`` (order.status.update and order.payment_status.update) returns the whole order once."""
    driver = zid.driver
    order = driver.new_order([("COF-250", 2), ("MUG-01", 1)])
    driver.complete(order)
    driver.refund_all(order)
    driver.settle()
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        (returned,) = db.session.execute(select(ReturnInvoice)).scalars().all()
        assert returned.total == invoice.total
        db.session.remove()


def test_the_plugin_is_enabled_for_the_connected_store(app, zid: ConnectedStore) -> None:
    with app.app_context():
        assert isinstance(registry().platform("zid"), ZidPlugin)
        db.session.remove()


@pytest.mark.parametrize("action", ["refund_all", "refund_line"])
def test_an_order_returned_before_the_erp_read_it_is_booked_then_returned(app, zid: ConnectedStore,
                                                                          action: str) -> None:
    """O1, R1: the deliveries of "delivered" were lost; when the ERP fetches the order it is already refunded
    or reversed: it is booked, then returned (nothing left waiting)."""
    driver = zid.driver
    order = driver.new_order([("MUG-01", 2)], send=False)
    driver.sandbox.drop = True
    driver.complete(order)
    driver.refund_all(order) if action == "refund_all" else driver.refund_line(order, 0, 1)
    driver.sandbox.drop = False
    driver.send_update(order)
    driver.settle()
    assert orders(app) == {str(order["id"]): "returned" if action == "refund_all" else "partly_returned"}
    with app.app_context():
        (returned,) = db.session.execute(select(ReturnInvoice)).scalars().all()
        assert returned.total == (Decimal("50.00") if action == "refund_all" else Decimal("25.00"))
        db.session.remove()


def test_an_order_refunded_before_it_was_delivered_is_no_sale(app, zid: ConnectedStore) -> None:
    """O1: a paid order refunded before delivery never reached ``delivered``: nothing is booked or returned."""
    driver = zid.driver
    order = driver.new_order([("MUG-01", 1)])
    driver.refund_all(order)
    driver.settle()
    assert orders(app) == {str(order["id"]): "skipped"}
    with app.app_context():
        assert db.session.execute(select(ReturnInvoice)).scalars().all() == []
        db.session.remove()


# -- through the web pages -----------------------------------------------------------------------

def test_an_admin_connects_a_zid_store_with_its_two_tokens(app, sign_in) -> None:
    """C1–C2: the wizard asks for the tokens and the store id (not the Basic credentials Mizan generates);
    activation checks the tokens, learns the store's id and subscribes every topic."""
    sandbox = ZidSandbox()
    seed_demo(sandbox)
    with app.app_context():
        registry().install("zid")
        registry().enable("zid")
        db.session.remove()
    admin = sign_in("admin")
    with sandbox.serve() as served:
        response = admin.post("/stores/new", {"platform": "zid", "name": "Zid shop"})
        store_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
        page = admin.text(f"/stores/{store_id}")
        assert 'name="cred-authorization"' in page and 'name="cred-store_id"' in page
        assert "cred-webhook_password" not in page and "cred-webhook_username" not in page
        credentials = {"cred-authorization": sandbox.authorization, "cred-access_token": sandbox.access_token,
                       "cred-store_id": str(sandbox.store_id), "cred-api_base": served.url}
        assert admin.post(f"/stores/{store_id}/credentials", credentials).status_code == 302
        assert admin.post(f"/stores/{store_id}/activate").status_code == 302
    with app.app_context():
        store = db.session.get(StoreConnection, store_id)
        assert (store.status, store.external_ref) == ("active", str(sandbox.store_id))
        db.session.remove()
    assert sorted(s["event"] for s in sandbox.subscriptions) == sorted(SUBSCRIBED_TOPICS)
