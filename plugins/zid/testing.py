"""Zid's store driver for the test kit, and its demo sandbox (development only: the ``mizan.testing`` entry points)."""
from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

import httpx

from core.testing.sandbox import DemoSandbox, SandboxServer
from plugins.zid import ZidPlugin
from plugins.zid.sandbox import CLOCK, ZidSandbox, basic, seed_demo

CENT = Decimal("0.01")


class ZidDriver:
    """Zid: status-driven completion (``delivered``), partial returns as reverse orders, webhooks the ERP
    subscribes at activation with Basic credentials it generated (here: the driver's, in the credentials)."""

    platform: ClassVar[str] = "zid"
    capabilities: ClassVar[frozenset[str]] = frozenset({"guest_orders", "partial_refunds", "control_page",
                                                       "sku_edits", "demo_sandbox", "reconcile",
                                                       "order_annotation", "capture"})
    plugin_class: ClassVar[type] = ZidPlugin
    #: Where ``make run`` serves the demo sandbox: the first sandbox port plus this.
    demo_port_offset: ClassVar[int] = 2
    signature_header: ClassVar[str] = "Authorization"
    #: The control page's action that completes an order.
    complete_action: ClassVar[str] = "complete"

    def __init__(self) -> None:
        self.sandbox = ZidSandbox()
        seed_demo(self.sandbox)
        self._serial = itertools.count(1)
        #: The Basic credentials the store's webhooks carry (activation keeps them and subscribes with them).
        self.webhook_username = "mizan-kit"
        self.webhook_password = secrets.token_urlsafe(24)
        #: Where the sandbox is served (set by the fixture that serves it).
        self.url = ""

    def serve(self) -> SandboxServer:
        return self.sandbox.serve()

    def credentials(self, url: str) -> dict[str, Any]:
        s = self.sandbox
        return {"authorization": s.authorization, "access_token": s.access_token, "store_id": str(s.store_id),
                "api_base": url, "webhook_username": self.webhook_username,
                "webhook_password": self.webhook_password}

    def connect_webhooks(self, url: str) -> None:
        pass  # activation subscribes each topic through POST /v1/managers/webhooks

    # -- orders ----------------------------------------------------------------------------

    def new_order(self, items: list[tuple[Any, int]], *, send: bool = True, guest: bool = False,
                  **options: Any) -> dict:
        return self.sandbox.create_order(items, send=send, guest=guest, **options)

    def complete(self, order: dict, *, send: bool = True) -> None:
        self.sandbox.set_status(order["id"], "delivered", send=send)

    def cancel(self, order: dict) -> None:
        self.sandbox.set_status(order["id"], "canceled")

    def refund_all(self, order: dict, *, send: bool = True) -> None:
        self.sandbox.refund(order["id"], send=send)

    def refund_line(self, order: dict, index: int, quantity: int) -> None:
        """A partial reverse order of ``quantity`` of line ``index``."""
        self.sandbox.reverse(order["id"], index, quantity)

    def send_update(self, order: dict) -> None:
        """A late webhook: ``order.status.update`` with the order as it is now."""
        self.sandbox.send("order.status.update", self.sandbox.order(order["id"]))

    def written_back(self, order: dict) -> str:
        """What the ERP wrote on the store order: its comments."""
        return " | ".join(self.sandbox.comments(order["id"]))

    def redeliver_last(self) -> None:
        self.sandbox.redeliver()

    @contextmanager
    def captured(self) -> Iterator[list[tuple[str, dict[str, str], bytes]]]:
        """Inside, the webhooks the store would post are kept as ``(url, headers, body)``, not sent;
        the store's clock moves a second at each reading (see ``TickingClock``)."""
        deliveries: list[tuple[str, dict[str, str], bytes]] = []
        self.sandbox.captured = deliveries
        try:
            with CLOCK.ticking():
                yield deliveries
        finally:
            self.sandbox.captured = None

    def number(self, order: dict) -> str:
        return str(order["id"])

    def total(self, order: dict) -> Decimal:
        """The order's total to the halala (Zid shows 14 decimals)."""
        return Decimal(self.sandbox.order(order["id"])["order_total"]).quantize(CENT, rounding=ROUND_HALF_UP)

    def last_order_id(self) -> Any:
        return max(self.sandbox.orders)

    def control_page(self) -> Any:
        """A test client of the sandbox's control page."""
        return self.sandbox.app.test_client()

    # -- products --------------------------------------------------------------------------

    def no_sku_item(self) -> Any:
        return next(p["id"] for p in self.sandbox.products.values() if not p["sku"] and not p["variant_ids"])

    def give_sku(self, item: Any, sku: str) -> None:
        """The merchant types the SKU on the sandbox's page."""
        answer = self.control_page().post(f"/_sandbox/ui/products/{item}/sku", data={"sku": sku})
        assert "Not+done" not in answer.headers.get("Location", ""), answer.headers.get("Location")

    def add_product(self, sku: str, name: str, price: str, quantity: int) -> None:
        self.sandbox.add_product(sku, {"ar": "", "en": name}, price, quantity, cost="5.00", send=True)

    def store_quantity(self, sku: str) -> int:
        return self.sandbox.quantity(sku)

    def set_store_quantity(self, sku: str, quantity: int) -> None:
        self.sandbox.set_quantity(sku, quantity)

    def edit_sku(self, sku: str, new_sku: str, *, send: bool = True) -> None:
        """The merchant changes a product's SKU in the store (the sandbox's control endpoint, over HTTP)."""
        answer = httpx.post(f"{self.url}/_sandbox/products/{sku}", json={"sku": new_sku, "send": send})
        assert answer.status_code == 200, answer.text

    def throttle_next(self, count: int) -> None:
        """The store's next ``count`` API calls answer 429."""
        self.sandbox.bucket.throttle_next(count)

    def throttle_product_lookups(self, count: int) -> None:
        """The store's next ``count`` product calls answer 429 (an order is still fetched: Zid's deliveries
        are references, so "the store cannot confirm the product" must spare the order's own fetch)."""
        self.sandbox.throttle_path("/v1/products", count)

    def settle(self) -> None:
        pass  # deliveries are synchronous and the ERP handles them in the request (jobs in-process)

    # -- the conformance suite ---------------------------------------------------------------

    def forged_headers(self) -> dict[str, str]:
        return {"Authorization": basic(self.webhook_username, "not-the-password")}

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "User-Agent": "Zid-Webhooks/sandbox",
                "Authorization": basic(self.webhook_username, self.webhook_password)}

    def _body(self, event: str, data: Any) -> bytes:
        subscription = {"username": self.webhook_username, "password": self.webhook_password}
        return self.sandbox.build_delivery(event, data, subscription)[1]

    def signed_delivery(self, kind: str) -> tuple[dict[str, str], bytes]:
        """A delivery with the store's Basic credentials (not sent); its orders exist in the sandbox."""
        store = self.sandbox
        if kind == "product":
            sku = f"CONF-{next(self._serial)}"
            body = self._body("product.create", store.add_product(sku, {"ar": "شاي", "en": "Conformance tea"},
                                                                  "12.50", 3))
        elif kind == "order_created":
            body = self._body("order.create", store.create_order([("COF-250", 1)], send=False))
        elif kind == "order_completed":
            order = store.create_order([("MUG-01", 2)], send=False)
            body = self._body("order.status.update", store.set_status(order["id"], "delivered", send=False))
        elif kind == "refund":
            order = store.create_order([("DATE-1KG", 1)], send=False)
            store.set_status(order["id"], "delivered", send=False)
            body = self._body("order.status.update", store.refund(order["id"], send=False))
        elif kind == "unknown":  # an event Mizan does not subscribe (enveloped: the event names itself)
            body = json.dumps({"event": "customer.create", "store_id": store.store_id,
                               "data": {"id": 9000 + next(self._serial), "name": "Sara"}}).encode()
        else:
            raise ValueError(kind)
        return self._headers(), body

    def resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` with the store's Basic credentials (Basic does not depend on the body)."""
        return {**headers, "Authorization": basic(self.webhook_username, self.webhook_password)}

    @staticmethod
    def demo_sandbox() -> DemoSandbox:
        """The Zid sandbox with the demo catalog; the ERP subscribes its webhooks on activation."""
        sandbox = ZidSandbox()
        seed_demo(sandbox, rich=True)
        sandbox.resume_numbering(int(time.time()) % 100_000_000)  # ids never reused across restarts
        return DemoSandbox(
            app=sandbox.app,
            credentials=sandbox._page_credentials,
            set_webhook_target=lambda url: None,  # Zid's webhooks are subscribed by the ERP
            hint="open {url}/_sandbox/ to place orders and complete, refund or return them",
        )
