"""The demo's WooCommerce store (``demo_sandbox()``, as ``flask demo serve`` connects it): activation creates its
webhooks with a secret and their pings are acknowledged, and an order placed and completed on its page is booked
(C2, O1, O5)."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from core.demo_stores import connect_demo_stores
from core.extensions import db
from core.models import SalesInvoice, StoreOrder
from core.testing.kit.builders import seed_shop
from core.testing.slow_clients import free_port
from plugins.woocommerce.testing import WooCommerceDriver


def free_ports_in_a_row(count: int) -> int:
    """The first of ``count`` consecutive free ports on loopback (one sandbox per platform)."""
    for _ in range(100):
        first = free_port()
        try:
            for offset in range(1, count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        return first
    raise RuntimeError("no free ports in a row")


@pytest.fixture
def demo_woo(app, served_app) -> Iterator[str]:
    """Every platform's demo sandbox served and connected, as the demo does; the WooCommerce one's URL."""
    with app.app_context():
        seed_shop()
        stores, servers = connect_demo_stores(free_ports_in_a_row(8))
        db.session.remove()
    try:
        yield next(store.url for store in stores if store.title == "WooCommerce")
    finally:
        for server in servers:
            server.stop()


def test_the_demo_store_gets_its_webhooks_and_acknowledges_their_pings(demo_woo):
    state = httpx.get(demo_woo + "/_sandbox/state").json()  # each ping went out inside its webhook's creation
    pings = [d for d in state["deliveries"] if d["topic"] == "ping"]
    assert sorted(w["topic"] for w in state["webhooks"]) == sorted(WooCommerceDriver.plugin_class.webhook_topics)
    assert all("/webhooks/" in w["delivery_url"] and w["status"] == "active" and "secret" not in w
               for w in state["webhooks"])
    assert {p["status"] for p in pings} == {200}


def test_an_order_placed_and_completed_on_the_demo_page_is_booked(app, demo_woo):
    placed = httpx.post(demo_woo + "/_sandbox/ui/orders", data={"sku_0": "MUG-01", "qty_0": "2", "coupon": "save10",
                                                                 "fee": "1"})
    assert "placed" in placed.headers["Location"]
    order = httpx.get(demo_woo + "/_sandbox/state").json()["orders"][-1]
    httpx.post(f"{demo_woo}/_sandbox/ui/orders/{order['id']}/complete")
    with app.app_context():
        record = db.session.execute(select(StoreOrder).where(StoreOrder.number == str(order["id"]))).scalar_one()
        assert record.state == "booked", record.reason
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert record.state == "booked" and invoice.status == "paid"
        assert str(invoice.total) == order["total"] == "55.00"  # 2 × 25.00 less 10 %, and 10.00 gift wrap
