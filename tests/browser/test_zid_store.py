"""A Zid sandbox store through the UI: the wizard with Zid's two tokens, activation that subscribes the
webhooks with Basic credentials, the store's inventory location, an order becoming an invoice with the
store's total, and a partial reverse order becoming a return invoice for that line."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from core.extensions import db
from tests.browser.stores import served_driver, store_orders


@pytest.fixture
def zid_sandbox() -> Iterator[SimpleNamespace]:
    """The sandbox store with the demo catalog, served over HTTP."""
    from plugins.zid.testing import ZidDriver

    with served_driver(ZidDriver) as served:
        yield served


def test_admin_connects_a_zid_store_and_its_orders_and_returns_are_booked(browser, users, lang, app, served,
                                                                           zid_sandbox, shop):
    """C1–C4, O1, R1 for Zid through the wizard, in English and Arabic."""
    from core.models import ReturnInvoice, StoreConnection

    zid = zid_sandbox
    browser.signed_in("admin", lang)
    browser.open(browser.url("plugins.index"))
    browser.click("#install-zid")
    browser.find(".flash")
    browser.click("#enable-zid")
    browser.wait_text("#plugin-zid", browser.tr(lang, "enabled"))

    browser.open(browser.url("stores.index"))
    browser.click("#new-store")
    browser.select("select[name=platform]", "zid")
    browser.fill("input[name=name]", "Zid sandbox")
    browser.click("#save, #create, #create-store")
    assert browser.find("#connection-key").text.strip().startswith("mzs_")

    credentials = zid.driver.credentials(zid.url)
    for name in ("authorization", "access_token", "store_id", "api_base"):
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
    subscribed = {s["event"] for s in zid.sandbox.subscriptions}
    assert {"order.create", "order.status.update"} <= subscribed

    browser.select("select[name=warehouse_id]", str(shop.warehouse))
    browser.select("select[name=branch_id]", str(shop.branch))
    browser.select("select[name=default_client_id]", str(shop.walk_in))
    browser.check("input[name=create_financial_invoice]", True)
    browser.check("input[name=update_inventory]", True)
    browser.click("#save-settings")
    browser.find(".flash")
    assert not browser.exists(".field.has-error"), browser.body_text()[:500]
    # the store's inventory location: Zid's default is chosen until the admin picks another (C2)
    jeddah = zid.sandbox.locations[1]["id"]
    browser.select("select[name=location_id]", jeddah)
    browser.click("#save-location")
    browser.find(".flash")
    with app.app_context():
        from core.integration import connections

        assert connections.credentials(db.session.get(StoreConnection, store_id))["location_id"] == jeddah
        db.session.remove()
    browser.assert_no_overflow("zid store page")
    browser.screenshot(lang, "stores-zid")

    order = zid.driver.new_order([("COF-250", 2), ("MUG-01", 1)])
    zid.driver.complete(order)
    number = zid.driver.number(order)
    browser.reload_until(lambda _: store_orders(app, store_id) == {number: "booked"}, message="the Zid order is booked")
    browser.open(browser.url("sales.invoices"))
    browser.wait_text("#list", number)
    row = next(r for r in browser.all("#list tbody tr") if number in r.text)
    total = browser.money(lang, zid.driver.total(order))
    assert total in row.text, f"the invoice row should show the store's total {total}: {row.text!r}"
    browser.click_element(row.find_element(By.CSS_SELECTOR, "a"))
    assert total in browser.body_text()

    zid.driver.refund_line(order, 0, 1)  # a partial reverse order: one COF-250 comes back

    def returned() -> list[Decimal]:
        with app.app_context():
            rows = db.session.execute(select(ReturnInvoice)).scalars().all()
            quantities = [line.quantity for r in rows for line in r.lines]
            db.session.remove()
        return quantities
    browser.reload_until(lambda _: returned() == [Decimal("1")], message="the partial reverse order is booked")
