"""Signing in and out, the language switch and right-to-left layout, roles, and CSRF — in a real browser."""
from __future__ import annotations

import pytest

from core.extensions import db

WRONG = "Wrong username or password, or the account is locked after too many attempts."
SIGNED_OUT = "You are signed out."
CSRF = "This form has expired or did not come from Mizan. Go back, reload the page and try again."
FORBIDDEN = "Your role does not allow this page or action. Ask an administrator if you need it."


def test_sign_in_and_out(browser, users, lang):
    browser.set_locale("accountant", lang)
    browser.open("/")  # not signed in: sent to the login page
    assert "/login" in browser.driver.current_url
    browser.sign_in("accountant")
    browser.find("#sign-out")
    assert browser.driver.current_url.rstrip("/") == browser.base
    assert browser.lang() == lang
    assert browser.direction() == ("rtl" if lang == "ar" else "ltr")
    assert "accountant" in browser.find(".session .user").text
    assert browser.exists("#tile-attention")
    browser.click("#sign-out")
    browser.find("#sign-in")
    assert browser.find(".flash").text in (browser.tr(lang, SIGNED_OUT), SIGNED_OUT)
    browser.open("/")
    assert "/login" in browser.driver.current_url, "signed out, the dashboard must ask to sign in again"


def test_signing_out_keeps_the_users_language(browser, users):
    browser.signed_in("viewer", "ar")  # the browser asks for English (--lang=en-US)
    browser.click("#sign-out")
    browser.find("#sign-in")
    assert browser.direction() == "rtl"
    assert browser.find(".flash").text == browser.tr("ar", SIGNED_OUT)


def test_wrong_password_is_refused_with_a_message(browser, users, lang):
    browser.set_locale("viewer", lang)
    browser.open("/login")
    if browser.lang() != lang:  # before sign-in the language is the session's: switch it with the button
        browser.click("#switch-language")
    assert browser.lang() == lang
    browser.fill("input[name=username]", "viewer")
    browser.fill("input[name=password]", "not-the-password")
    browser.click("#sign-in")
    error = browser.find(".field.has-error .error[role=alert]")
    assert error.text == browser.tr(lang, WRONG)
    assert browser.find("input[name=password]").get_attribute("aria-invalid") == "true"
    assert not browser.exists("#sign-out")
    assert browser.find("input[name=username]").get_attribute("value") == "viewer"  # kept for the retry
    browser.sign_in("viewer")
    browser.find("#sign-out")


def test_switch_language_keeps_the_page_and_the_choice(browser, users, app):
    from sqlalchemy import select

    from core.models import User

    browser.signed_in("admin", "en")
    assert browser.find("#switch-language").text == "العربية"
    browser.click("#switch-language")
    browser.wait().until(lambda d: browser.direction() == "rtl")
    assert browser.lang() == "ar"
    assert browser.driver.current_url.rstrip("/?") == browser.base  # back on the same page
    assert browser.find("#switch-language").text == "English"
    with app.app_context():
        assert db.session.execute(select(User.locale).where(User.username == "admin")).scalar_one() == "ar"
        db.session.remove()
    browser.click("#sign-out")
    browser.sign_in("admin")  # the choice is the user's: Arabic again after signing in
    browser.find("#sign-out")
    assert browser.direction() == "rtl"
    browser.click("#switch-language")
    browser.wait().until(lambda d: browser.direction() == "ltr")


def _box(browser, css):
    return browser.driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, width: r.width};", css)


def test_arabic_pages_are_right_to_left_with_the_navigation_on_the_right(browser, users, lang):
    browser.signed_in("admin", lang)
    width = browser.driver.execute_script("return window.innerWidth")
    brand, session = _box(browser, ".topbar .brand"), _box(browser, ".topbar .session")
    links = browser.all(".mainnav a")
    assert len(links) >= 2, "the admin sees at least the dashboard and the plugins"
    first, last = links[0].rect, links[-1].rect
    heading = _box(browser, "main h1")
    if lang == "ar":
        assert browser.direction() == "rtl"
        assert brand["right"] > width * 0.9, f"the brand should sit at the right edge: {brand}"
        assert session["left"] < width * 0.25, f"the session links should sit at the left: {session}"
        assert first["x"] > last["x"], "the first navigation link should be the rightmost"
        assert first["x"] > width / 2, "the navigation should start on the right half"
        assert heading["right"] > width - 200, f"headings should align right: {heading}"
    else:
        assert browser.direction() == "ltr"
        assert brand["left"] < width * 0.1
        assert session["right"] > width * 0.75
        assert first["x"] < last["x"]
        assert heading["left"] < 200
    browser.assert_no_overflow()


# --- roles ------------------------------------------------------------------------------------------


def test_viewer_sees_no_admin_actions_and_is_refused_the_plugins_page(browser, users, lang, salla_plugin):
    browser.signed_in("viewer", lang)
    nav = [a.get_attribute("href") for a in browser.all(".mainnav a")]
    plugins_url = browser.url("plugins.index") if browser.has_endpoint("plugins.index") else browser.base + "/plugins"
    assert plugins_url not in nav, "the Plugins section is for admins"
    browser.open(plugins_url)
    assert browser.find("main h1").text == "403"
    assert browser.find("#error-message").text == browser.tr(lang, FORBIDDEN)
    assert browser.exists("#sign-out"), "a refused page keeps the user signed in"
    if browser.has_endpoint("stores.index"):
        browser.open(browser.url("stores.index"))
        admin_only = ["#regenerate-key", "#activate", "#save-credentials", "#save-settings", "#start-sync",
                      "#send-orders"]
        if browser.has_endpoint("stores.new"):
            admin_only.append(f"a[href='{browser.url('stores.new').removeprefix(browser.base)}']")
        shown = [css for css in admin_only if browser.exists(css)]
        assert not shown, f"a viewer sees admin actions on the stores page: {shown}"
    if browser.has_endpoint("stores.new"):
        browser.open(browser.url("stores.new"))
        assert browser.find("main h1").text == "403"


def test_admin_sees_the_plugins_page(browser, users, lang, salla_plugin):
    browser.signed_in("admin", lang)
    hrefs = [a.get_attribute("href") for a in browser.all(".mainnav a")]
    assert browser.url("plugins.index") in hrefs
    browser.open(browser.url("plugins.index"))
    assert browser.find("main h1").text != "403"
    assert "Salla" in browser.body_text()
    browser.assert_no_overflow()


# --- CSRF -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tamper", ["missing", "wrong"])
def test_a_form_without_a_valid_csrf_token_is_refused(browser, users, lang, tamper):
    browser.signed_in("accountant", lang)
    direction = browser.direction()
    form = "form[action*='/language/']"
    if tamper == "missing":
        browser.driver.execute_script(f"document.querySelector(\"{form} input[name=csrf_token]\").remove();")
    else:
        browser.driver.execute_script(f"document.querySelector(\"{form} input[name=csrf_token]\").value = 'forged';")
    browser.click("#switch-language")
    assert browser.find("main h1").text == "400"
    assert browser.find("#error-message").text == browser.tr(lang, CSRF)
    assert browser.direction() == direction, "the refused form must not have switched the language"
    browser.open("/")
    assert browser.lang() == lang


def test_the_login_form_needs_its_csrf_token(browser, users):
    browser.open("/login")
    browser.driver.execute_script("document.getElementById('sign-in').form.elements.csrf_token.remove();")
    browser.fill("input[name=username]", "admin")
    browser.fill("input[name=password]", "browser-pass-123")
    browser.click("#sign-in")
    assert not browser.exists("#sign-out"), "signed in without a CSRF token"
    assert browser.find("main h1").text == "400"
    assert browser.find("#error-message").text == browser.tr("en", CSRF)
