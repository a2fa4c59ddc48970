"""Salla (سلة) platform plugin for Mizan: the plugin class the ``mizan.plugins`` entry point names."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from core.integration.store_hooks import OrderAnnotationHook, StoreSyncHooks
from core.platform.base import Credentials, PlatformPlugin
from core.platform.data import StoreEvent
from core.platform.webhooks import StoreUnidentified, Verdict, WebhookRequest
from core.services.chart import DefaultAccount
from plugins.salla.client import SallaClient
from plugins.salla.schemas import SallaCredentialsSchema
from plugins.salla.webhooks import carries_tokens, delivery_key, parse_delivery, verify

if TYPE_CHECKING:
    from core.models.stores import StoreConnection

__all__ = ["SallaPlugin"]


class SallaPlugin(OrderAnnotationHook, StoreSyncHooks, PlatformPlugin):
    """Salla stores: app-level webhooks signed with HMAC-SHA256, the Merchant API v2 for calls.

    Salla subscribes webhooks on the app (Partner Portal), not per store, and sends the
    tokens in ``app.store.authorize``; so ``registers_webhooks`` is off.
    """

    name: ClassVar[str] = "salla"
    title: ClassVar[str] = "Salla"
    version: ClassVar[str] = "0.1.0"
    credentials_schema = SallaCredentialsSchema
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token", "refresh_token", "webhook_secret")
    completed_statuses: ClassVar[tuple[str, ...]] = ("completed",)
    registers_webhooks: ClassVar[bool] = False
    #: Writes the invoice number back to the store order (order_annotation); lists the orders
    #: changed since a moment, so missed webhooks are reconciled (reconcile, O12).
    capabilities: ClassVar[frozenset[str]] = frozenset({"order_annotation", "reconcile"})
    #: The account a Paid invoice's payment goes to (O9).
    clearing_account_key: ClassVar[str] = "salla_clearing"
    stock_batch_size: ClassVar[int] = 100
    default_accounts: ClassVar[list[DefaultAccount]] = [
        DefaultAccount("1104", "salla_clearing", "asset", "Salla payment clearing", "مقاصة مدفوعات سلة", "11"),
        DefaultAccount("4105", "salla_sales", "revenue", "Salla sales", "مبيعات سلة", "4"),
        DefaultAccount("5103", "salla_expenses", "expense", "Salla expenses", "مصروفات سلة", "5"),
    ]


    def verify(self, store: StoreConnection, request: WebhookRequest) -> Verdict:
        """Authentic under the strategy it names: ``Signature`` (the default) or ``Token``. Another merchant's
        event is authentic too (the app's secret is shared): it is kept and ``parse`` refuses it (OtherStore)."""
        authentic = verify(self.credentials(store).get("webhook_secret"), request.headers, request.body)
        return Verdict.AUTHENTIC if authentic else Verdict.REJECT

    def delivery_key(self, store: StoreConnection, request: WebhookRequest) -> str:
        return delivery_key(request.body)

    def carries_secrets(self, store: StoreConnection, request: WebhookRequest) -> bool:
        return carries_tokens(request.body)

    def parse(self, store: StoreConnection, request: WebhookRequest) -> StoreEvent:
        """The delivery's event; until ``app.store.authorize`` tells the store's merchant id, nothing else is
        acted on (:class:`StoreUnidentified`: it waits), and then another merchant's raises ``OtherStore``."""
        known = self.merchant(store)
        event = parse_delivery(request.body, known)
        if known is None and event.kind != "authorize":
            raise StoreUnidentified("the store's Salla merchant id is not known yet")
        return event

    def merchant(self, store: StoreConnection) -> str | None:
        """The store's merchant id (set by ``app.store.authorize`` or entered), or ``None``."""
        merchant = self.credentials(store).get("store_ref") or store.external_ref
        return str(merchant) if merchant else None

    def client(self, store: StoreConnection, credentials: Credentials) -> SallaClient:
        return SallaClient(credentials)

