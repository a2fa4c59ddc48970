"""Shopify platform plugin: webhooks in, Admin API out, mapped onto the core's store data."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from marshmallow import Schema

from core.integration.store_hooks import OrderAnnotationHook, StoreSyncHooks
from core.platform.base import Credentials, PlatformPlugin
from core.platform.data import StoreEvent
from core.platform.webhooks import Verdict, WebhookRequest
from core.services.chart import DefaultAccount
from plugins.shopify import webhooks
from plugins.shopify.client import ShopifyClient
from plugins.shopify.schemas import ShopifyCredentialsSchema

if TYPE_CHECKING:
    from core.models.stores import StoreConnection

__version__ = "0.1.0"


class ShopifyPlugin(OrderAnnotationHook, StoreSyncHooks, PlatformPlugin):
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

