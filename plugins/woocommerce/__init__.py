"""WooCommerce platform plugin for Mizan: the plugin class the ``mizan.plugins`` entry point names."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from marshmallow import Schema

from core.integration.store_hooks import OrderAnnotationHook, StoreSyncHooks
from core.platform.base import Credentials, PlatformPlugin
from core.platform.data import StoreEvent
from core.platform.webhooks import Verdict, WebhookRequest
from core.services.chart import DefaultAccount
from plugins.woocommerce import webhooks
from plugins.woocommerce.client import WooCommerceClient
from plugins.woocommerce.schemas import WooCommerceCredentialsSchema

if TYPE_CHECKING:
    from core.models.stores import StoreConnection

__all__ = ["WooCommercePlugin"]
__version__ = "0.1.0"


class WooCommercePlugin(OrderAnnotationHook, StoreSyncHooks, PlatformPlugin):
    """WooCommerce stores: webhooks signed with a secret the ERP generates, the REST API v3 (Basic ck:cs).

    A delivery is signed (base64 HMAC-SHA256 of its body) and carries the order as it is at delivery time,
    so an order body is booked as it came; its refunds are fetched through the API (``refunds_ref``).
    Order status is WooCommerce's ``status`` (``completed`` books the sale).
    """

    name: ClassVar[str] = "woocommerce"
    title: ClassVar[str] = "WooCommerce"
    version: ClassVar[str] = __version__
    credentials_schema: ClassVar[type[Schema]] = WooCommerceCredentialsSchema
    secret_fields: ClassVar[tuple[str, ...]] = ("consumer_secret", "webhook_secret")
    completed_statuses: ClassVar[tuple[str, ...]] = ("completed",)
    authenticity: ClassVar[str] = "hmac"
    #: The ping WooCommerce sends when a webhook is created is a form body (``webhook_id=<n>``).
    body_format: ClassVar[str] = "any"
    webhook_secret_kind: ClassVar[str | None] = "secret"
    registers_webhooks: ClassVar[bool] = True
    #: Every topic is posted to ``/webhooks/<key>``; the topic is in ``X-WC-Webhook-Topic``.
    topic_in_url: ClassVar[bool] = False
    webhook_topics: ClassVar[tuple[str, ...]] = webhooks.SUBSCRIBED_TOPICS
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"order_annotation", "reconcile", "order_by_id", "refunds_via_api", "partial_refunds", "guest_orders"})
    #: The account a Paid invoice's payment goes to (O9).
    clearing_account_key: ClassVar[str] = "woocommerce_clearing"
    #: WooCommerce's batch endpoints take at most 100 objects per request.
    stock_batch_size: ClassVar[int] = 100
    default_accounts: ClassVar[list[DefaultAccount]] = [
        DefaultAccount("1107", "woocommerce_clearing", "asset", "WooCommerce payment clearing",
                       "مقاصة مدفوعات ووكومرس", "11"),
        DefaultAccount("4108", "woocommerce_sales", "revenue", "WooCommerce sales", "مبيعات ووكومرس", "4"),
        DefaultAccount("5106", "woocommerce_expenses", "expense", "WooCommerce expenses", "مصروفات ووكومرس", "5"),
    ]

    def verify(self, store: StoreConnection, request: WebhookRequest) -> Verdict:
        """The ping sent when a webhook is created (``webhook_id=<n>``, unsigned): acknowledged (200, nothing
        stored; WooCommerce disables a webhook after 5 failed deliveries); a bad or missing signature: rejected."""
        return webhooks.verdict(self.credentials(store).get("webhook_secret"), request)

    def delivery_key(self, store: StoreConnection, request: WebhookRequest) -> str | None:
        return webhooks.delivery_key(request)

    def parse(self, store: StoreConnection, request: WebhookRequest) -> list[StoreEvent]:
        """Order deliveries are the order as sent (plus one ``refunds_ref`` per refund it lists); product
        deliveries are products (simple products and variations); the rest is ignored."""
        return webhooks.parse_delivery(request, self.credentials(store))

    def client(self, store: StoreConnection, credentials: Credentials) -> WooCommerceClient:
        return WooCommerceClient(credentials)
