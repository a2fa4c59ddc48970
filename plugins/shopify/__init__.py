"""Shopify platform plugin: webhooks in, Admin API out, mapped onto the core's store data."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from marshmallow import Schema

from core.hookspecs import hookimpl
from core.integration.connections import store_api
from core.integration.product_sync import schedule_product_push
from core.integration.stock_push import schedule_stock_pushes
from core.platform.base import Credentials, PlatformPlugin
from core.platform.data import StoreEvent
from core.platform.webhooks import Verdict, WebhookRequest
from core.services.chart import DefaultAccount
from plugins.shopify import webhooks
from plugins.shopify.client import ShopifyClient
from plugins.shopify.schemas import ShopifyCredentialsSchema

if TYPE_CHECKING:
    from core.models.invoices import SalesInvoice
    from core.models.stores import StoreConnection
    from core.platform.data import OrderData

__version__ = "0.1.0"


class ShopifyPlugin(PlatformPlugin):
    """Shopify stores: HMAC-signed webhooks, the GraphQL Admin API and the REST order lookup.

    Order status (what ``completed_statuses`` is compared with): ``"cancelled"`` when the order
    has ``cancelled_at``, else ``"fulfilled"`` when ``fulfillment_status`` is ``fulfilled``, else
    the ``financial_status`` (``"paid"``, ``"pending"``, ``"refunded"`` ...). Shopify has no
    "completed" status, so ``paid`` and ``fulfilled`` both count by default.
    """

    name: ClassVar[str] = "shopify"
    title: ClassVar[str] = "Shopify"
    version: ClassVar[str] = __version__
    credentials_schema: ClassVar[type[Schema]] = ShopifyCredentialsSchema
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token", "client_secret")
    completed_statuses: ClassVar[tuple[str, ...]] = ("paid", "fulfilled")
    registers_webhooks: ClassVar[bool] = True
    #: Writes the invoice number back to the store order (order_annotation); lists the orders
    #: changed since a moment, so missed webhooks are reconciled (reconcile, O12).
    capabilities: ClassVar[frozenset[str]] = frozenset({"order_annotation", "reconcile"})
    #: Key of the account that receives Shopify payments (O9) and pays refunds.
    clearing_account_key: ClassVar[str] = "shopify_clearing"
    stock_batch_size: ClassVar[int] = 250
    default_accounts: ClassVar[list[DefaultAccount]] = [
        DefaultAccount("1105", "shopify_clearing", "asset", "Shopify payment clearing",
                       "مقاصة مدفوعات شوبيفاي", "11"),
        DefaultAccount("4106", "shopify_sales", "revenue", "Shopify sales", "مبيعات شوبيفاي", "4"),
        DefaultAccount("5104", "shopify_fees", "expense", "Shopify fees", "رسوم شوبيفاي", "5"),
    ]

    webhook_topics: ClassVar[tuple[str, ...]] = webhooks.SUBSCRIBED_TOPICS

    def verify(self, store: StoreConnection, request: WebhookRequest) -> Verdict:
        secret = self.credentials(store).get("client_secret")
        authentic = webhooks.verify_signature(secret, request.headers, request.body)
        return Verdict.AUTHENTIC if authentic else Verdict.REJECT

    def delivery_key(self, store: StoreConnection, request: WebhookRequest) -> str:
        return webhooks.delivery_key(request.headers, request.body)

    def parse(self, store: StoreConnection, request: WebhookRequest) -> StoreEvent:
        return webhooks.parse_delivery(request.headers, request.body, self.credentials(store).get("shop_domain"))

    def client(self, store: StoreConnection, credentials: Credentials) -> ShopifyClient:
        return ShopifyClient(credentials)

    @hookimpl
    def on_order_completed(self, store: StoreConnection, order: OrderData, invoice: SalesInvoice) -> None:
        """Write the ERP invoice number back to the store order: the order tag "Mizan <invoice number>" (``PUT orders/{id}.json``)."""
        if store.platform != self.name:
            return
        with store_api(store) as api:
            api.annotate_order(order.external_id, invoice.number)

    # -- event hooks: run after commit, one job per plugin (core.integration.outbox) --------

    @hookimpl
    def on_stock_changed(self, product_id: int, warehouse_id: int, quantity: Decimal) -> None:
        """Queue a push of the product's quantity to each active Shopify store linked to the warehouse
        (coalesced per product, sent in batches of ``stock_batch_size``: I1, I2)."""
        schedule_stock_pushes(self.name, product_id, warehouse_id)

    @hookimpl
    def on_product_created(self, product_id: int) -> None:
        """Queue a push of the new product to each active Shopify store with product sync on (P2)."""
        schedule_product_push(self.name, product_id)
