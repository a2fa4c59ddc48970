"""Controls look like what they do: a disabled button looks disabled, an enabled one does not."""
from __future__ import annotations

from core.extensions import db


def _look(browser, css: str) -> tuple[float, str]:
    element = browser.find(css)
    opacity, cursor = browser.driver.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.opacity, s.cursor];", element)
    return float(opacity), cursor


def test_a_disabled_button_looks_disabled(browser, users, lang, app, salla_plugin):
    from core.integration import connections

    with app.app_context():
        store, _key = connections.create_store("salla", "New shop")  # no credentials yet: Activate is disabled
        store_id = store.id
        db.session.remove()
    browser.signed_in("admin", lang)
    browser.open(browser.url("stores.detail", store_id=store_id))
    assert browser.find("#activate").get_attribute("disabled") is not None

    opacity, cursor = _look(browser, "#activate")
    assert opacity <= 0.6 and cursor == "not-allowed", (opacity, cursor)
    opacity, cursor = _look(browser, "#save-credentials")
    assert opacity == 1 and cursor == "pointer", (opacity, cursor)
