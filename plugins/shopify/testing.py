"""Shopify's store driver for the test kit, and its demo sandbox (development only: the ``mizan.testing`` entry points)."""
from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from core.testing.sandbox import DemoSandbox, SandboxServer
from plugins.shopify import ShopifyPlugin
from plugins.shopify.sandbox import CLOCK, ShopifySandbox
from plugins.shopify.webhooks import SIGNATURE_HEADER, signature


class ShopifyDriver:
    """Shopify: topic-driven completion (paid), per-line refunds, webhooks registered by the ERP."""

    platform: ClassVar[str] = "shopify"
    capabilities: ClassVar[frozenset[str]] = frozenset({"guest_orders", "partial_refunds", "control_page", "sku_edits", "demo_sandbox", "reconcile",
                                                       "order_annotation", "capture"})
    plugin_class: ClassVar[type] = ShopifyPlugin
    #: Where ``make run`` serves the demo sandbox: the first sandbox port plus this.
    demo_port_offset: ClassVar[int] = 1
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    #: The control page's action that completes (pays) an order.
    complete_action: ClassVar[str] = "pay"

    def __init__(self) -> None:
        self._serial = itertools.count(1)
        self.sandbox = ShopifySandbox()
        self.sandbox.seed_demo()
        #: Where the sandbox is served (set by the fixture that serves it).
        self.url = ""

    def serve(self) -> SandboxServer:
        return self.sandbox.serve()

    def credentials(self, url: str) -> dict[str, Any]:
        s = self.sandbox
        return {"shop_domain": s.shop, "access_token": s.access_token, "client_secret": s.client_secret,
                "api_base": url}

    def connect_webhooks(self, url: str) -> None:
        pass  # activation subscribes the ERP's URL through webhookSubscriptionCreate

    def new_order(self, items: list[tuple[Any, int]], *, send: bool = True, guest: bool = False,
                  **options: Any) -> dict:
        if "customer" not in options and guest:
            options["customer"] = None
        order = self.sandbox.create_order(items, send=send, **options)
        self.settle()
        return order

    def complete(self, order: dict, *, send: bool = True) -> None:
        self.sandbox.pay_order(order["id"], send=send)
        self.settle()

    def cancel(self, order: dict) -> None:
        self.sandbox.cancel_order(order["id"])
        self.settle()

    def refund_all(self, order: dict, *, send: bool = True) -> None:
        self.sandbox.refund(order["id"], send=send)
        self.settle()

    def send_update(self, order: dict) -> None:
        """A late webhook: ``orders/updated`` with the order as it is now."""
        self.sandbox.send("orders/updated", self.sandbox.order(order["id"]))
        self.settle()

    def written_back(self, order: dict) -> str:
        """What the ERP wrote on the store order: its tags."""
        self.settle()
        return self.sandbox.order(order["id"])["tags"]

    def refund_line(self, order: dict, index: int, quantity: int) -> None:
        line_id = self.sandbox.order(order["id"])["line_items"][index]["id"]
        self.sandbox.refund(order["id"], [(line_id, quantity)])
        self.settle()

    def redeliver_last(self) -> None:
        self.sandbox.redeliver()

    @contextmanager
    def captured(self) -> Iterator[list[tuple[str, dict[str, str], bytes]]]:
        """Inside, the webhooks the shop would post are kept as ``(url, headers, body)``, not sent;
        the store's clock moves a second at each reading (see ``TickingClock``)."""
        self.settle()
        deliveries: list[tuple[str, dict[str, str], bytes]] = []
        self.sandbox.captured = deliveries
        try:
            with CLOCK.ticking():  # whole-second timestamps stay in the order the history happened
                yield deliveries
        finally:
            self.settle()
            self.sandbox.captured = None

    def number(self, order: dict) -> str:
        return order["name"]

    def total(self, order: dict) -> Decimal:
        return Decimal(self.sandbox.order(order["id"])["total_price"])

    def no_sku_item(self) -> Any:
        return next(v["id"] for v in self.sandbox._variants.values() if not v.get("sku"))

    def give_sku(self, item: Any, sku: str) -> None:
        """The merchant types the SKU on the sandbox's page."""
        self.control_page().post(f"/_sandbox/ui/products/{item}/sku", data={"sku": sku})
        self.settle()

    def add_product(self, sku: str, name: str, price: str, quantity: int) -> None:
        self.sandbox.add_product(sku, name, price, quantity, cost="5.00", send=True)
        self.settle()

    def store_quantity(self, sku: str) -> int:
        return self.sandbox.available(sku, self.sandbox.location_ids[0])

    def set_store_quantity(self, sku: str, quantity: int) -> None:
        self.sandbox.set_available(sku, quantity)

    def edit_sku(self, sku: str, new_sku: str, *, send: bool = True) -> None:
        """The merchant changes a variant's SKU in the shop (the sandbox's control endpoint, over HTTP)."""
        product_id = self.sandbox._variant_by_sku(sku)["product_id"]
        answer = httpx.post(f"{self.url}/_sandbox/products/{product_id}", json={"sku": new_sku, "send": send})
        assert answer.status_code == 200, answer.text
        self.settle()

    def throttle_next(self, count: int) -> None:
        """The store's next ``count`` API calls answer 429."""
        self.sandbox.bucket.throttle_next(count)

    def forged_headers(self) -> dict[str, str]:
        return {SIGNATURE_HEADER: "AAAA"}

    def signed_delivery(self, kind: str) -> tuple[dict[str, str], bytes]:
        shop = self.sandbox
        if kind == "product":
            body, headers = shop.build_delivery(
                "products/create", shop.add_product(f"CONF-{next(self._serial)}", "Conformance tea", "12.50", 3))
        elif kind == "order_created":
            body, headers = shop.build_delivery("orders/create", shop.create_order([("COF-250", 1)], send=False))
        elif kind == "order_completed":
            order = shop.create_order([("MUG-01", 2)], paid=True, send=False)
            body, headers = shop.build_delivery("orders/paid", order)
        elif kind == "refund":
            order = shop.create_order([("DATE-1KG", 1)], paid=True, send=False)
            body, headers = shop.build_delivery("refunds/create", shop.refund(order["id"], send=False))
        elif kind == "unknown":  # a topic the core does not act on
            body, headers = shop.build_delivery("carts/update", shop.create_order([("MUG-01", 1)], send=False))
        else:
            raise ValueError(kind)
        return headers, body

    def resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` of a delivery of ``body`` signed by the shop (a new delivery: a new event id)."""
        return {**headers, SIGNATURE_HEADER: signature(self.sandbox.client_secret, body),
                "X-Shopify-Event-Id": str(uuid.uuid4())}

    def control_page(self) -> Any:
        """A test client of the sandbox's control page."""
        return self.sandbox.app.test_client()

    def last_order_id(self) -> Any:
        return max(self.sandbox._orders)

    def settle(self) -> None:
        self.sandbox.flush()

    @staticmethod
    def demo_sandbox() -> DemoSandbox:
        """The Shopify sandbox with the demo catalog; the ERP subscribes its webhooks on activation."""
        sandbox = ShopifySandbox()
        sandbox.seed_demo()
        sandbox.resume_numbering(int(time.time()) % 100_000_000)  # ids never reused across restarts
        return DemoSandbox(
            app=sandbox.app,
            credentials=lambda url: {
                "shop_domain": sandbox.shop, "access_token": sandbox.access_token,
                "client_secret": sandbox.client_secret, "api_base": url,
            },
            set_webhook_target=sandbox.set_webhook_target,
            hint="open {url}/_sandbox/ to place orders and complete, pay or refund them",
        )
