"""Salla (سلة) platform plugin for Mizan: the plugin class the ``mizan.plugins`` entry point names."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from core.hookspecs import hookimpl
from core.integration.connections import store_api
from core.integration.product_sync import schedule_product_push
from core.integration.stock_push import schedule_stock_pushes
from core.platform.base import Credentials, PlatformPlugin
from core.platform.data import StoreEvent
from core.platform.webhooks import StoreUnidentified, Verdict, WebhookRequest
from core.services.chart import DefaultAccount
from plugins.salla.client import SallaClient
from plugins.salla.schemas import SallaCredentialsSchema
from plugins.salla.webhooks import carries_tokens, delivery_key, parse_delivery, verify

if TYPE_CHECKING:
    from core.models.invoices import SalesInvoice
    from core.models.stores import StoreConnection
    from core.platform.data import OrderData

__all__ = ["SallaPlugin"]


class SallaPlugin(PlatformPlugin):
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

    @hookimpl
    def on_order_completed(self, store: StoreConnection, order: OrderData, invoice: SalesInvoice) -> None:
        """Write the ERP invoice number back to the store order: a note in the order's history (``POST /orders/{id}/histories``)."""
        if store.platform != self.name:
            return
        with store_api(store) as api:
            api.annotate_order(order.external_id, invoice.number)

    # -- event hooks: run after commit, one job per plugin (core.integration.outbox) --------

    @hookimpl
    def on_stock_changed(self, product_id: int, warehouse_id: int, quantity: Decimal) -> None:
        """Queue a push of the product's quantity to each active Salla store linked to the warehouse
        (coalesced per product, sent in batches of ``stock_batch_size``: I1, I2)."""
        schedule_stock_pushes(self.name, product_id, warehouse_id)

    @hookimpl
    def on_product_created(self, product_id: int) -> None:
        """Queue a push of the new product to each active Salla store with product sync on (P2)."""
        schedule_product_push(self.name, product_id)
