"""Zid (زد) platform plugin for Mizan: the plugin class the ``mizan.plugins`` entry point names."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from marshmallow import Schema

from core.integration.store_hooks import OrderAnnotationHook, StoreSyncHooks
from core.platform.base import Credentials, PlatformPlugin
from core.platform.data import StoreEvent
from core.platform.webhooks import Verdict, WebhookRequest
from core.services.chart import DefaultAccount
from plugins.zid import webhooks
from plugins.zid.client import ZidClient
from plugins.zid.schemas import DELIVERED, ZidCredentialsSchema

if TYPE_CHECKING:
    from core.models.stores import StoreConnection

__all__ = ["ZidPlugin"]
__version__ = "0.1.0"


class ZidPlugin(OrderAnnotationHook, StoreSyncHooks, PlatformPlugin):
    """Zid stores: webhooks subscribed per store with Basic credentials (topic in the URL), the Manager API.

    A delivery carries no signature, so an order body is never booked as it came: the core fetches
    the order by id (``order_ref``). Order status is Zid's ``order_status.code``.
    """

    name: ClassVar[str] = "zid"
    title: ClassVar[str] = "Zid"
    version: ClassVar[str] = __version__
    credentials_schema: ClassVar[type[Schema]] = ZidCredentialsSchema
    secret_fields: ClassVar[tuple[str, ...]] = ("authorization", "access_token", "refresh_token", "webhook_password")
    #: ``delivered``. An order returned or refunded before the ERP reads it says it was delivered
    #: (``OrderData.reached_statuses``), so it is still booked, then returned (O1, R1); one refunded before
    #: it was delivered is no sale.
    completed_statuses: ClassVar[tuple[str, ...]] = (DELIVERED,)
    authenticity: ClassVar[str] = "basic"
    webhook_secret_kind: ClassVar[str | None] = "basic"
    registers_webhooks: ClassVar[bool] = True
    topic_in_url: ClassVar[bool] = True
    body_format: ClassVar[str] = "json"
    webhook_topics: ClassVar[tuple[str, ...]] = webhooks.SUBSCRIBED_TOPICS
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"order_annotation", "reconcile", "order_by_id", "refunds_via_api", "partial_refunds", "guest_orders"})
    #: The account a Paid invoice's payment goes to (O9).
    clearing_account_key: ClassVar[str] = "zid_clearing"
    #: Zid's bulk product update takes at most 50 products.
    stock_batch_size: ClassVar[int] = 50
    default_accounts: ClassVar[list[DefaultAccount]] = [
        DefaultAccount("1106", "zid_clearing", "asset", "Zid payment clearing", "مقاصة مدفوعات زد", "11"),
        DefaultAccount("4107", "zid_sales", "revenue", "Zid sales", "مبيعات زد", "4"),
        DefaultAccount("5105", "zid_expenses", "expense", "Zid expenses", "مصروفات زد", "5"),
    ]

    def verify(self, store: StoreConnection, request: WebhookRequest) -> Verdict:
        """No ``Authorization`` at all: a delivery Mizan did not subscribe with credentials (ignored, 200);
        wrong Basic credentials: rejected (401)."""
        if request.header("authorization") is None:
            return Verdict.IGNORE
        return PlatformPlugin.verify(self, store, request)

    def delivery_key(self, store: StoreConnection, request: WebhookRequest) -> str | None:
        return webhooks.delivery_key(request.topic, request.body)

    def parse(self, store: StoreConnection, request: WebhookRequest) -> list[StoreEvent]:
        """Order deliveries name the order to fetch (``order_ref``, plus ``refunds_ref`` when it was refunded or
        reversed); product deliveries are products (one per variant); the rest is ignored."""
        credentials = self.credentials(store)
        return webhooks.parse_delivery(request.topic, request.body, credentials.get("location_id"),
                                       gross=credentials.get("product_prices_include_vat", True) is not False)

    def client(self, store: StoreConnection, credentials: Credentials) -> ZidClient:
        return ZidClient(credentials)
