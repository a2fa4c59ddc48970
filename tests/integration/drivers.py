"""Drivers that make a platform's sandbox store do things, so one rule test covers every platform."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from plugins.salla.sandbox import API_PREFIX, SallaSandbox, seed_demo
from plugins.shopify.sandbox import ShopifySandbox


class SallaDriver:
    """Salla: status-driven completion, whole-order refunds, app-level webhooks."""

    platform = "salla"
    guest_orders = False

    def __init__(self) -> None:
        self.sandbox = SallaSandbox()
        seed_demo(self.sandbox)
        #: Where the sandbox is served (set by the fixture that serves it).
        self.url = ""

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

    def number(self, order: dict) -> str:
        return str(order["reference_id"])

    def total(self, order: dict) -> Decimal:
        return Decimal(str(self.sandbox.order(order["id"])["amounts"]["total"]["amount"]))

    def no_sku_item(self) -> Any:
        return next(p.id for p in self.sandbox.products.values() if not p.sku)

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

    def settle(self) -> None:
        pass


class ShopifyDriver:
    """Shopify: topic-driven completion (paid), per-line refunds, webhooks registered by the ERP."""

    platform = "shopify"
    guest_orders = True

    def __init__(self) -> None:
        self.sandbox = ShopifySandbox()
        self.sandbox.seed_demo()
        #: Where the sandbox is served (set by the fixture that serves it).
        self.url = ""

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

    def number(self, order: dict) -> str:
        return order["name"]

    def total(self, order: dict) -> Decimal:
        return Decimal(self.sandbox.order(order["id"])["total_price"])

    def no_sku_item(self) -> Any:
        return next(v["id"] for v in self.sandbox._variants.values() if not v.get("sku"))

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

    def settle(self) -> None:
        self.sandbox.flush()


DRIVERS = {"salla": SallaDriver, "shopify": ShopifyDriver}
