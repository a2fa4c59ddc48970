"""Browser tests: one headless Chromium (Debian's ``chromium`` + ``chromium-driver``) drives the app served on localhost.

The session ``app`` is served over HTTP by :class:`core.testing.sandbox.SandboxServer`; a Salla sandbox store
is served the same way and sends its webhooks to it. The database is emptied before every test (the shared
``app`` fixture of the kit), so each test makes its own users, master data and store.

Selenium Manager never runs: the driver and browser are given by path (``make browser`` installs them).
Screenshots go to ``test-artifacts/screenshots/<lang>-<page>.png``; a failing test leaves
``test-artifacts/failures/<test>.png``.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from core.extensions import db
from tests.browser.stores import served_driver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
FAILURES = ARTIFACTS / "failures"
PASSWORD = "browser-pass-123"
LANGS = ["en", "ar"]
#: The desktop window, and the phone widths every page must fit without scrolling sideways.
DESKTOP = (1366, 900)
PHONE_WIDTHS = (390, 360)
WAIT = 10  # seconds an explicit wait may take before the test fails


# --- the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chrome() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the whole session (cookies are cleared before each test)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: run `make browser` (Debian's chromium and chromium-driver)")
    for old in FAILURES.glob("*.png"):  # failures of an earlier run would mislead
        old.unlink()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
                     "--disable-gpu", "--lang=en-US", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def served(session_app) -> Iterator[str]:
    """The session app over HTTP on 127.0.0.1; ``PUBLIC_URL`` points at it (restored afterwards)."""
    from core.testing.sandbox import SandboxServer

    app = session_app
    previous = app.config["PUBLIC_URL"]
    with SandboxServer(app) as server:
        app.config["PUBLIC_URL"] = server.url
        try:
            yield server.url
        finally:
            app.config["PUBLIC_URL"] = previous


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def browser(request, chrome, app, served) -> Iterator[Browser]:
    """The shared Chromium on a fresh session (no cookies); a screenshot is kept when the test fails."""
    chrome.get(served + "/login")
    chrome.delete_all_cookies()
    page = Browser(chrome, served, app)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        try:
            chrome.save_screenshot(str(FAILURES / f"{name}.png"))
        except WebDriverException:
            pass


@pytest.fixture(params=LANGS)
def lang(request) -> str:
    return request.param


# --- users, master data, stores ---------------------------------------------------------------------


@pytest.fixture
def users(app, monkeypatch) -> dict[str, str]:
    """One user per role (username = role), all with ``PASSWORD``; fast hashes."""
    from werkzeug.security import generate_password_hash

    from core.models import ROLES
    from core.services import users as user_service

    monkeypatch.setattr(user_service, "generate_password_hash",
                        lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1"))
    with app.app_context():
        for role in ROLES:
            user_service.create_user(role, PASSWORD, role=role)
        db.session.remove()
    return {role: role for role in ROLES}


@pytest.fixture
def shop(app) -> SimpleNamespace:
    """A warehouse, a branch and a walk-in client for the store settings."""
    from tests.builders import Builders

    with app.app_context():
        build = Builders()
        warehouse, branch, walk_in = build.warehouse("MAIN"), build.branch("RUH"), build.client("Walk-in")
        other = build.warehouse("SPARE")
        ids = SimpleNamespace(warehouse=warehouse.id, other_warehouse=other.id, branch=branch.id, walk_in=walk_in.id)
        db.session.remove()
    return ids


@pytest.fixture
def salla_plugin(app) -> None:
    """The real Salla plugin installed and enabled in the registry."""
    from core.plugins import registry

    with app.app_context():
        plugins = registry()
        plugins.install("salla")
        plugins.enable("salla")
        db.session.remove()


@pytest.fixture
def salla_sandbox() -> Iterator[SimpleNamespace]:
    """A Salla sandbox store with the demo catalog, served over HTTP (no webhook target yet)."""
    from plugins.salla.testing import SallaDriver

    with served_driver(SallaDriver) as served:
        yield served


@pytest.fixture
def salla(salla_plugin, salla_sandbox) -> SimpleNamespace:
    """The Salla sandbox, with the Salla plugin installed and enabled."""
    return salla_sandbox


@pytest.fixture
def salla_store(app, served, salla, shop) -> SimpleNamespace:
    """The Salla sandbox connected through the services (the wizard test does it through the UI)."""
    from core.integration import connections

    with app.app_context():
        store, key = connections.create_store("salla", "Salla sandbox")
        connections.set_credentials(store.id, salla.driver.credentials(salla.url))
        connections.update_settings(store.id, {
            "default_client_id": shop.walk_in, "warehouse_id": shop.warehouse, "branch_id": shop.branch,
            "create_financial_invoice": True, "update_inventory": True,
        })
        connections.activate(store.id, key)
        salla.driver.connect_webhooks(connections.webhook_url(key))
        store_id = store.id
        db.session.remove()
    return SimpleNamespace(id=store_id, key=key, driver=salla.driver, sandbox=salla.sandbox, shop=shop)


# --- the page helper --------------------------------------------------------------------------------


@dataclass
class Browser:
    """The Chromium session plus the app it talks to: navigation, waits, language, screenshots."""

    driver: webdriver.Chrome
    base: str
    app: Any

    # navigation and waits

    def url(self, endpoint: str, **values: Any) -> str:
        """The address of ``endpoint``; fails clearly when that page does not exist (yet)."""
        from flask import url_for
        from werkzeug.routing import BuildError

        with self.app.test_request_context():
            try:
                return self.base + url_for(endpoint, **values)
            except BuildError as error:
                pytest.fail(f"the page {endpoint} is missing ({error})")

    def has_endpoint(self, endpoint: str) -> bool:
        return endpoint in self.app.view_functions

    def open(self, address: str) -> None:
        self.driver.get(address if address.startswith("http") else self.base + address)
        self.wait_ready()

    def wait(self, timeout: float = WAIT) -> WebDriverWait:
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1)

    def wait_ready(self) -> None:
        self.wait().until(lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css: str, timeout: float = WAIT) -> WebElement:
        try:
            return self.wait(timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))
        except TimeoutException:
            pytest.fail(f"no element {css!r} on {self.driver.current_url} within {timeout} s "
                        f"(page: {self.body_text()[:300]!r})")

    def visible(self, css: str, timeout: float = WAIT) -> WebElement:
        try:
            return self.wait(timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))
        except TimeoutException:
            pytest.fail(f"{css!r} is not visible on {self.driver.current_url} within {timeout} s")

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def exists(self, css: str) -> bool:
        return bool(self.all(css))

    def first(self, *selectors: str, timeout: float = WAIT) -> WebElement:
        """The first element matching any of ``selectors`` (for agreed alternatives like #save/#create)."""
        joined = ", ".join(selectors)
        return self.find(joined, timeout)

    def click(self, css: str, timeout: float = WAIT, *, navigates: bool = True) -> None:
        """Click; when it ``navigates`` (a link or a form), wait until the next page has loaded."""
        element = self.find(css, timeout)
        self.wait(timeout).until(EC.element_to_be_clickable(element))
        self.click_element(element, navigates=navigates)

    def click_element(self, element: WebElement, *, navigates: bool = True) -> None:
        """Click ``element``; when it ``navigates``, wait for a new document that has finished loading.

        The old page is marked with a token in ``window``: a new document lacks it. (Selenium's
        ``staleness_of`` can raise "Node ... does not belong to the document" mid-navigation.)
        """
        token = uuid.uuid4().hex
        self.driver.execute_script("window.__mizanPage = arguments[1]; arguments[0].scrollIntoView({block: 'center'});",
                                   element, token)
        element.click()
        if not navigates:
            return

        def loaded(driver: Any) -> bool:
            try:
                return driver.execute_script(
                    "return window.__mizanPage !== arguments[0] && document.readyState === 'complete';", token)
            except WebDriverException:  # between two documents
                return False

        try:
            self.wait().until(loaded)
        except TimeoutException:
            pytest.fail(f"the click led nowhere: still on {self.driver.current_url}")

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def select(self, css: str, value: str) -> None:
        Select(self.find(css)).select_by_value(value)

    def check(self, css: str, checked: bool = True) -> None:
        box = self.find(css)
        if box.is_selected() != checked:
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
            box.click()

    def body_text(self) -> str:
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return ""

    def wait_text(self, css: str, text: str, timeout: float = WAIT) -> WebElement:
        """Wait until the element's text contains ``text`` (reloading is up to the page)."""
        def present(driver: Any) -> bool:
            try:
                return text in driver.find_element(By.CSS_SELECTOR, css).text
            except WebDriverException:  # not there yet, or the page navigated under the lookup
                return False

        try:
            self.wait(timeout).until(present)
        except TimeoutException:
            shown = self.all(css)
            pytest.fail(f"{text!r} never appeared in {css!r} on {self.driver.current_url}; it shows "
                        f"{shown[0].text[:400] if shown else '(no such element)'!r}")
        return self.find(css)

    def reload_until(self, predicate, timeout: float = WAIT, message: str = "") -> None:  # noqa: ANN001
        """Reload the page until ``predicate(self)`` holds (for server-side state without live updates)."""
        def attempt(_driver: Any) -> bool:
            if predicate(self):
                return True
            self.driver.refresh()
            self.wait_ready()
            return False
        try:
            WebDriverWait(self.driver, timeout, poll_frequency=0.3).until(attempt)
        except TimeoutException:
            pytest.fail(message or f"condition never held on {self.driver.current_url}")

    # session and language

    def sign_in(self, username: str, password: str = PASSWORD, lang: str | None = None) -> None:
        """Sign in through the form; ``lang`` is set on the user first (the user's locale wins)."""
        if lang is not None:
            self.set_locale(username, lang)
        self.open("/login")
        self.fill("input[name=username]", username)
        self.fill("input[name=password]", password)
        self.click("#sign-in")

    def signed_in(self, username: str, lang: str) -> None:
        self.sign_in(username, lang=lang)
        self.find("#sign-out")
        assert self.lang() == lang

    def set_locale(self, username: str, lang: str) -> None:
        from sqlalchemy import update

        from core.models import User

        with self.app.app_context():
            db.session.execute(update(User).where(User.username == username).values(locale=lang))
            db.session.commit()
            db.session.remove()

    def lang(self) -> str:
        return self.find("html").get_attribute("lang")

    def direction(self) -> str:
        return self.find("html").get_attribute("dir")

    def tr(self, lang: str, message: str, **values: Any) -> str:
        """``message`` as the app shows it in ``lang``."""
        from flask_babel import force_locale, gettext

        with self.app.test_request_context(), force_locale(lang):
            return gettext(message, **values)

    def money(self, lang: str, value: Decimal) -> str:
        """An amount formatted as the pages show it in ``lang``."""
        from flask_babel import force_locale

        from core.web.i18n import money

        with self.app.test_request_context(), force_locale(lang):
            return money(Decimal(value))

    # layout

    def metrics(self) -> dict[str, Any]:
        return self.driver.execute_script("""
            const d = document.documentElement;
            const wide = [];
            for (const el of document.body.querySelectorAll('*')) {
              const r = el.getBoundingClientRect();
              if (r.width > 0 && (r.right > window.innerWidth + 1 || r.left < -1)
                  && getComputedStyle(el).position !== 'fixed' && !el.closest('.table-wrap')) {
                wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                          (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                          ' [' + Math.round(r.left) + ',' + Math.round(r.right) + ']');
              }
            }
            return {scrollWidth: d.scrollWidth, innerWidth: window.innerWidth, clientWidth: d.clientWidth,
                    scrollHeight: d.scrollHeight, dir: d.getAttribute('dir'), lang: d.getAttribute('lang'),
                    overflowing: wide.slice(0, 8)};
        """)

    @contextmanager
    def at_width(self, width: int) -> Iterator[None]:
        """Narrow (or widen) the window to ``width`` CSS pixels, then restore the desktop window."""
        self.driver.set_window_size(width, DESKTOP[1])
        try:
            self.wait().until(lambda d: d.execute_script("return window.innerWidth") == width)
            yield
        finally:
            self.driver.set_window_size(*DESKTOP)

    def overflow(self) -> str | None:
        """What overflows the window sideways, or ``None`` when the page fits."""
        m = self.metrics()
        if m["scrollWidth"] <= m["innerWidth"]:
            return None
        return f"scrollWidth {m['scrollWidth']} > {m['innerWidth']} ({m['overflowing']})"

    def assert_no_overflow(self, label: str = "") -> dict[str, Any]:
        """No horizontal scrolling: the page is no wider than the window."""
        m = self.metrics()
        assert m["scrollWidth"] <= m["innerWidth"], (
            f"{label or self.driver.current_url} overflows horizontally: scrollWidth {m['scrollWidth']} > "
            f"innerWidth {m['innerWidth']}; elements outside the window: {m['overflowing']}")
        return m

    def screenshot(self, lang: str, page: str) -> Path:
        """Save the whole page (full height, up to 6000 px) as ``test-artifacts/screenshots/<lang>-<page>.png``.

        The window is made as tall as the page for the shot, then restored. (CDP's
        ``captureBeyondViewport`` shifts right-to-left pages sideways, so it is not used.)
        """
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{lang}-{page}.png"
        inner, outer, height = self.driver.execute_script(
            "return [window.innerHeight, window.outerHeight, document.documentElement.scrollHeight];")
        size = self.driver.get_window_size()
        tall = min(height, 6000) > inner
        if tall:
            self.driver.set_window_size(size["width"], min(height, 6000) + (outer - inner))
        try:
            self.driver.save_screenshot(str(path))
        finally:
            if tall:
                self.driver.set_window_size(size["width"], size["height"])
        return path
