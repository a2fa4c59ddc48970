"""The demo's Zid store (``demo_sandbox()``, as ``flask demo serve`` connects it): activation subscribes its
webhooks with Basic credentials, and an order placed and completed on its page is booked (C2, O1, O5)."""
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
from plugins.zid.testing import ZidDriver


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
def demo_zid(app, served_app) -> Iterator[str]:
    """Every platform's demo sandbox served and connected, as the demo does; the Zid one's URL."""
    with app.app_context():
        seed_shop()
        stores, servers = connect_demo_stores(free_ports_in_a_row(8))
        db.session.remove()
    try:
        yield next(store.url for store in stores if store.title == "Zid")
    finally:
        for server in servers:
            server.stop()


def test_the_demo_store_is_subscribed_with_basic_credentials(demo_zid):
    state = httpx.get(demo_zid + "/_sandbox/state").json()
    assert sorted(w["event"] for w in state["webhooks"]) == sorted(ZidDriver.plugin_class.webhook_topics)
    assert all("/webhooks/" in w["target_url"] and w["target_url"].endswith("/" + w["event"])
               for w in state["webhooks"])
    assert all("password" not in w for w in state["webhooks"])


def test_an_order_placed_and_completed_on_the_demo_page_is_booked(app, demo_zid):
    placed = httpx.post(demo_zid + "/_sandbox/ui/orders", data={"sku_0": "MUG-01", "qty_0": "2", "coupon": "SAVE10"})
    assert "placed" in placed.headers["Location"]
    order = httpx.get(demo_zid + "/_sandbox/state").json()["orders"][-1]
    httpx.post(f"{demo_zid}/_sandbox/ui/orders/{order['id']}/complete")
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        record = db.session.execute(select(StoreOrder).where(StoreOrder.number == str(order["id"]))).scalar_one()
        assert record.state == "booked" and invoice.status == "paid"
        total = httpx.get(demo_zid + "/_sandbox/state").json()["orders"][-1]["order_total"]
        assert str(invoice.total) == f"{float(total):.2f}"  # 2 × 25.00 − 11.50 (SAVE10 with VAT)
