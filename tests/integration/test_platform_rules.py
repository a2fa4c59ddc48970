"""The booking rules through each real plugin and its sandbox store, over HTTP (O, R, P, I, C rules)."""
from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from core.extensions import db
from core.integration.manual import send_orders
from core.models import (
    Account,
    Category,
    Client,
    PaymentVoucher,
    Product,
    ReturnInvoice,
    SalesInvoice,
    StoreOrder,
    WebhookDelivery,
)
from core.services.reports import trial_balance
from tests.integration.reads import count, on_hand


def state_of(store_id: int, number: str) -> StoreOrder:
    return db.session.execute(
        select(StoreOrder).where(StoreOrder.store_id == store_id, StoreOrder.number == number)
    ).scalar_one()


def test_activation_imports_categories_and_creates_default_accounts_once(app, platform_store):
    """C2, C3: activating checked the credentials and imported categories; again creates nothing twice."""
    from core.integration import connections
    from core.plugins import registry

    with app.app_context():
        key = registry().pm.get_plugin(platform_store.driver.platform).clearing_account_key
        categories, accounts = count(Category), count(Account)
        assert categories > 0
        assert db.session.execute(select(Account).where(Account.key == key)).scalar_one()
        connections.activate(platform_store.store_id, connections.rotate_key(platform_store.store_id))
        assert (count(Category), count(Account)) == (categories, accounts)


def test_a_completed_order_is_booked_once_with_the_store_total(app, platform_store):
    """O1, O3, O5, O9: not booked when placed; booked when completed, Paid to the clearing account;
    a re-delivery changes nothing."""
    driver = platform_store.driver
    order = driver.new_order([("MUG-01", 2)], shipping="15.00")
    with app.app_context():
        assert count(SalesInvoice) == 0
    driver.complete(order)
    driver.redeliver_last()
    driver.settle()
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == driver.total(order)
        assert invoice.status == "paid" and count(PaymentVoucher) == 1
        assert state_of(platform_store.store_id, driver.number(order)).state == "booked"
        assert on_hand(platform_store.ids.mug, platform_store.ids.warehouse) == Decimal("8")
        tb = trial_balance()
        assert tb.total_debit == tb.total_credit


def test_the_new_quantity_is_pushed_to_the_store_after_a_sale(app, platform_store):
    """I1: the store's quantity becomes the ERP's on-hand quantity of the linked warehouse."""
    driver = platform_store.driver
    order = driver.new_order([("MUG-01", 3)])
    driver.complete(order)
    driver.settle()
    assert driver.store_quantity("MUG-01") == 7


def test_an_unknown_sku_is_created_with_an_opening_balance_then_invoiced(app, platform_store):
    """O7, O8: COF-250 exists only in the store; it is created, its stock brought in, then sold."""
    driver = platform_store.driver
    store_before = driver.store_quantity("COF-250")
    order = driver.new_order([("COF-250", 2)])
    driver.complete(order)
    with app.app_context():
        product = db.session.execute(select(Product).where(Product.code == "COF-250")).scalar_one()
        assert on_hand(product.id, platform_store.ids.warehouse) == Decimal(store_before - 2)
        assert count(SalesInvoice) == 1


def test_a_line_without_sku_holds_the_order_with_the_reason(app, platform_store):
    """O6: nothing is booked; the order says which line has no SKU."""
    driver = platform_store.driver
    order = driver.new_order([("MUG-01", 1), (driver.no_sku_item(), 1)])
    driver.complete(order)
    with app.app_context():
        held = state_of(platform_store.store_id, driver.number(order))
        assert held.state == "needs_attention" and "line 2" in held.reason
        assert count(SalesInvoice) == 0


def test_an_order_cancelled_before_booking_is_ignored(app, platform_store):
    """O10."""
    driver = platform_store.driver
    order = driver.new_order([("MUG-01", 1)])
    driver.cancel(order)
    with app.app_context():
        assert count(SalesInvoice) == 0 and count(ReturnInvoice) == 0


def test_an_older_order_is_booked_by_hand_once(app, platform_store):
    """O2, O3: an order the ERP never heard of is sent by number; a resend says already booked."""
    driver = platform_store.driver
    order = driver.new_order([("MUG-01", 1)], send=False)
    driver.complete(order, send=False)
    with app.app_context():
        first = send_orders(platform_store.store_id, [driver.number(order), "no-such-order"])
        second = send_orders(platform_store.store_id, [driver.number(order)])
        assert [r.outcome for r in first] == ["booked", "not_found"]
        assert second[0].outcome == "already_booked"
        assert count(SalesInvoice) == 1


def test_a_refund_books_one_return_invoice_and_restocks(app, platform_store):
    """R1, R2: the refund reverses the sale into the store's warehouse, once."""
    driver = platform_store.driver
    order = driver.new_order([("MUG-01", 2)])
    driver.complete(order)
    driver.refund_all(order)
    driver.redeliver_last()
    driver.settle()
    with app.app_context():
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert returned.total == invoice.total
        assert on_hand(platform_store.ids.mug, platform_store.ids.warehouse) == Decimal("10")


@pytest.mark.parametrize("platform_store", ["shopify"], indirect=True)  # Salla refunds whole orders only
def test_a_partial_refund_returns_only_the_refunded_quantity(app, platform_store):
    """R1 (platforms whose refunds name the lines)."""
    driver = platform_store.driver
    order = driver.new_order([("MUG-01", 3)])
    driver.complete(order)
    driver.refund_line(order, 0, 1)
    with app.app_context():
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert returned.lines[0].quantity == Decimal("1")
        assert on_hand(platform_store.ids.mug, platform_store.ids.warehouse) == Decimal("8")


def test_customers_are_matched_or_created_and_guests_use_the_default_client(app, platform_store):
    """O4."""
    driver = platform_store.driver
    first = driver.new_order([("MUG-01", 1)])
    driver.complete(first)
    second = driver.new_order([("MUG-01", 1)])
    driver.complete(second)
    with app.app_context():
        clients = {i.client_id for i in db.session.execute(select(SalesInvoice)).scalars()}
        assert len(clients) == 1 and platform_store.ids.walk_in not in clients
        assert count(Client) == 2
    if driver.guest_orders:
        guest = driver.new_order([("MUG-01", 1)], guest=True)
        driver.complete(guest)
        with app.app_context():
            last = db.session.execute(select(SalesInvoice).order_by(SalesInvoice.id.desc())).scalars().first()
            assert last.client_id == platform_store.ids.walk_in


def test_a_new_store_product_is_created_in_the_erp(app, platform_store):
    """P1: a product created in the store arrives with its name, price and quantity."""
    platform_store.driver.add_product("TEA-9", "Green tea", "12.00", 7)
    with app.app_context():
        product = db.session.execute(select(Product).where(Product.code == "TEA-9")).scalar_one()
        assert product.name == "Green tea" and product.sale_price == Decimal("12.00")
        assert on_hand(product.id, platform_store.ids.warehouse) == Decimal("7")


def test_a_wrong_signature_is_refused_and_nothing_is_stored(app, platform_store):
    """Inbox: 401 on a bad signature, nothing stored."""
    with app.app_context():
        from core.integration import connections

        key = connections.rotate_key(platform_store.store_id)
    response = httpx.post(f"{platform_store.erp_url}/webhooks/{key}", content=b'{"event": "order.created"}',
                          headers={"X-Salla-Signature": "0" * 64, "X-Shopify-Hmac-Sha256": "AAAA",
                                   "Content-Type": "application/json"})
    assert response.status_code == 401
    with app.app_context():
        assert count(WebhookDelivery) == 0


def test_salla_app_authorize_event_brings_the_tokens_and_activates_the_store(app):
    """C2 (Salla easy mode): the store waits for app.store.authorize, which carries the tokens."""
    from core.integration import connections
    from core.models import StoreConnection
    from core.testing.sandbox import SandboxServer
    from tests.integration.drivers import SallaDriver

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


def test_the_sandbox_control_page_places_and_completes_an_order_that_gets_booked(app, platform_store):
    """The demo without curl: the sandbox's own page places an order and completes (pays) it."""
    driver = platform_store.driver
    page = driver.sandbox.app.test_client()
    assert page.get("/_sandbox/").status_code == 200
    placed = page.post("/_sandbox/ui/orders", data={"sku_0": "MUG-01", "qty_0": "2"})
    assert "placed" in placed.headers["Location"]
    order_id = max(driver.sandbox.orders if driver.platform == "salla" else driver.sandbox._orders)
    action = "complete" if driver.platform == "salla" else "pay"
    page.post(f"/_sandbox/ui/orders/{order_id}/{action}")
    driver.settle()
    with app.app_context():
        assert count(SalesInvoice) == 1
        assert on_hand(platform_store.ids.mug, platform_store.ids.warehouse) == Decimal("8")


def test_a_held_order_is_fixed_in_the_store_and_booked_on_reprocess(app, platform_store):
    """O6 as a merchant fixes it: the store product gets an SKU (from the sandbox page), its update
    reaches the ERP, and re-processing the held order books it once."""
    from core.integration.manual import reprocess_order

    driver = platform_store.driver
    no_sku = driver.no_sku_item()
    order = driver.new_order([("MUG-01", 1), (no_sku, 1)])
    driver.complete(order)
    page = driver.sandbox.app.test_client()
    page.post(f"/_sandbox/ui/products/{no_sku}/sku", data={"sku": "WRAP-9"})
    driver.settle()
    with app.app_context():
        held = state_of(platform_store.store_id, driver.number(order))
        assert held.state == "needs_attention"
        assert reprocess_order(held.id).outcome == "booked"
        assert count(SalesInvoice) == 1
        assert db.session.execute(select(Product).where(Product.code == "WRAP-9")).scalar_one()
