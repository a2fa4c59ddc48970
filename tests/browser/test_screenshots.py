"""A tour of the main pages in English and Arabic: direction, no horizontal overflow on a desktop and on
phones (390 and 360 px wide), a screenshot of each.

Screenshots land in ``test-artifacts/screenshots/<lang>-<page>.png`` (full page height) for a person to look
at; ``<lang>-<page>-390.png`` is the page on a 390 px phone.
Every page is visited and shot before the test fails, so one broken page does not hide the others.
"""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from tests.browser.conftest import PHONE_WIDTHS


def _ids(app, store_id: int, booked_number: str, held_number: str) -> dict[str, int]:
    from core.models import StoreOrder

    with app.app_context():
        orders = {o.number: o for o in db.session.execute(
            select(StoreOrder).where(StoreOrder.store_id == store_id)).scalars()}
        ids = {"invoice": orders[booked_number].invoice_id, "order": orders[booked_number].id,
               "held": orders[held_number].id}
        db.session.remove()
    return ids


def test_main_pages_in_both_languages(browser, users, lang, app, salla_store):
    driver = salla_store.driver
    booked = driver.new_order([("COF-250", 2), ("DATE-1KG", 1)], discount="5")
    driver.complete(booked)
    held = driver.new_order([("MUG-01", 1), (driver.no_sku_item(), 1)])
    driver.complete(held)
    ids = _ids(app, salla_store.id, driver.number(booked), driver.number(held))
    assert ids["invoice"], "the completed order is booked"
    rtl = lang == "ar"
    problems: list[str] = []

    def visit(name: str, address: str | None, *, expect: str | None = None, main: str = "main") -> None:
        if address is None:
            problems.append(f"{name}: the page does not exist")
            return
        browser.open(address)
        try:
            browser.find(main, timeout=2)
        except BaseException:  # noqa: BLE001 — keep touring
            problems.append(f"{name}: no {main} at {address}")
        if browser.exists("#error-message"):
            problems.append(f"{name}: error page {browser.find('main h1').text} at {address}")
        if browser.direction() != ("rtl" if rtl else "ltr") or browser.lang() != lang:
            problems.append(f"{name}: <html lang={browser.lang()} dir={browser.direction()}>")
        if expect and expect not in browser.body_text():
            problems.append(f"{name}: {expect!r} not shown")
        wide = browser.overflow()
        if wide:
            problems.append(f"{name}: horizontal overflow, {wide}")
        browser.screenshot(lang, name)
        for width in PHONE_WIDTHS:
            with browser.at_width(width):
                wide = browser.overflow()
                if wide:
                    problems.append(f"{name} at {width} px: horizontal overflow, {wide}")
                if width == PHONE_WIDTHS[0]:
                    browser.screenshot(lang, f"{name}-{width}")

    def url(endpoint: str, **values) -> str | None:  # noqa: ANN003
        return browser.url(endpoint, **values) if browser.has_endpoint(endpoint) else None

    # the login page in the language chosen before signing in
    browser.open("/login")
    if browser.lang() != lang:
        browser.click("#switch-language")
    visit("login", browser.driver.current_url)

    browser.signed_in("admin", lang)
    number = driver.number(booked)
    visit("dashboard", url("dashboard.index"), expect="Salla sandbox")
    visit("invoices", url("sales.invoices"), expect=number)
    visit("invoice", url("sales.invoice", invoice_id=ids["invoice"]), expect=number)
    visit("invoice-print", url("sales.invoice_print", invoice_id=ids["invoice"]), main="body", expect=number)
    visit("products", url("catalog.products"), expect="COF-250")
    visit("accounts", url("accounting.accounts"))
    visit("journal", url("accounting.journal"))
    visit("stores", url("stores.index"), expect="Salla sandbox")
    visit("stores-detail", url("stores.detail", store_id=salla_store.id))
    visit("sync-log", url("sync.log"))
    visit("needs-attention", url("sync.attention"), expect=driver.number(held))
    visit("order", url("sync.order", order_id=ids["order"]), expect=number)
    visit("order-held", url("sync.order", order_id=ids["held"]), expect="SKU")
    visit("plugins", url("plugins.index"), expect="Salla")
    assert not problems, "\n".join(problems)


def test_the_printable_invoice_fits_a_page_and_hides_the_navigation(browser, users, lang, app, salla_store):
    driver = salla_store.driver
    order = driver.new_order([("COF-250", 1)])
    driver.complete(order)
    ids = _ids(app, salla_store.id, driver.number(order), driver.number(order))
    browser.signed_in("viewer", lang)
    browser.open(browser.url("sales.invoice", invoice_id=ids["invoice"]))
    link = browser.find("#print")
    assert link.get_attribute("target") == "_blank", "the printable copy opens beside the invoice"
    browser.open(link.get_attribute("href"))
    assert "/print" in browser.driver.current_url
    assert browser.direction() == ("rtl" if lang == "ar" else "ltr")
    assert browser.money(lang, driver.total(order)) in browser.body_text()
    assert driver.number(order) in browser.body_text()
    browser.assert_no_overflow("printable invoice")
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        hidden = browser.driver.execute_script(
            "const t = document.querySelector('.topbar'); return !t || getComputedStyle(t).display === 'none';")
        assert hidden, "the navigation is not printed"
        width = browser.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= browser.driver.execute_script("return window.innerWidth")
    finally:
        browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
