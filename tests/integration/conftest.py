"""Fixtures for the integration pipeline tests: a connected dummy store and a way to send it webhooks."""
from __future__ import annotations

import itertools
import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from core.extensions import db
from core.integration import connections
from core.plugins import registry
from core.testing.dummy import DELIVERY_HEADER, SIGNATURE_HEADER, DummyStore, sign
from tests.builders import Builders

SECRET = "dummy-webhook-secret"
_ids = itertools.count(1000)


class DummyShop:
    """A connected dummy store: send it orders and refunds as signed webhooks."""

    def __init__(self, client, key: str, store_id: int, ids: SimpleNamespace) -> None:
        self.client, self.key, self.store_id, self.ids = client, key, store_id, ids
        self.remote = DummyStore.named("shop-1")

    def deliver(self, event: str, data: dict[str, Any], *, delivery: str | None = None, secret: str = SECRET,
                body: bytes | None = None):
        body = body if body is not None else json.dumps({"event": event, "data": data}).encode()
        headers = {SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"}
        if delivery:
            headers[DELIVERY_HEADER] = delivery
        return self.client.post(f"/webhooks/{self.key}", data=body, headers=headers)


def order_payload(lines: list[tuple[str | None, str, str]], *, status: str = "completed", number: str | None = None,
                  customer: dict | None = None, shipping: str = "0", order_discount: str = "0",
                  total: str | None = None, external_id: str | None = None, include_vat: bool = False) -> dict:
    """A dummy order: ``lines`` are (sku, quantity, unit price excluding VAT); total computed at 15%."""
    external_id = external_id or str(next(_ids))
    net = sum(Decimal(q) * Decimal(p) for _, q, p in lines) - Decimal(order_discount) + Decimal(shipping)
    computed = net if include_vat else (net * Decimal("1.15")).quantize(Decimal("0.01"))
    return {
        "external_id": external_id,
        "number": number or f"#{external_id}",
        "status": status,
        "currency": "SAR",
        "prices_include_vat": include_vat,
        "lines": [
            {"external_id": f"{external_id}-{i}", "sku": sku, "name": f"Item {sku}", "quantity": q, "unit_price": p}
            for i, (sku, q, p) in enumerate(lines, start=1)
        ],
        "shipping": shipping,
        "order_discount": order_discount,
        "total": total or str(computed),
        "customer": customer,
    }


@pytest.fixture
def dummy_shop(app, client) -> DummyShop:
    """A dummy store connected and activated: warehouse MAIN (MUG-01: 10 at 7.50), branch, default client."""
    DummyStore.reset()
    with app.app_context():
        build = Builders()
        warehouse, branch, walk_in = build.warehouse("MAIN"), build.branch("RUH"), build.client("Walk-in")
        other = build.warehouse("OTHER")
        mug = build.product("MUG-01", "25")
        build.stock(mug, warehouse, "10", "7.5")
        plugins = registry()
        plugins.install("dummy")
        plugins.enable("dummy")
        store, key = connections.create_store("dummy", "Dummy shop")
        connections.set_credentials(store.id, {"store_ref": "shop-1", "secret": SECRET})
        connections.update_settings(store.id, {
            "default_client_id": walk_in.id, "warehouse_id": warehouse.id, "branch_id": branch.id,
            "create_financial_invoice": True, "update_inventory": True,
        })
        connections.activate(store.id, key)
        ids = SimpleNamespace(warehouse=warehouse.id, other_warehouse=other.id, branch=branch.id,
                              walk_in=walk_in.id, mug=mug.id)
        store_id = store.id
        db.session.remove()
    return DummyShop(client, key, store_id, ids)
