"""The reference platform plugin: a complete, tiny "dummy" platform to copy and to test the core with.

Its store lives in memory (:class:`DummyStore`), its webhooks carry the core's own field names
in JSON, signed with a hex HMAC-SHA256 in ``X-Dummy-Signature``. Real platform plugins talk HTTP
to their store; everything else about them looks like this.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields

from core.integration.store_hooks import StoreSyncHooks
from core.models import StoreConnection
from core.platform.base import Credentials, PlatformPlugin, RateLimited, StoreAPIError
from core.platform.data import (
    CategoryData,
    LocationData,
    OrderData,
    OrderPage,
    ProductData,
    ProductPage,
    RefundData,
    StockQuantity,
    StoreEvent,
)
from core.platform.schemas import OrderSchema, ProductSchema, RefundSchema
from core.platform.webhooks import (
    Verdict,
    WebhookRequest,
    WebhookSubscription,
    hmac_hex,
    signatures_match,
)
from core.services.chart import DefaultAccount

SIGNATURE_HEADER = "X-Dummy-Signature"
DELIVERY_HEADER = "X-Dummy-Delivery"


class DummyCredentials(Schema):
    """What a dummy store needs: the name of its in-memory store and a webhook secret."""

    store_ref = fields.String(required=True)
    secret = fields.String(required=True)
    #: The store location linked to the warehouse, chosen on the store page (not a form field).
    location_id = fields.String(allow_none=True, metadata={"form": False})


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
    #: The webhook subscriptions the ERP made (``register_webhooks``).
    subscriptions: list[WebhookSubscription] = field(default_factory=list)
    #: Make the next n calls fail: ``"429"`` (rate limited), ``"down"`` or ``"unauthorised"``.
    failures: list[str] = field(default_factory=list)
    #: Refunds by order external id (what ``list_refunds`` answers).
    refunds: dict[str, list[RefundData]] = field(default_factory=dict)
    #: When each order last changed (else its ``modified_at``; an order with neither counts as changed just now).
    modified: dict[str, datetime] = field(default_factory=dict)
    #: Invoice numbers written back, by order external id.
    annotations: dict[str, list[str]] = field(default_factory=dict)
    #: Inventory locations (none by default: a store without locations to choose).
    locations: list[LocationData] = field(default_factory=list)

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

    def __init__(self, store: DummyStore, credentials: Credentials | None = None) -> None:
        self.store = store
        self.credentials = credentials

    def refresh_token(self, new_token: str) -> None:
        """What a client of a platform with rotating tokens does: keep the new one (``Credentials.save``)."""
        self._call()
        if self.credentials is not None:
            self.credentials.save(access_token=new_token)

    def _call(self) -> None:
        if self.store.failures:
            failure = self.store.failures.pop(0)
            if failure == "429":
                raise RateLimited(0.01)
            raise StoreAPIError(failure, retryable=failure != "unauthorised")

    def check_credentials(self) -> str:
        self._call()
        return self.store.ref

    def register_webhooks(self, subscriptions: list[WebhookSubscription]) -> list[str]:
        self._call()
        kept = {(s.topic, s.url) for s in self.store.subscriptions}
        self.store.subscriptions += [s for s in subscriptions if (s.topic, s.url) not in kept]
        return [s.topic for s in subscriptions]

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
                   if (self.store.modified.get(key) or o.modified_at) is None
                   or (self.store.modified.get(key) or o.modified_at) >= modified_after]
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

    def list_locations(self) -> list[LocationData]:
        """The store's locations; a store without any answers without a call (so it uses no failure)."""
        if not self.store.locations:
            return []
        self._call()
        return list(self.store.locations)


class DummyPlugin(StoreSyncHooks, PlatformPlugin):
    """A platform whose webhooks speak the core's own language."""

    name = "dummy"
    title = "Dummy store"
    version = "1.0"
    credentials_schema = DummyCredentials
    secret_fields = ("secret",)
    completed_statuses = ("completed",)
    registers_webhooks = True
    webhook_topics = ("order", "refund", "product")
    clearing_account_key = "dummy_clearing"
    stock_batch_size = 2  # small, so that tests see batching
    default_accounts = [
        DefaultAccount("1190", "dummy_clearing", "asset", "Dummy payment clearing", "مقاصة مدفوعات المتجر التجريبي", "11"),
        DefaultAccount("4190", "dummy_sales", "revenue", "Dummy sales", "مبيعات المتجر التجريبي", "4"),
    ]

    capabilities = frozenset({"order_by_id", "refunds_via_api", "reconcile", "order_annotation", "partial_refunds",
                              "guest_orders"})

    def verify(self, store: StoreConnection, request: WebhookRequest) -> Verdict:
        secret = self.credentials(store).get("secret", "")
        authentic = signatures_match(hmac_hex(secret, request.body), request.header(SIGNATURE_HEADER))
        return Verdict.AUTHENTIC if authentic else Verdict.REJECT

    def delivery_key(self, store: StoreConnection, request: WebhookRequest) -> str | None:
        return request.header(DELIVERY_HEADER)

    def parse(self, store: StoreConnection, request: WebhookRequest) -> StoreEvent:
        return parse_event(request.body)

    def client(self, store: StoreConnection, credentials: Credentials) -> DummyClient:
        return DummyClient(DummyStore.named(credentials["store_ref"]), credentials)



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
    return hmac_hex(secret, body)
