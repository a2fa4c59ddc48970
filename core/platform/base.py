"""The base class of platform plugins and the store API every platform client offers."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from marshmallow import Schema

from core.hookspecs import hookimpl
from core.platform.data import (
    CategoryData,
    OrderData,
    OrderPage,
    ProductData,
    ProductPage,
    RefundData,
    StockQuantity,
    StoreEvent,
)
from core.platform.webhooks import (
    Verdict,
    WebhookRequest,
    WebhookSubscription,
    basic_matches,
    signatures_match,
)
from core.secrets import decrypt_json

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

    Optional: ``list_locations() -> list[LocationData]``, the store's inventory locations, for
    platforms that keep stock per location. The store page then offers to choose the one linked
    to the store's warehouse, saved as the credential ``location_id`` (which the platform's
    credentials schema accepts); without one the client uses the location marked ``is_default``.
    """

    def check_credentials(self) -> str:
        """Call the store with the saved credentials; return the store's name or raise."""

    def register_webhooks(self, subscriptions: list[WebhookSubscription]) -> list[str]:
        """Subscribe each topic to its URL (with the secret or Basic credentials it names, when set);
        existing subscriptions of the same URL are kept; return the topics subscribed."""

    def list_categories(self) -> Iterable[CategoryData]:
        """Every category of the store, page by page."""

    def list_products(self, cursor: str | None = None) -> ProductPage:
        """One page of the catalog starting at ``cursor`` (``None`` = first page)."""

    def fetch_order(self, number: str) -> OrderData | None:
        """The order with the human number ``number``, or ``None`` when the store has none."""

    def fetch_order_by_id(self, external_id: str) -> OrderData | None:
        """The order with the store's id ``external_id``, as the API returns it now, or ``None``."""

    def list_refunds(self, order_external_id: str) -> list[RefundData]:
        """Every refund of the order, with its lines (platforms whose webhooks carry no refund lines)."""

    def list_orders(self, modified_after: datetime, cursor: str | None = None) -> OrderPage:
        """One page of the orders modified after ``modified_after`` (reconciliation, O12)."""

    def annotate_order(self, order_external_id: str, invoice_number: str) -> None:
        """Write the ERP invoice number on the store's order (a note, tag or metafield)."""

    def fetch_product(self, sku: str) -> ProductData | None:
        """The store's product with ``sku`` (with its quantity), or ``None`` (used for O7)."""

    def push_stock(self, quantities: list[StockQuantity]) -> None:
        """Set absolute quantities in the store's linked location; batches as the platform allows."""

    def push_product(self, product: ProductData) -> str:
        """Create or update ``product`` in the store; return its external id."""


class Credentials(dict[str, Any]):
    """A store's decrypted credentials, handed to its client; ``save`` writes refreshed ones back.

    A client whose platform rotates tokens (a refresh token used once, a token that expires)
    calls ``credentials.save(access_token=..., refresh_token=...)``: the values are stored
    encrypted with the store at once, so the next client built for the store uses them.
    """

    def __init__(self, values: dict[str, Any], saver: Callable[[dict[str, Any]], None] | None = None) -> None:
        super().__init__(values)
        self._saver = saver

    def save(self, **changes: Any) -> None:
        self.update(changes)
        if self._saver is not None:
            self._saver(dict(changes))


class PlatformPlugin:
    """Base class of a store-platform plugin: set the attributes, write the methods; the core calls them.

    The core finds a store's plugin by its platform name (``registry().platform(name)``, enabled
    plugins only) and calls these methods directly; pluggy hooks are only for real extension
    points (events, lifecycle, blueprints, commands, migrations). Register the subclass under the
    ``mizan.plugins`` entry-point group.

    Webhooks reach the plugin as a :class:`~core.platform.webhooks.WebhookRequest`:
    ``verify`` decides (:class:`~core.platform.webhooks.Verdict`), ``delivery_key`` names the
    event for deduplication, ``parse`` turns it into one or more :class:`StoreEvent`.
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
    #: How deliveries prove they come from the store: ``"hmac"`` (the plugin's ``verify`` checks a
    #: signature with :func:`~core.platform.webhooks.hmac_hex` or ``hmac_base64``), ``"basic"`` (the
    #: Basic credentials the ERP generated at registration) or ``"token"`` (a static token in
    #: ``token_header`` or the ``token`` query parameter, compared with the ``webhook_token`` credential).
    authenticity: ClassVar[str] = "hmac"
    #: What a delivery's body must be: ``"json"`` (anything else is answered 400 and not stored) or
    #: ``"any"`` (the plugin's ``parse`` reads it, e.g. a form body).
    body_format: ClassVar[str] = "json"
    #: Header carrying the static token in ``"token"`` mode.
    token_header: ClassVar[str] = "X-Webhook-Token"
    #: Whether the platform lets the ERP subscribe its webhooks (otherwise: app-level / authorize event).
    registers_webhooks: ClassVar[bool] = False
    #: Topics the ERP subscribes when ``registers_webhooks`` (each one its own subscription).
    webhook_topics: ClassVar[tuple[str, ...]] = ()
    #: Whether each topic gets its own URL ``/webhooks/<key>/<topic>`` (platforms that name the event
    #: only by the URL); otherwise every topic is sent to ``/webhooks/<key>``.
    topic_in_url: ClassVar[bool] = False
    #: What the ERP generates for the store to send with its deliveries, kept encrypted in the
    #: credentials: ``"secret"`` (``webhook_secret``, for signatures), ``"basic"``
    #: (``webhook_username`` and ``webhook_password``) or ``None`` (the platform has its own).
    webhook_secret_kind: ClassVar[str | None] = None
    #: Quantities sent per stock-push call (the platform's batch limit).
    stock_batch_size: ClassVar[int] = 100
    #: Optional abilities the core and the test kit may rely on: ``order_annotation`` (the invoice
    #: number is written back), ``reconcile`` (``list_orders``), ``refunds_via_api`` (``list_refunds``),
    #: ``order_by_id`` (``fetch_order_by_id``), ``partial_refunds``, ``guest_orders``.
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: Accounts created when the plugin is installed (C3): see ``core.services.chart.DefaultAccount``.
    default_accounts: ClassVar[list[DefaultAccount]] = []
    #: Role key of the account Paid invoices are settled to (O9); one of ``default_accounts``.
    clearing_account_key: ClassVar[str] = "payment_clearing"

    # -- what a platform implements ------------------------------------------------

    def verify(self, store: StoreConnection, request: WebhookRequest) -> Verdict:
        """Whether the delivery is authentic; in ``"basic"`` and ``"token"`` modes the base class decides.

        Answer :attr:`Verdict.ACKNOWLEDGE` for a platform's ping that must get a 200 but carries no event,
        :attr:`Verdict.IGNORE` for an event the platform sends without credentials (200, one sync-log line).
        """
        values = self.credentials(store)
        if self.authenticity == "basic":
            ok = basic_matches(request, values.get("webhook_username"), values.get("webhook_password"))
        elif self.authenticity == "token":
            sent = request.header(self.token_header) or request.query_args().get("token")
            ok = signatures_match(str(values.get("webhook_token") or ""), sent)
        else:
            raise NotImplementedError(f"{type(self).__name__} declares HMAC webhooks: write its verify()")
        return Verdict.AUTHENTIC if ok else Verdict.REJECT

    def delivery_key(self, store: StoreConnection, request: WebhookRequest) -> str | None:
        """The deduplication key of a delivery (the same for every re-delivery of one event);
        ``None``: the core uses a hash of the topic and the body."""
        return None

    def carries_secrets(self, store: StoreConnection, request: WebhookRequest) -> bool:
        """Whether the delivery's body holds secrets (e.g. tokens): the inbox then stores it encrypted.

        Called in the request on authentic deliveries only; must not raise. Default: no secrets.
        """
        return False

    def parse(self, store: StoreConnection, request: WebhookRequest) -> StoreEvent | list[StoreEvent]:
        """Parse an authentic delivery into validated events (one, or several from one delivery).

        Raise :class:`marshmallow.ValidationError` when the payload does not fit.
        """
        raise NotImplementedError

    def client(self, store: StoreConnection, credentials: Credentials) -> StoreAPI:
        """The API client for ``store``; ``credentials.save(...)`` keeps tokens the platform refreshed."""
        raise NotImplementedError

    def credentials(self, store: StoreConnection) -> dict[str, Any]:
        """The store's decrypted credentials (for ``verify`` and ``parse``)."""
        return decrypt_json(store.credentials_encrypted)

    # -- lifecycle ---------------------------------------------------------------

    @hookimpl
    def register_default_accounts(self) -> list[DefaultAccount]:
        """The accounts created when this plugin is installed."""
        return list(self.default_accounts)
