"""The Content-Security-Policy blocks nothing on Mizan's own pages: scripts, styles and forms all still work."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db

#: Runs before each page's own scripts (CDP scripts are not subject to the page's CSP).
RECORD_VIOLATIONS = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' line ' + e.lineNumber));"
)


def test_no_page_triggers_a_csp_violation_and_the_script_helpers_still_run(browser, users, app, salla_store):
    from core.models import StoreOrder

    driver = salla_store.driver
    order = driver.new_order([("COF-250", 1)])
    driver.complete(order)
    with app.app_context():
        invoice_id = db.session.execute(
            select(StoreOrder.invoice_id).where(StoreOrder.number == driver.number(order))).scalar_one()
        db.session.remove()
    chrome = browser.driver
    script = chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    try:
        browser.open("/login")
        browser.sign_in("admin")
        browser.find("#sign-out")
        violations: list[str] = []
        pages = [
            ("dashboard.index", {}), ("accounting.accounts", {}), ("accounting.journal", {}),
            ("sales.invoices", {}), ("sales.invoice", {"invoice_id": invoice_id}),
            ("sales.invoice_print", {"invoice_id": invoice_id}), ("catalog.products", {}),
            ("stores.index", {}), ("stores.detail", {"store_id": salla_store.id}),
            ("stores.product_sync", {"store_id": salla_store.id}), ("sync.log", {}), ("plugins.index", {}),
        ]
        for endpoint, values in pages:
            browser.open(browser.url(endpoint, **values))
            found = chrome.execute_script("return window.__csp || []")
            violations += [f"{endpoint}: {v}" for v in found]
        assert not violations, "\n".join(violations)

        # The indentation of the chart of accounts comes from mizan.css, not from a style attribute.
        browser.open(browser.url("accounting.accounts"))
        indents = chrome.execute_script(
            "return [...document.querySelectorAll('td.tree-name[data-depth]')].map("
            "(td) => [td.dataset.depth, parseFloat(getComputedStyle(td).paddingInlineStart)]);")
        by_depth = {depth: pad for depth, pad in indents}
        assert by_depth["2"] > by_depth["1"] > by_depth["0"], by_depth
        # The print button's handler comes from mizan.js.
        browser.open(browser.url("sales.invoice_print", invoice_id=invoice_id))
        chrome.execute_script("window.print = () => { window.__printed = true; };")
        browser.click("#print-now", navigates=False)
        assert chrome.execute_script("return window.__printed === true")
    finally:
        chrome.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
