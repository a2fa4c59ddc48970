"""A WooCommerce sandbox store through the UI: the wizard with the store URL and REST keys, activation that
creates the signed webhooks (the sandbox pings each), an order completed while the sandbox drops its webhooks and
booked by "Reconcile now" on the store page, and a refund of one line becoming a return invoice for that line."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core.extensions import db
from tests.browser.stores import served_driver, store_orders


@pytest.fixture
def woo_sandbox() -> Iterator[SimpleNamespace]:
    """The sandbox store with the demo catalog, served over HTTP."""
    from plugins.woocommerce.testing import WooCommerceDriver

    with served_driver(WooCommerceDriver) as served:
        yield served


def _returned_quantities(app) -> list[Decimal]:
    from core.models import ReturnInvoice

    with app.app_context():
        quantities = [line.quantity for r in db.session.execute(select(ReturnInvoice)).scalars() for line in r.lines]
        db.session.remove()
    return quantities


def test_admin_connects_a_woocommerce_store_and_reconciliation_books_what_its_webhooks_missed(
        browser, users, lang, app, served, woo_sandbox, shop):
    """C1–C4, O12, R1 for WooCommerce through the wizard and the store page, in English and Arabic."""
    from core.models import StoreConnection

    woo = woo_sandbox
    browser.signed_in("admin", lang)
    browser.open(browser.url("plugins.index"))
    browser.click("#install-woocommerce")
    browser.find(".flash")
    browser.click("#enable-woocommerce")
    browser.wait_text("#plugin-woocommerce", browser.tr(lang, "enabled"))

    browser.open(browser.url("stores.index"))
    browser.click("#new-store")
    browser.select("select[name=platform]", "woocommerce")
    browser.fill("input[name=name]", "WooCommerce sandbox")
    browser.click("#save, #create, #create-store")
    assert browser.find("#connection-key").text.strip().startswith("mzs_")

    credentials = woo.driver.credentials(woo.url)
    for name in ("store_url", "consumer_key", "consumer_secret"):
        browser.fill(f"input[name='cred-{name}'], input[name='{name}']", credentials[name])
    browser.click("#save-credentials")
    browser.find(".flash")
    browser.click("#activate")
    browser.find("select[name=warehouse_id]")
    with app.app_context():
        store = db.session.execute(select(StoreConnection)).scalar_one()
        store_id, status = store.id, store.status
        db.session.remove()
    assert status == "active"

    browser.select("select[name=warehouse_id]", str(shop.warehouse))
    browser.select("select[name=branch_id]", str(shop.branch))
    browser.select("select[name=default_client_id]", str(shop.walk_in))
    browser.check("input[name=create_financial_invoice]", True)
    browser.check("input[name=update_inventory]", True)
    browser.click("#save-settings")
    browser.find(".flash")
    assert not browser.exists(".field.has-error"), browser.body_text()[:500]

    # WooCommerce never retries: with its deliveries lost, only reconciliation books the order
    woo.sandbox.drop = True
    order = woo.driver.new_order([("COF-250", 2), ("MUG-01", 1)])
    woo.driver.complete(order)
    number = woo.driver.number(order)
    assert store_orders(app, store_id) == {}
    browser.click("#reconcile-now")
    browser.find(".flash")
    browser.reload_until(lambda _: store_orders(app, store_id) == {number: "booked"}, message="reconciliation books it")
    browser.open(browser.url("stores.detail", store_id=store_id))
    browser.find("#last-reconciliation")
    browser.assert_no_overflow("woocommerce store page")
    browser.screenshot(lang, "stores-woocommerce")

    browser.open(browser.url("sales.invoices"))
    browser.wait_text("#list", number)
    row = next(r for r in browser.all("#list tbody tr") if number in r.text)
    total = browser.money(lang, woo.driver.total(order))
    assert total in row.text, f"the invoice row should show the store's total {total}: {row.text!r}"

    woo.sandbox.drop = False
    woo.driver.refund_line(order, 0, 1)  # a refund of one COF-250, its lines read through the API
    browser.reload_until(lambda _: _returned_quantities(app) == [Decimal("1")], message="the line refund is booked")
