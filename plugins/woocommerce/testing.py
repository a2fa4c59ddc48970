"""WooCommerce's store driver for the test kit, and its demo sandbox (development only: the ``mizan.testing`` entry points)."""
from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from core.testing.sandbox import DemoSandbox, SandboxServer
from plugins.woocommerce import WooCommercePlugin
from plugins.woocommerce.sandbox import CLOCK, WooCommerceSandbox, seed_demo, signature

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
#: ``Retry-After`` of the driver's throttled calls (seconds; above the client's own MAX_WAIT).
THROTTLE_RETRY_AFTER = 30


class WooCommerceDriver:
    """WooCommerce: status-driven completion (``completed``), per-line refunds, signed webhooks the ERP creates at
    activation with a secret (here: the driver's, in the credentials, so the kit can sign deliveries too)."""

    platform: ClassVar[str] = "woocommerce"
    capabilities: ClassVar[frozenset[str]] = frozenset({"guest_orders", "partial_refunds", "control_page",
                                                       "sku_edits", "demo_sandbox", "reconcile",
                                                       "order_annotation", "capture"})
    plugin_class: ClassVar[type] = WooCommercePlugin
    #: Where ``make run`` serves the demo sandbox: the first sandbox port plus this.
    demo_port_offset: ClassVar[int] = 3
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    #: The control page's action that completes an order.
    complete_action: ClassVar[str] = "complete"

    def __init__(self) -> None:
        self.sandbox = WooCommerceSandbox()
        seed_demo(self.sandbox)
        self._serial = itertools.count(1)
        #: The secret the store's webhooks are signed with (activation keeps it and creates the webhooks with it).
        self.webhook_secret = secrets.token_urlsafe(32)
        #: Where the sandbox is served (set by the fixture that serves it).
        self.url = ""

    def serve(self) -> SandboxServer:
        return self.sandbox.serve()

    def credentials(self, url: str) -> dict[str, Any]:
        s = self.sandbox
        return {"store_url": url, "consumer_key": s.consumer_key, "consumer_secret": s.consumer_secret,
                "webhook_secret": self.webhook_secret}

    def connect_webhooks(self, url: str) -> None:
        """Activation created each topic's webhook (``POST /webhooks``); wait until their pings were answered."""
        self.sandbox.join_pings()

    # -- orders ----------------------------------------------------------------------------

    def new_order(self, items: list[tuple[Any, int]], *, send: bool = True, guest: bool = False,
                  **options: Any) -> dict:
        """Options: ``shipping``, ``coupon="save10"``, ``fee="10.00"``, ``prices_include_tax``, ``status``."""
        return self.sandbox.create_order(items, send=send, guest=guest, **options)

    def complete(self, order: dict, *, send: bool = True) -> None:
        self.sandbox.set_status(order["id"], "completed", send=send)

    def cancel(self, order: dict) -> None:
        self.sandbox.set_status(order["id"], "cancelled")

    def refund_all(self, order: dict, *, send: bool = True) -> None:
        """A refund of everything not refunded yet (lines, shipping, fees), restocked; the order is ``refunded``."""
        self.sandbox.refund(order["id"], send=send)

    def refund_line(self, order: dict, index: int, quantity: int) -> None:
        """A refund of ``quantity`` of line ``index`` (a refund resource naming the line item)."""
        self.sandbox.refund(order["id"], [(index, quantity)])

    def send_update(self, order: dict) -> None:
        """A late webhook: ``order.updated`` with the order as it is now."""
        self.sandbox.send("order.updated", order["id"])

    def written_back(self, order: dict) -> str:
        """What the ERP wrote on the store order: its notes."""
        return " | ".join(self.sandbox.notes(order["id"]))

    def redeliver_last(self) -> None:
        self.sandbox.redeliver()

    @contextmanager
    def captured(self) -> Iterator[list[tuple[str, dict[str, str], bytes]]]:
        """Inside, the webhooks the store would post are kept as ``(url, headers, body)``, not sent (each body
        built at that moment, as WooCommerce builds it when delivering); the store's clock moves a second at
        each reading (see ``TickingClock``)."""
        deliveries: list[tuple[str, dict[str, str], bytes]] = []
        self.sandbox.captured = deliveries
        try:
            with CLOCK.ticking():
                yield deliveries
        finally:
            self.sandbox.captured = None

    def number(self, order: dict) -> str:
        return str(order["number"])

    def total(self, order: dict) -> Decimal:
        return Decimal(self.sandbox.order(order["id"])["total"])

    def last_order_id(self) -> Any:
        return max(self.sandbox.orders)

    def control_page(self) -> Any:
        """A test client of the sandbox's control page."""
        return self.sandbox.app.test_client()

    # -- products --------------------------------------------------------------------------

    def no_sku_item(self) -> Any:
        return next(p["id"] for p in self.sandbox.products.values() if not p["sku"] and p["type"] == "simple")

    def give_sku(self, item: Any, sku: str) -> None:
        """The merchant types the SKU on the sandbox's page."""
        answer = self.control_page().post(f"/_sandbox/ui/products/{item}/sku", data={"sku": sku})
        assert "Not+done" not in answer.headers.get("Location", ""), answer.headers.get("Location")

    def add_product(self, sku: str, name: str, price: str, quantity: int) -> None:
        self.sandbox.add_product(sku, name, price, quantity, cost="5.00", send=True)

    def store_quantity(self, sku: str) -> int:
        return self.sandbox.quantity(sku)

    def set_store_quantity(self, sku: str, quantity: int) -> None:
        self.sandbox.set_quantity(sku, quantity)

    def edit_sku(self, sku: str, new_sku: str, *, send: bool = True) -> None:
        """The merchant changes a product's SKU in the store (the sandbox's control endpoint, over HTTP)."""
        answer = httpx.post(f"{self.url}/_sandbox/products/{sku}", json={"sku": new_sku, "send": send})
        assert answer.status_code == 200, answer.text

    def throttle_next(self, count: int) -> None:
        """The store's next ``count`` API calls answer 429 asking to wait 30 s: longer than the client waits by
        itself (it retries short waits), so the call raises ``RateLimited`` for the core's jobs to reschedule."""
        self.sandbox.throttle_next(count, retry_after=THROTTLE_RETRY_AFTER)

    def throttle_product_lookups(self, count: int) -> None:
        """The store's next ``count`` product calls answer 429 (other calls go through)."""
        self.sandbox.throttle_path("/products", count)

    def settle(self) -> None:
        """Deliveries are synchronous (the ERP handles them in the request); only webhook pings run apart."""
        self.sandbox.join_pings()

    # -- the conformance suite ---------------------------------------------------------------

    def _webhook(self) -> dict[str, Any]:
        return {"id": 1, "secret": self.webhook_secret}

    def forged_headers(self) -> dict[str, str]:
        return {SIGNATURE_HEADER: signature("not-the-secret", b"{}")}

    def signed_delivery(self, kind: str) -> tuple[dict[str, str], bytes]:
        """A delivery signed with the driver's secret (not sent); its orders exist in the sandbox."""
        store = self.sandbox
        if kind == "product":
            product = store.add_product(f"CONF-{next(self._serial)}", "Conformance tea", "12.50", 3)
            return store.build_delivery("product.created", product["id"], self._webhook())
        if kind == "order_created":
            order = store.create_order([("COF-250", 1)], send=False)
            return store.build_delivery("order.created", order["id"], self._webhook())
        if kind == "order_completed":
            order = store.create_order([("MUG-01", 2)], send=False)
            store.set_status(order["id"], "completed", send=False)
            return store.build_delivery("order.updated", order["id"], self._webhook())
        if kind == "refund":
            order = store.create_order([("DATE-1KG", 1)], send=False)
            store.set_status(order["id"], "completed", send=False)
            store.refund(order["id"], send=False)
            return store.build_delivery("order.updated", order["id"], self._webhook())
        if kind == "unknown":  # a topic Mizan does not subscribe
            headers, _ = store.build_delivery("product.deleted", 0, self._webhook())
            body = json.dumps({"id": 9000 + next(self._serial), "email": "sara@example.com",
                               "first_name": "Sara", "role": "customer"}).encode()
            headers.update({"X-WC-Webhook-Topic": "customer.created", "X-WC-Webhook-Resource": "customer",
                            "X-WC-Webhook-Event": "created"})
            return self.resign(headers, body), body
        raise ValueError(kind)

    def resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` signed again for ``body`` (and a new delivery id)."""
        return {**headers, SIGNATURE_HEADER: signature(self.webhook_secret, body),
                "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex}

    @staticmethod
    def demo_sandbox() -> DemoSandbox:
        """The WooCommerce sandbox with the demo catalog; the ERP creates its webhooks on activation."""
        sandbox = WooCommerceSandbox()
        seed_demo(sandbox, rich=True)
        sandbox.resume_numbering(int(time.time()) % 100_000_000)  # ids never reused across restarts

        def credentials(url: str) -> dict[str, str]:
            sandbox.site_url = url
            return sandbox._page_credentials(url)

        return DemoSandbox(
            app=sandbox.app,
            credentials=credentials,
            set_webhook_target=lambda url: None,  # WooCommerce's webhooks are created by the ERP
            hint="open {url}/_sandbox/ to place orders and complete, cancel or refund them",
        )
