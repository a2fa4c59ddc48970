"""The Zid kit driver: its deliveries carry the store's Basic credentials and are references the store's API
resolves (an unsigned body is never booked as it came); its capabilities have their methods."""
from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from core.platform.base import Credentials
from core.platform.webhooks import Verdict
from core.testing.kit.conformance import PlatformConformance, as_request
from core.testing.kit.driver import StoreDriver, missing_capabilities
from plugins.zid import ZidPlugin
from plugins.zid.testing import ZidDriver


@pytest.fixture
def driver() -> Iterator[ZidDriver]:
    zid = ZidDriver()
    with zid.serve() as server:
        zid.url = server.url
        yield zid


@pytest.fixture
def plugin() -> ZidPlugin:
    return ZidPlugin()


@pytest.fixture
def store(driver: ZidDriver, plugin: ZidPlugin) -> Iterator[Any]:
    """An unsaved store connection holding the driver's credentials, in an app context that decrypts them."""
    app = Flask("zid-driver-test")
    app.config.update(SECRET_KEY="zid-driver-test", ENCRYPTION_KEY=None)
    with app.app_context():
        yield PlatformConformance.make_store(plugin, driver.credentials(driver.url))


@pytest.fixture
def client(plugin: ZidPlugin, store: Any) -> Iterator[Any]:
    api = plugin.client(store, Credentials(plugin.credentials(store)))
    yield api
    api.close()


def test_the_driver_declares_only_what_it_can_do():
    assert isinstance(ZidDriver(), StoreDriver)
    assert missing_capabilities(ZidDriver) == []
    assert ZidDriver.plugin_class is ZidPlugin and ZidDriver.signature_header == "Authorization"


@pytest.mark.parametrize("kind", ["order_created", "order_completed", "refund", "product", "unknown"])
def test_each_delivery_carries_the_store_basic_credentials(plugin, store, driver, kind):
    headers, body = driver.signed_delivery(kind)
    assert plugin.verify(store, as_request(headers, body)) is Verdict.AUTHENTIC
    assert plugin.verify(store, as_request(driver.resign(headers, body + b" "), body + b" ")) is Verdict.AUTHENTIC
    assert plugin.verify(store, as_request({**headers, **driver.forged_headers()}, body)) is Verdict.REJECT
    unsigned = {k: v for k, v in headers.items() if k != "Authorization"}
    assert plugin.verify(store, as_request(unsigned, body)) is not Verdict.AUTHENTIC


def test_an_order_delivery_is_a_reference_the_api_resolves_to_the_store_order(plugin, store, driver, client):
    """An order delivery's body is not booked: the order is fetched by id (a tampered total changes nothing)."""
    headers, body = driver.signed_delivery("order_completed")
    tampered = json.loads(body)
    tampered["order_total"] = "1.00000000000000"
    events = plugin.parse(store, as_request(headers, json.dumps(tampered).encode(), topic="order.status.update"))
    assert [(e.kind, e.external_id) for e in events] == [("order_ref", str(tampered["id"]))]
    order = client.fetch_order_by_id(events[0].external_id)
    assert order.status in plugin.completed_statuses
    assert order.total == Decimal(driver.sandbox.order(tampered["id"])["order_total"]) != Decimal("1")


def test_a_refund_delivery_resolves_to_a_whole_order_refund(plugin, store, driver, client):
    headers, body = driver.signed_delivery("refund")
    order_id = str(json.loads(body)["id"])
    events = plugin.parse(store, as_request(headers, body, topic="order.status.update"))
    assert [(e.kind, e.external_id) for e in events] == [("order_ref", order_id), ("refunds_ref", order_id)]
    [refund] = client.list_refunds(order_id)
    assert refund.external_id == f"refunded:{order_id}" and refund.whole_order


def test_a_partial_return_resolves_to_its_line(plugin, driver, client):
    order = driver.new_order([("MUG-01", 3), ("COF-250", 1)], send=False)
    driver.complete(order, send=False)
    driver.refund_line(order, 0, 2)
    [refund] = client.list_refunds(str(order["id"]))
    assert refund.external_id.startswith("reverse:") and not refund.whole_order
    assert [(line.line_external_id, line.quantity) for line in refund.lines] == [
        (str(order["products"][0]["order_product_id"]), 2)]


def test_captured_deliveries_keep_the_subscription_url_and_the_clock_ticks(driver):
    driver.sandbox.subscribe({"event": "order.create", "target_url": "http://erp.test/webhooks/k/order.create",
                              "username": driver.webhook_username, "password": driver.webhook_password})
    with driver.captured() as deliveries:
        first = driver.new_order([("MUG-01", 1)])
        second = driver.new_order([("MUG-01", 1)])
    assert [url for url, _, _ in deliveries] == ["http://erp.test/webhooks/k/order.create"] * 2
    assert deliveries[0][1] == driver._headers()
    assert first["created_at"] < second["created_at"]


def test_written_back_reads_the_order_comments(driver, client):
    order = driver.new_order([("MUG-01", 1)], send=False)
    client.annotate_order(str(order["id"]), "INV-7")
    client.annotate_order(str(order["id"]), "INV-7")  # once only
    assert driver.written_back(order).count("INV-7") == 1
