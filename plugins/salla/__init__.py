"""Salla (سلة) platform plugin for Mizan: the plugin class the ``mizan.plugins`` entry point names."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from core.integration.connections import credentials
from core.platform.base import PlatformPlugin
from core.platform.data import StoreEvent
from core.services.chart import DefaultAccount
from plugins.salla.client import SallaClient
from plugins.salla.schemas import SallaCredentialsSchema
from plugins.salla.webhooks import carries_tokens, delivery_key, parse_delivery, verify_signature

if TYPE_CHECKING:
    from core.models.stores import StoreConnection

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
    #: The account a Paid invoice's payment goes to (O9).
    clearing_account_key: ClassVar[str] = "salla_clearing"
    default_accounts: ClassVar[list[DefaultAccount]] = [
        DefaultAccount("1104", "salla_clearing", "asset", "Salla payment clearing", "مقاصة مدفوعات سلة", "11"),
        DefaultAccount("4105", "salla_sales", "revenue", "Salla sales", "مبيعات سلة", "4"),
        DefaultAccount("5103", "salla_expenses", "expense", "Salla expenses", "مصروفات سلة", "5"),
    ]

    def verify(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool:
        return verify_signature(credentials(store).get("webhook_secret"), headers, body)

    def delivery_key(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> str:
        return delivery_key(body)

    def carries_secrets(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool:
        return carries_tokens(body)

    def parse(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> StoreEvent:
        return parse_delivery(body, credentials(store).get("store_ref") or store.external_ref)

    def client(self, store: StoreConnection) -> SallaClient:
        return SallaClient(credentials(store))
