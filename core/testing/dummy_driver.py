"""The dummy platform's store driver for the test kit: its in-memory store sends signed webhooks to the ERP over HTTP."""
from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, ClassVar

import httpx

from core.platform.data import CategoryData, ProductData
from core.platform.schemas import OrderSchema
from core.testing.dummy import DELIVERY_HEADER, SIGNATURE_HEADER, DummyPlugin, DummyStore, sign

VAT = Decimal("1.15")
CUSTOMER = {"external_id": "c-1", "name": "Noura Al-Qahtani", "email": "noura@example.com"}


class DummyDriver:
    """The dummy store: orders, refunds and products as signed JSON webhooks in the core's own field names."""

    platform: ClassVar[str] = "dummy"
    capabilities: ClassVar[frozenset[str]] = frozenset({"guest_orders", "partial_refunds", "capture"})
    plugin_class: ClassVar[type] = DummyPlugin
    signature_header: ClassVar[str] = SIGNATURE_HEADER

    def __init__(self) -> None:
        self.store = DummyStore.named(f"kit-{uuid.uuid4().hex[:12]}")
        self._version = datetime(2000, 1, 1, tzinfo=UTC)
        self.secret = f"kit-secret-{uuid.uuid4().hex}"
        self.store.categories.append(CategoryData("c1", "Coffee"))
        for external_id, sku, name, price, quantity in [
            ("p1", "MUG-01", "Ceramic mug", "25.00", 10), ("p2", "COF-250", "Arabic coffee 250 g", "35.00", 40),
            ("p3", None, "Gift wrap", "5.00", 100),
        ]:
            self._put(ProductData(external_id, sku, name, Decimal(price), Decimal("5.00"), quantity=Decimal(quantity),
                                  category_external_ids=["c1"]))
        self._serial = itertools.count(5001)
        self.target = ""
        self.last: tuple[bytes, dict[str, str]] | None = None
        #: While a list (see :meth:`captured`), webhooks are kept here as ``(url, headers, body)``, not sent.
        self.capture: list[tuple[str, dict[str, str], bytes]] | None = None
        #: Where the sandbox is served: nowhere, the store lives in this process's memory.
        self.url = ""

    @contextmanager
    def serve(self) -> Iterator[SimpleNamespace]:
        yield SimpleNamespace(url=f"memory://{self.store.ref}")

    def credentials(self, url: str) -> dict[str, Any]:
        return {"store_ref": self.store.ref, "secret": self.secret}

    def connect_webhooks(self, url: str) -> None:
        self.target = url

    # -- the store's catalog -------------------------------------------------------------

    def _put(self, product: ProductData) -> None:
        self.store.products[:] = [p for p in self.store.products if p.external_id != product.external_id] + [product]
        if product.sku and product.quantity is not None:
            self.store.quantities[product.sku] = product.quantity

    def _product(self, item: Any) -> ProductData:
        return next(p for p in self.store.products if item in (p.sku, p.external_id))

    def _send_product(self, product: ProductData) -> None:
        data = {"external_id": product.external_id, "sku": product.sku, "name": product.name, "price": str(product.price),
                "cost": str(product.cost), "category_external_ids": product.category_external_ids}
        if product.quantity is not None:
            data["quantity"] = str(product.quantity)
        self._send("product", data)

    # -- webhooks ------------------------------------------------------------------------

    def _send(self, event: str, data: dict[str, Any]) -> None:
        assert self.target, "connect_webhooks() first"
        body = json.dumps({"event": event, "data": data}).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body),
                   DELIVERY_HEADER: uuid.uuid4().hex}
        self.last = (body, headers)
        self._post(body, headers)

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        if self.capture is not None:
            self.capture.append((self.target, dict(headers), body))
            return
        answer = httpx.post(self.target, content=body, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text

    @contextmanager
    def captured(self) -> Iterator[list[tuple[str, dict[str, str], bytes]]]:
        """Inside, the webhooks the store would post are kept as ``(url, headers, body)``, not sent."""
        deliveries: list[tuple[str, dict[str, str], bytes]] = []
        self.capture = deliveries
        try:
            yield deliveries
        finally:
            self.capture = None

    def redeliver_last(self) -> None:
        assert self.last is not None, "nothing was sent yet"
        self._post(*self.last)

    def signed_delivery(self, kind: str) -> tuple[dict[str, str], bytes]:
        """Built like :meth:`_send` builds them, not sent; the orders are in the store."""
        if kind in ("order_created", "order_completed"):
            order = self.new_order([("MUG-01", 2)], send=False)
            if kind == "order_completed":
                self.complete(order, send=False)
            envelope = {"event": "order", "data": order}
        elif kind == "refund":
            order = self.new_order([("MUG-01", 1)], send=False)
            self.complete(order, send=False)
            envelope = {"event": "refund", "data": {"external_id": f"r{next(self._serial)}",
                                                    "order_external_id": order["external_id"], "whole_order": True}}
        elif kind == "product":
            product = self._product("COF-250")
            envelope = {"event": "product", "data": {"external_id": product.external_id, "sku": product.sku,
                                                     "name": product.name, "price": str(product.price)}}
        elif kind == "unknown":  # an event the core does not act on
            envelope = {"event": "shipment", "data": {"id": f"s{next(self._serial)}"}}
        else:
            raise ValueError(kind)
        body = json.dumps(envelope).encode()
        return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body),
                DELIVERY_HEADER: uuid.uuid4().hex}, body

    def resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` of a new delivery of ``body``, signed."""
        return {**headers, SIGNATURE_HEADER: sign(self.secret, body), DELIVERY_HEADER: uuid.uuid4().hex}

    def throttle_next(self, count: int) -> None:
        self.store.failures.extend(["429"] * count)

    def forged_headers(self) -> dict[str, str]:
        return {SIGNATURE_HEADER: "0" * 64}

    # -- orders --------------------------------------------------------------------------

    def new_order(self, items: list[tuple[Any, int]], *, send: bool = True, guest: bool = False,
                  shipping: str = "0", **options: Any) -> dict:
        serial = next(self._serial)
        lines = []
        for index, (item, quantity) in enumerate(items, start=1):
            product = self._product(item)
            lines.append({"external_id": f"{serial}-{index}", "sku": product.sku, "name": product.name,
                          "quantity": str(quantity), "unit_price": str(product.price),
                          "product_external_id": product.external_id})
            if product.quantity is not None:  # the store sells from its own stock when the order is placed
                self._put(dataclasses.replace(product, quantity=product.quantity - quantity))
        net = sum(Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in lines) + Decimal(shipping)
        order = {"external_id": f"o{serial}", "number": str(serial), "status": "pending", "currency": "SAR",
                 "prices_include_vat": False, "lines": lines, "shipping": shipping,
                 "total": str((net * VAT).quantize(Decimal("0.01"))), "customer": None if guest else dict(CUSTOMER)}
        self._order_changed(order, send)
        return order

    def _order_changed(self, order: dict, send: bool) -> None:
        # The order's version (O11): its last change, always later than the one before.
        self._version = max(datetime.now(UTC), self._version + timedelta(microseconds=1))
        order["modified_at"] = self._version.isoformat()
        self.store.orders[order["external_id"]] = OrderSchema().load(order)
        if send:
            self._send("order", order)

    def complete(self, order: dict, *, send: bool = True) -> None:
        order["status"] = "completed"
        self._order_changed(order, send)

    def cancel(self, order: dict) -> None:
        order.update(status="canceled", cancelled=True)
        self._order_changed(order, True)

    def refund_all(self, order: dict) -> None:
        self._send("refund", {"external_id": f"r{next(self._serial)}", "order_external_id": order["external_id"],
                              "whole_order": True})

    def refund_line(self, order: dict, index: int, quantity: int) -> None:
        line = order["lines"][index]
        self._send("refund", {"external_id": f"r{next(self._serial)}", "order_external_id": order["external_id"],
                              "lines": [{"line_external_id": line["external_id"], "quantity": str(quantity)}]})

    def number(self, order: dict) -> str:
        return order["number"]

    def total(self, order: dict) -> Decimal:
        return Decimal(order["total"])

    # -- products ------------------------------------------------------------------------

    def no_sku_item(self) -> Any:
        return next(p.external_id for p in self.store.products if not p.sku)

    def give_sku(self, item: Any, sku: str) -> None:
        product = dataclasses.replace(self._product(item), sku=sku)
        self._put(product)
        self._send_product(product)

    def add_product(self, sku: str, name: str, price: str, quantity: int) -> None:
        product = ProductData(f"p{next(self._serial)}", sku, name, Decimal(price), Decimal("5.00"),
                              quantity=Decimal(quantity))
        self._put(product)
        self._send_product(product)

    def store_quantity(self, sku: str) -> int:
        return int(self.store.quantities[sku])

    def settle(self) -> None:
        pass  # the app books in the request (jobs in-process) and the store is this process's memory
