"""Salla's store driver for the test kit, and its demo sandbox (development only: the ``mizan.testing`` entry points)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from core.testing.sandbox import DemoSandbox, SandboxServer
from plugins.salla import SallaPlugin
from plugins.salla.sandbox import API_PREFIX, CLOCK, SallaSandbox, seed_demo, sign
from plugins.salla.webhooks import SIGNATURE_HEADER


class SallaDriver:
    """Salla: status-driven completion, whole-order refunds, app-level webhooks."""

    platform: ClassVar[str] = "salla"
    capabilities: ClassVar[frozenset[str]] = frozenset({"control_page", "sku_edits", "demo_sandbox", "reconcile",
                                                       "order_annotation", "capture"})
    plugin_class: ClassVar[type] = SallaPlugin
    #: Where ``make run`` serves the demo sandbox: the first sandbox port plus this.
    demo_port_offset: ClassVar[int] = 0
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    #: The control page's action that completes an order.
    complete_action: ClassVar[str] = "complete"

    def __init__(self) -> None:
        self.sandbox = SallaSandbox()
        seed_demo(self.sandbox)
        #: Where the sandbox is served (set by the fixture that serves it).
        self.url = ""

    def serve(self) -> SandboxServer:
        return self.sandbox.serve()

    def credentials(self, url: str) -> dict[str, Any]:
        s = self.sandbox
        return {"access_token": s.access_token, "webhook_secret": s.webhook_secret,
                "api_base": url + API_PREFIX, "store_ref": str(s.merchant_id)}

    def connect_webhooks(self, url: str) -> None:
        self.sandbox.set_webhook_target(url)

    def store_awaiting_authorize(self, app: Any, url: str) -> tuple[int, str]:
        """A Salla store connected without its token (easy mode: ``app.store.authorize`` brings it):
        its id and connection key."""
        from core.extensions import db
        from core.integration import connections
        from core.plugins import registry

        with app.app_context():
            registry().install("salla")
            registry().enable("salla")
            store, key = connections.create_store("salla", "Easy mode")
            credentials = {k: v for k, v in self.credentials(url).items() if k != "access_token"}
            connections.set_credentials(store.id, credentials)
            store_id = store.id
            db.session.remove()
        return store_id, key

    def new_order(self, items: list[tuple[Any, int]], *, send: bool = True, **options: Any) -> dict:
        options.pop("guest", None)
        return self.sandbox.create_order(items, send=send, **options)

    def complete(self, order: dict, *, send: bool = True) -> None:
        self.sandbox.set_order_status(order["id"], "completed", send=send)

    def cancel(self, order: dict) -> None:
        self.sandbox.set_order_status(order["id"], "canceled")

    def refund_all(self, order: dict, *, send: bool = True) -> None:
        self.sandbox.refund_order(order["id"], send=send)

    def send_update(self, order: dict) -> None:
        """A late webhook: ``order.updated`` with the order as it is now."""
        self.sandbox.send("order.updated", self.sandbox.order(order["id"]))

    def written_back(self, order: dict) -> str:
        """What the ERP wrote on the store order: its history notes."""
        return " | ".join(self.sandbox.notes(order["id"]))

    def redeliver_last(self) -> None:
        self.sandbox.redeliver()

    @contextmanager
    def captured(self) -> Iterator[list[tuple[str, dict[str, str], bytes]]]:
        """Inside, the webhooks the store would post are kept as ``(url, headers, body)``, not sent;
        the store's clock moves a second at each reading (see ``TickingClock``)."""
        deliveries: list[tuple[str, dict[str, str], bytes]] = []
        self.sandbox.captured = deliveries
        try:
            with CLOCK.ticking():  # whole-second timestamps stay in the order the history happened
                yield deliveries
        finally:
            self.sandbox.captured = None

    def number(self, order: dict) -> str:
        return str(order["reference_id"])

    def total(self, order: dict) -> Decimal:
        return Decimal(str(self.sandbox.order(order["id"])["amounts"]["total"]["amount"]))

    def no_sku_item(self) -> Any:
        return next(p.id for p in self.sandbox.products.values() if not p.sku)

    def give_sku(self, item: Any, sku: str) -> None:
        """The merchant types the SKU on the sandbox's page."""
        self.control_page().post(f"/_sandbox/ui/products/{item}/sku", data={"sku": sku})

    def add_product(self, sku: str, name: str, price: str, quantity: int) -> None:
        self.sandbox.add_product(sku, name, price, quantity, cost_price="5.00", send=True)

    def store_quantity(self, sku: str) -> int:
        return self.sandbox.quantity(sku)

    def set_store_quantity(self, sku: str, quantity: int) -> None:
        self.sandbox.set_quantity(sku, quantity)

    def edit_sku(self, sku: str, new_sku: str, *, send: bool = True) -> None:
        """The merchant changes a product's SKU in the store (the sandbox's control endpoint, over HTTP)."""
        product_id = next(p.id for p in self.sandbox.products.values() if p.sku == sku)
        answer = httpx.post(f"{self.url}/_sandbox/products/{product_id}", json={"sku": new_sku, "send": send})
        assert answer.status_code == 200, answer.text

    def throttle_next(self, count: int) -> None:
        """The store's next ``count`` API calls answer 429."""
        self.sandbox.bucket.throttle_next(count)

    def forged_headers(self) -> dict[str, str]:
        return {SIGNATURE_HEADER: "0" * 64}

    def signed_delivery(self, kind: str) -> tuple[dict[str, str], bytes]:
        store = self.sandbox
        if kind == "product":
            product_id = next(p.id for p in store.products.values() if p.sku)
            body, headers = store.build_delivery("product.updated", store.product_json(product_id))
        elif kind == "order_created":
            body, headers = store.build_delivery("order.created", store.create_order([("COF-250", 1)], send=False))
        elif kind == "order_completed":
            order = store.create_order([("MUG-01", 2)], status="completed", send=False)
            body, headers = store.build_delivery("order.updated", order)
        elif kind == "refund":
            order = store.create_order([("DATE-1KG", 1)], status="completed", send=False)
            body, headers = store.build_delivery("order.refunded", store.refund_order(order["id"], send=False))
        elif kind == "unknown":  # an event the core does not act on
            body, headers = store.build_delivery("unknown.event", store.create_order([("MUG-01", 1)], send=False))
        else:
            raise ValueError(kind)
        return headers, body

    def resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` of a delivery of ``body`` signed by the store (a new delivery)."""
        return {**headers, SIGNATURE_HEADER: sign(self.sandbox.webhook_secret, body)}

    def control_page(self) -> Any:
        """A test client of the sandbox's control page."""
        return self.sandbox.app.test_client()

    def last_order_id(self) -> Any:
        return max(self.sandbox.orders)

    def settle(self) -> None:
        pass

    @staticmethod
    def demo_sandbox() -> DemoSandbox:
        """The Salla sandbox with the demo catalog; orders are sent from its control endpoints."""
        sandbox = SallaSandbox()
        seed_demo(sandbox)
        sandbox.resume_numbering(int(time.time()) % 100_000_000)  # ids never reused across restarts
        return DemoSandbox(
            app=sandbox.app,
            credentials=lambda url: {
                "access_token": sandbox.access_token, "refresh_token": sandbox.refresh_token,
                "webhook_secret": sandbox.webhook_secret, "api_base": url + API_PREFIX,
                "store_ref": str(sandbox.merchant_id),
            },
            set_webhook_target=sandbox.set_webhook_target,
            hint="open {url}/_sandbox/ to place orders and complete, pay or refund them",
        )
