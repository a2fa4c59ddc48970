"""The store driver a platform plugin hands the kit, and how the kit finds the installed ones."""
from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

#: The development-only entry-point group naming each platform's driver (``salla = plugins.salla.testing:SallaDriver``).
DRIVER_GROUP = "mizan.testing"

#: Optional capabilities a driver may declare, and the driver methods each one needs.
CAPABILITY_METHODS: dict[str, tuple[str, ...]] = {
    "partial_refunds": ("refund_line",),
    "guest_orders": (),
    "control_page": ("control_page", "last_order_id"),
    "sku_edits": ("edit_sku", "set_store_quantity", "throttle_next"),
    "demo_sandbox": ("demo_sandbox",),
    "reconcile": ("send_update", "refund_all"),
    "order_annotation": ("written_back",),
    #: ``captured()``: a context manager keeping the webhooks the sandbox would post, ``(url, headers, body)``.
    "capture": ("captured",),
}


@runtime_checkable
class StoreDriver(Protocol):
    """Makes a platform's sandbox store do what a merchant or customer does, so one rule test covers every platform.

    ``order`` values are the driver's own handles (whatever ``new_order`` returned).
    """

    #: The plugin's registry name (``salla``, ``shopify``, ``dummy``).
    platform: ClassVar[str]
    #: Optional capabilities (keys of :data:`CAPABILITY_METHODS`); kit tests of one run only where declared.
    capabilities: ClassVar[frozenset[str]]
    #: Where the sandbox is served (set by the kit's fixture that serves it).
    url: str

    def serve(self) -> AbstractContextManager[Any]:
        """Serve the sandbox; the context value has a ``url``."""

    def credentials(self, url: str) -> dict[str, Any]:
        """Store credentials for the plugin, given the URL the sandbox is served at."""

    def connect_webhooks(self, url: str) -> None:
        """Point the sandbox's webhooks at the ERP's ``url`` (a no-op where the ERP subscribes on activation)."""

    def new_order(self, items: list[tuple[Any, int]], *, send: bool = True, guest: bool = False,
                  **options: Any) -> Any:
        """Place an order of ``(sku or no_sku_item(), quantity)`` items; ``shipping="15.00"`` is understood."""

    def complete(self, order: Any, *, send: bool = True) -> None:
        """Complete (or pay) the order: the moment the ERP books it."""

    def cancel(self, order: Any) -> None: ...

    def refund_all(self, order: Any) -> None: ...

    def redeliver_last(self) -> None:
        """Send the last webhook again, exactly as it was."""

    def number(self, order: Any) -> str:
        """The order number the merchant sees (and types into "send orders")."""

    def total(self, order: Any) -> Decimal: ...

    def no_sku_item(self) -> Any:
        """An item (for ``new_order``) whose product has no SKU."""

    def give_sku(self, item: Any, sku: str) -> None:
        """The merchant gives the product of ``item`` an SKU; its update is sent to the ERP."""

    def add_product(self, sku: str, name: str, price: str, quantity: int) -> None: ...

    def store_quantity(self, sku: str) -> int:
        """The quantity the store shows for ``sku``."""

    def forged_headers(self) -> dict[str, str]:
        """Headers of a webhook claiming the platform's signature with a wrong value."""

    def settle(self) -> None:
        """Wait until everything the sandbox sent has been handled (the pipeline is idle)."""

    # -- for the conformance suite --------------------------------------------------------

    #: The plugin class under test, and the header carrying its webhook signature.
    plugin_class: ClassVar[type]
    signature_header: ClassVar[str]

    def signed_delivery(self, kind: str) -> tuple[dict[str, str], bytes]:
        """A new signed delivery of ``kind`` (``order_completed``, ``order_created``, ``refund``, ``product``,
        or ``unknown``: an event the core does not act on), not sent; its orders exist in the store."""

    def resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` signed again for ``body`` (and made a new delivery), for fuzzing authentic deliveries."""

    def throttle_next(self, count: int) -> None:
        """The store's next ``count`` API calls answer with a rate limit.

        A driver whose deliveries are references (``order_ref``: the order is fetched by id) may also
        offer ``throttle_product_lookups(count)``: only product calls answer 429, so a test can make
        "the store cannot confirm the product" while the order itself is still fetched."""


def driver_classes() -> dict[str, type]:
    """Every installed driver, by platform name, from the :data:`DRIVER_GROUP` entry points."""
    found: dict[str, type] = {}
    for point in entry_points(group=DRIVER_GROUP):
        found[point.name] = point.load()
    return dict(sorted(found.items()))


def missing_capabilities(driver: type) -> list[str]:
    """Capabilities ``driver`` declares but cannot do: a method the kit needs for one is missing."""
    missing = []
    for capability in sorted(getattr(driver, "capabilities", frozenset())):
        needed = CAPABILITY_METHODS.get(capability, ())  # the plugin's own capabilities need no driver method
        if not all(callable(getattr(driver, name, None)) for name in needed):
            missing.append(capability)
    return missing
