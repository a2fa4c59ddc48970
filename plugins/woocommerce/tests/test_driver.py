"""The WooCommerce kit driver: its deliveries are signed with the webhook secret it hands the ERP, an order
delivery is the order itself and its refunds resolve through the store's API; its capabilities have their methods."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from core.platform.base import Credentials
from core.platform.webhooks import Verdict
from core.testing.kit.conformance import PlatformConformance, as_request, resolve_references
from core.testing.kit.driver import StoreDriver, missing_capabilities
from plugins.woocommerce import WooCommercePlugin
from plugins.woocommerce.testing import WooCommerceDriver


@pytest.fixture
def driver() -> Iterator[WooCommerceDriver]:
    woo = WooCommerceDriver()
    with woo.serve() as server:
        woo.url = server.url
        yield woo


@pytest.fixture
def plugin() -> WooCommercePlugin:
    return WooCommercePlugin()


@pytest.fixture
def store(driver: WooCommerceDriver, plugin: WooCommercePlugin) -> Iterator[Any]:
    """An unsaved store connection holding the driver's credentials, in an app context that decrypts them."""
    app = Flask("woocommerce-driver-test")
    app.config.update(SECRET_KEY="woocommerce-driver-test", ENCRYPTION_KEY=None)
    with app.app_context():
        yield PlatformConformance.make_store(plugin, driver.credentials(driver.url))


@pytest.fixture
def client(plugin: WooCommercePlugin, store: Any) -> Iterator[Any]:
    api = plugin.client(store, Credentials(plugin.credentials(store)))
    yield api
    api.close()


def test_the_driver_declares_only_what_it_can_do():
    assert isinstance(WooCommerceDriver(), StoreDriver)
    assert missing_capabilities(WooCommerceDriver) == []
    assert WooCommerceDriver.plugin_class is WooCommercePlugin
    assert WooCommerceDriver.signature_header == "X-WC-Webhook-Signature"


@pytest.mark.parametrize("kind", ["order_created", "order_completed", "refund", "product", "unknown"])
def test_each_delivery_is_signed_with_the_secret_the_erp_keeps(plugin, store, driver, kind):
    headers, body = driver.signed_delivery(kind)
    assert plugin.verify(store, as_request(headers, body)) is Verdict.AUTHENTIC
    assert plugin.verify(store, as_request(headers, body + b" ")) is Verdict.REJECT
    assert plugin.verify(store, as_request(driver.resign(headers, body + b" "), body + b" ")) is Verdict.AUTHENTIC
    assert plugin.verify(store, as_request({**headers, **driver.forged_headers()}, body)) is Verdict.REJECT


def test_a_refund_delivery_is_the_refunded_order_and_its_refund_read_from_the_api(plugin, store, driver, client):
    """O5/R1: the order as sent (completed once: date_completed set), its refund with lines from the store's API."""
    headers, body = driver.signed_delivery("refund")
    sent = json.loads(body)
    events = resolve_references(plugin.parse(store, as_request(headers, body)), client)
    assert [(e.kind, e.external_id) for e in events] == [("order", str(sent["id"])),
                                                          ("refund", str(sent["refunds"][0]["id"]))]
    order, refund = events[0].order, events[1].refund
    assert order.status == "refunded" and "completed" in order.reached_statuses
    assert [(line.line_external_id, line.quantity) for line in refund.lines] == [
        (str(sent["line_items"][0]["id"]), 1)]


def test_a_line_refund_resolves_to_its_line(driver, client):
    order = driver.new_order([("MUG-01", 3), ("COF-250", 1)], send=False)
    driver.complete(order, send=False)
    driver.refund_line(order, 0, 2)
    [refund] = client.list_refunds(str(order["id"]))
    assert [(line.line_external_id, line.quantity) for line in refund.lines] == [
        (str(order["line_items"][0]["id"]), 2)]


def test_captured_deliveries_keep_the_webhook_url_and_the_clock_ticks(driver):
    driver.sandbox.create_webhook({"topic": "order.created", "delivery_url": "http://127.0.0.1:9/webhooks/k",
                                   "secret": driver.webhook_secret, "status": "paused"})
    driver.sandbox.webhooks[0]["status"] = "active"
    with driver.captured() as deliveries:
        first = driver.new_order([("MUG-01", 1)])
        second = driver.new_order([("MUG-01", 1)])
    assert [url for url, _, _ in deliveries] == ["http://127.0.0.1:9/webhooks/k"] * 2
    assert deliveries[0][1]["X-WC-Webhook-Topic"] == "order.created"
    assert first["date_created_gmt"] < second["date_created_gmt"]


def test_written_back_reads_the_order_notes(driver, client):
    order = driver.new_order([("MUG-01", 1)], send=False)
    client.annotate_order(str(order["id"]), "INV-7")
    client.annotate_order(str(order["id"]), "INV-7")  # once only
    assert driver.written_back(order).count("INV-7") == 1


def test_the_demo_sandbox_gives_credentials_the_plugin_loads(plugin):
    demo = WooCommerceDriver.demo_sandbox()
    loaded = plugin.credentials_schema().load(demo.credentials("http://127.0.0.1:5104"))
    assert loaded["store_url"].startswith("http://127.0.0.1:5104")
    page = demo.app.test_client().get("/_sandbox/").get_data(as_text=True)
    assert "POT-S" in page and "MUG-01" in page
