"""The base class of platform plugins and the store API every platform client offers."""
from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from marshmallow import Schema

from core.hookspecs import hookimpl
from core.platform.data import (
    CategoryData,
    OrderData,
    ProductData,
    ProductPage,
    StockQuantity,
    StoreEvent,
)

if TYPE_CHECKING:
    from core.models.stores import StoreConnection
    from core.services.chart import DefaultAccount


class StoreAPIError(Exception):
    """A store API call failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class RateLimited(StoreAPIError):
    """The store answered 429; wait ``retry_after`` seconds before the next call."""

    def __init__(self, retry_after: float, message: str = "rate limited by the store") -> None:
        super().__init__(message, retryable=True, status=429)
        self.retry_after = retry_after


class StoreAPI(Protocol):
    """What the core asks of a store's API. Each platform plugin's ``client.py`` implements it.

    Optional: ``store_ref() -> str | None``, the store's own id on its platform (merchant id,
    shop domain). Activation asks it when the credentials name no ``store_ref``, so that one
    external store is connected once.
    """

    def check_credentials(self) -> str:
        """Call the store with the saved credentials; return the store's name or raise."""

    def register_webhooks(self, url: str) -> list[str]:
        """Subscribe ``url`` to the events the core needs; return the topics (may be empty)."""

    def list_categories(self) -> Iterable[CategoryData]:
        """Every category of the store, page by page."""

    def list_products(self, cursor: str | None = None) -> ProductPage:
        """One page of the catalog starting at ``cursor`` (``None`` = first page)."""

    def fetch_order(self, number: str) -> OrderData | None:
        """The order with the human number ``number``, or ``None`` when the store has none."""

    def fetch_product(self, sku: str) -> ProductData | None:
        """The store's product with ``sku`` (with its quantity), or ``None`` (used for O7)."""

    def push_stock(self, quantities: list[StockQuantity]) -> None:
        """Set absolute quantities in the store's linked location; batches as the platform allows."""

    def push_product(self, product: ProductData) -> str:
        """Create or update ``product`` in the store; return its external id."""


class PlatformPlugin:
    """Base class of a store-platform plugin. Subclass it, set the attributes, write the methods.

    The hook implementations below answer only for stores of ``name``, so a plugin author
    writes plain methods and never touches pluggy. Register the subclass under the
    ``mizan.plugins`` entry-point group.
    """

    #: Platform and plugin name: lower-case, stable, stored on every store connection.
    name: ClassVar[str] = ""
    #: Human name shown in the UI.
    title: ClassVar[str] = ""
    #: Plugin version shown in the plugin list.
    version: ClassVar[str] = "0.0.0"
    #: Marshmallow schema of the store credentials (tokens, secrets, shop address).
    credentials_schema: ClassVar[type[Schema]] = Schema
    #: Credential fields that are secrets: encrypted at rest and never shown in full.
    secret_fields: ClassVar[tuple[str, ...]] = ()
    #: Store statuses that count as "completed" by default (C4, O1).
    completed_statuses: ClassVar[tuple[str, ...]] = ("completed",)
    #: Whether the platform lets the ERP subscribe its webhooks (otherwise: app-level / authorize event).
    registers_webhooks: ClassVar[bool] = False
    #: Accounts created when the plugin is installed (C3): see ``core.services.chart.DefaultAccount``.
    default_accounts: ClassVar[list[DefaultAccount]] = []
    #: Role key of the account Paid invoices are settled to (O9); one of ``default_accounts``.
    clearing_account_key: ClassVar[str] = "payment_clearing"

    # -- what a platform implements ------------------------------------------------

    def verify(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool:
        """Whether the delivery is authentic. Use :func:`signatures_match`."""
        raise NotImplementedError

    def delivery_key(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> str:
        """The deduplication key of a delivery (same for every re-delivery of one event)."""
        raise NotImplementedError

    def carries_secrets(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool:
        """Whether the delivery's body holds secrets (e.g. tokens): the inbox then stores it encrypted.

        Called in the request on authentic deliveries only; must not raise. Default: no secrets.
        """
        return False

    def parse(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> StoreEvent:
        """Parse an authentic delivery into a validated :class:`StoreEvent`."""
        raise NotImplementedError

    def client(self, store: StoreConnection) -> StoreAPI:
        """The API client for ``store``."""
        raise NotImplementedError

    # -- hook implementations (dispatch on the platform name) ------------------

    @hookimpl
    def register_default_accounts(self, plugin_name: str) -> list[DefaultAccount] | None:
        return list(self.default_accounts) if plugin_name == self.name else None

    @hookimpl
    def settings_schema(self, platform: str) -> type[Schema] | None:
        return self.credentials_schema if platform == self.name else None

    @hookimpl
    def verify_webhook(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool | None:
        return self.verify(store, headers, body) if store.platform == self.name else None

    @hookimpl
    def webhook_delivery_key(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> str | None:
        return self.delivery_key(store, headers, body) if store.platform == self.name else None

    @hookimpl
    def webhook_carries_secrets(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> bool | None:
        return self.carries_secrets(store, headers, body) if store.platform == self.name else None

    @hookimpl
    def parse_webhook(self, store: StoreConnection, headers: dict[str, str], body: bytes) -> StoreEvent | None:
        return self.parse(store, headers, body) if store.platform == self.name else None

    @hookimpl
    def store_api(self, store: StoreConnection) -> StoreAPI | None:
        return self.client(store) if store.platform == self.name else None

    @hookimpl
    def on_product_created(self, product_id: int) -> None:
        from core.integration.product_sync import schedule_product_push

        schedule_product_push(self.name, product_id)

    @hookimpl
    def on_stock_changed(self, product_id: int, warehouse_id: int, quantity: Any) -> None:
        from core.integration.stock_push import schedule_stock_pushes

        schedule_stock_pushes(self.name, product_id, warehouse_id)


def signatures_match(expected: str, received: str | None) -> bool:
    """Constant-time comparison of two signatures (``False`` when one is missing)."""
    if not received:
        return False
    return hmac.compare_digest(expected.encode(), received.strip().encode())
