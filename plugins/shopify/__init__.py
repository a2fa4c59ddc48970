"""Shopify platform plugin: webhooks in, Admin API out, mapped onto the core's store data."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from marshmallow import Schema

from core.hookspecs import hookimpl
from core.integration.connections import credentials
from core.platform.base import PlatformPlugin
from core.platform.data import StoreEvent
from core.services.chart import DefaultAccount
from core.testing.sandbox import DemoSandbox
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
    default_accounts: ClassVar[list[DefaultAccount]] = [
        DefaultAccount("1105", "shopify_clearing", "asset", "Shopify payment clearing",
                       "مقاصة مدفوعات شوبيفاي", "11"),
        DefaultAccount("4106", "shopify_sales", "revenue", "Shopify sales", "مبيعات شوبيفاي", "4"),
        DefaultAccount("5104", "shopify_fees", "expense", "Shopify fees", "رسوم شوبيفاي", "5"),
    ]

    def verify(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool:
        return webhooks.verify_signature(credentials(store).get("client_secret"), headers, body)

    def delivery_key(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> str:
        return webhooks.delivery_key(headers, body)

    def parse(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> StoreEvent:
        return webhooks.parse_delivery(headers, body, credentials(store).get("shop_domain"))

    @hookimpl
    def on_order_completed(self, store: StoreConnection, order: OrderData, invoice: SalesInvoice) -> None:
        """Write the ERP invoice number back to the store order: the order tag "Mizan <invoice number>" (``PUT orders/{id}.json``)."""
        if store.platform != self.name:
            return
        with self.client(store) as api:
            api.annotate_order(order.external_id, invoice.number)

    def client(self, store: StoreConnection) -> ShopifyClient:
        return ShopifyClient(credentials(store))

    def demo_sandbox(self) -> DemoSandbox:
        """The Shopify sandbox with the demo catalog; the ERP subscribes its webhooks on activation."""
        from plugins.shopify.sandbox import ShopifySandbox

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
