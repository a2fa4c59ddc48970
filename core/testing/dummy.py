"""The reference platform plugin: a complete, tiny "dummy" platform to copy and to test the core with.

Its store lives in memory (:class:`DummyStore`), its webhooks carry the core's own field names
in JSON, signed with a hex HMAC-SHA256 in ``X-Dummy-Signature``. Real platform plugins talk HTTP
to their store; everything else about them looks like this.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields

from core.integration.connections import credentials
from core.models import StoreConnection
from core.platform.base import PlatformPlugin, RateLimited, StoreAPIError, signatures_match
from core.platform.data import (
    CategoryData,
    OrderData,
    OrderPage,
    ProductData,
    ProductPage,
    RefundData,
    StockQuantity,
    StoreEvent,
)
from core.platform.schemas import OrderSchema, ProductSchema, RefundSchema
from core.services.chart import DefaultAccount

SIGNATURE_HEADER = "X-Dummy-Signature"
DELIVERY_HEADER = "X-Dummy-Delivery"


class DummyCredentials(Schema):
    """What a dummy store needs: the name of its in-memory store and a webhook secret."""

    store_ref = fields.String(required=True)
    secret = fields.String(required=True)


@dataclass
class DummyStore:
    """An in-memory store: products, categories, orders, and the calls the plugin made."""

    ref: str
    products: list[ProductData] = field(default_factory=list)
    categories: list[CategoryData] = field(default_factory=list)
    orders: dict[str, OrderData] = field(default_factory=dict)
    quantities: dict[str, Decimal] = field(default_factory=dict)
    pushes: list[list[StockQuantity]] = field(default_factory=list)
    pushed_products: list[ProductData] = field(default_factory=list)
    #: Make the next n calls fail: ``"429"`` (rate limited), ``"down"`` or ``"unauthorised"``.
    failures: list[str] = field(default_factory=list)
    #: Refunds by order external id (what ``list_refunds`` answers).
    refunds: dict[str, list[RefundData]] = field(default_factory=dict)
    #: When each order last changed (an order missing here counts as changed just now).
    modified: dict[str, datetime] = field(default_factory=dict)
    #: Invoice numbers written back, by order external id.
    annotations: dict[str, list[str]] = field(default_factory=dict)

    registry: ClassVar[dict[str, DummyStore]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def named(cls, ref: str) -> DummyStore:
        with cls._lock:
            return cls.registry.setdefault(ref, cls(ref))

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.registry.clear()


class DummyClient:
    """The dummy store's API client (see :class:`core.platform.base.StoreAPI`)."""

    page_size = 2

    def __init__(self, store: DummyStore) -> None:
        self.store = store

    def _call(self) -> None:
        if self.store.failures:
            failure = self.store.failures.pop(0)
            if failure == "429":
                raise RateLimited(0.01)
            raise StoreAPIError(failure, retryable=failure != "unauthorised")

    def check_credentials(self) -> str:
        self._call()
        return self.store.ref

    def register_webhooks(self, url: str) -> list[str]:
        self._call()
        return ["order", "refund", "product"]

    def list_categories(self) -> list[CategoryData]:
        self._call()
        return list(self.store.categories)

    def list_products(self, cursor: str | None = None) -> ProductPage:
        self._call()
        start = int(cursor or 0)
        page = self.store.products[start : start + self.page_size]
        following = start + self.page_size
        return ProductPage(page, str(following) if following < len(self.store.products) else None,
                           len(self.store.products))

    def fetch_order(self, number: str) -> OrderData | None:
        self._call()
        return next((o for o in self.store.orders.values() if o.number == number), None)

    def fetch_product(self, sku: str) -> ProductData | None:
        self._call()
        return next((p for p in self.store.products if p.sku == sku), None)

    def fetch_order_by_id(self, external_id: str) -> OrderData | None:
        self._call()
        return self.store.orders.get(external_id)

    def list_refunds(self, order_external_id: str) -> list[RefundData]:
        self._call()
        return list(self.store.refunds.get(order_external_id, []))

    def list_orders(self, modified_after: datetime, cursor: str | None = None) -> OrderPage:
        """The orders changed since ``modified_after``, by external id, ``page_size`` a page."""
        self._call()
        changed = [o for key, o in sorted(self.store.orders.items())
                   if key not in self.store.modified or self.store.modified[key] >= modified_after]
        start = int(cursor or 0)
        following = start + self.page_size
        return OrderPage(changed[start:following], str(following) if following < len(changed) else None)

    def annotate_order(self, order_external_id: str, invoice_number: str) -> None:
        self._call()
        notes = self.store.annotations.setdefault(order_external_id, [])
        if invoice_number not in notes:
            notes.append(invoice_number)

    def push_stock(self, quantities: list[StockQuantity]) -> None:
        self._call()
        self.store.pushes.append(list(quantities))
        for quantity in quantities:
            self.store.quantities[quantity.sku] = quantity.quantity

    def push_product(self, product: ProductData) -> str:
        self._call()
        self.store.pushed_products.append(product)
        return product.external_id


class DummyPlugin(PlatformPlugin):
    """A platform whose webhooks speak the core's own language."""

    name = "dummy"
    title = "Dummy store"
    version = "1.0"
    credentials_schema = DummyCredentials
    secret_fields = ("secret",)
    completed_statuses = ("completed",)
    registers_webhooks = True
    clearing_account_key = "dummy_clearing"
    default_accounts = [
        DefaultAccount("1190", "dummy_clearing", "asset", "Dummy payment clearing", "مقاصة مدفوعات المتجر التجريبي", "11"),
    ]

    def verify(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool:
        secret = credentials(store).get("secret", "")
        return signatures_match(sign(secret, body), _header(headers, SIGNATURE_HEADER))

    def delivery_key(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> str:
        return _header(headers, DELIVERY_HEADER) or hashlib.sha256(body).hexdigest()

    def parse(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> StoreEvent:
        return parse_event(body)

    def client(self, store: StoreConnection) -> DummyClient:
        return DummyClient(DummyStore.named(credentials(store)["store_ref"]))


def parse_event(body: bytes) -> StoreEvent:
    """``{"event": "order"|"refund"|"product"|other, "data": {...core field names...}}``."""
    try:
        envelope: Any = json.loads(body)
        kind, data = envelope["event"], envelope["data"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValidationError({"_schema": [f"not a dummy envelope: {error}"]}) from None
    if kind == "order":
        order = OrderSchema().load(data)
        return StoreEvent("order", "order", order.external_id, order=order)
    if kind == "refund":
        refund = RefundSchema().load(data)
        return StoreEvent("refund", "refund", refund.external_id, refund=refund)
    if kind == "product":
        product = ProductSchema().load(data)
        return StoreEvent("product", "product", product.external_id, product=product)
    return StoreEvent("ignored", str(kind), str(data.get("id", "")) if isinstance(data, dict) else "",
                      reason=f"the core does not act on '{kind}' events")


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _header(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
