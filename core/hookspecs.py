"""The hooks Mizan plugins implement, in families: registration, store platform, events.

Every hook is documented here once; ``docs/plugins.md`` lists them all and a test keeps the
two in step. Collectors (``register_*``) return lists that the core concatenates; decisions
(``firstresult``) stop at the first plugin that answers something other than ``None``; events
(``on_*``) run after the database commit, in a job, one plugin at a time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from decimal import Decimal

    import click
    from flask import Blueprint

    from core.models import ReturnInvoice, SalesInvoice
    from core.models.stores import StoreConnection
    from core.platform.base import StoreAPI
    from core.platform.data import OrderData, RefundData
    from core.services.chart import DefaultAccount

#: The project name shared by the specs and implementations.
PROJECT = "mizan"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -------------------------------------------------------------------------
# Registration: what a plugin adds to the application
# -------------------------------------------------------------------------


@hookspec
def register_default_accounts(plugin_name: str) -> list[DefaultAccount] | None:
    """Accounts the plugin needs, created once when it is installed (idempotent).

    :param plugin_name: the plugin being installed; answer only for your own name.
    :returns: default accounts (code, key, type, English and Arabic names, parent code).
    """


@hookspec
def register_blueprints() -> list[Blueprint] | None:
    """Flask blueprints the plugin serves (pages, endpoints of its own).

    :returns: blueprints to register on the application at start-up.
    """


@hookspec
def register_commands() -> list[click.Command] | None:
    """Click commands added under the ``flask`` command line.

    :returns: commands or groups; name them after the plugin.
    """


# -------------------------------------------------------------------------
# Store platform: decisions answered by the plugin that owns the platform
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def settings_schema(platform: str) -> type[Any] | None:
    """The marshmallow schema of the credentials a store of ``platform`` needs.

    :param platform: a platform name, e.g. the plugin's own.
    :returns: a ``marshmallow.Schema`` subclass, or ``None`` when not yours.
    """


@hookspec(firstresult=True)
def verify_webhook(store: StoreConnection, headers: dict[str, str], body: bytes) -> bool | None:
    """Check a delivery's signature, in constant time, on the raw body.

    :param store: the store connection the delivery was addressed to.
    :param headers: the request headers (case-insensitive mapping).
    :param body: the raw request body, exactly as received.
    :returns: ``True`` when authentic, ``False`` when not, ``None`` when not your platform.
    """


@hookspec(firstresult=True)
def webhook_delivery_key(store: StoreConnection, headers: dict[str, str], body: bytes) -> str | None:
    """A key that is the same for every re-delivery of one event (deduplication).

    :param store: the store connection.
    :param headers: the request headers.
    :param body: the raw body.
    :returns: the key (a platform event id, or a hash of the body), ``None`` when not yours.
    """


@hookspec(firstresult=True)
def webhook_carries_secrets(store: StoreConnection, headers: dict[str, str], body: bytes) -> bool | None:
    """Whether an authentic delivery's body holds secrets (tokens), so the inbox stores it encrypted.

    :param store: the store connection.
    :param headers: the request headers.
    :param body: the raw body.
    :returns: ``True`` when the body holds secrets, ``False`` when not, ``None`` when not yours.
    """


@hookspec(firstresult=True)
def parse_webhook(store: StoreConnection, headers: dict[str, str], body: bytes) -> Any:
    """Turn an authentic delivery into a :class:`core.platform.data.StoreEvent`.

    :param store: the store connection.
    :param headers: the request headers stored with the delivery.
    :param body: the raw body stored with the delivery.
    :returns: the validated event; raise ``marshmallow.ValidationError`` when the payload
        does not fit; ``None`` when not your platform.
    """


@hookspec(firstresult=True)
def store_api(store: StoreConnection) -> StoreAPI | None:
    """An API client for the store (see :class:`core.platform.base.StoreAPI`).

    :param store: the store connection, with decrypted credentials available.
    :returns: the client, or ``None`` when not your platform.
    """


# -------------------------------------------------------------------------
# Events: recorded in the outbox with the commit; after it, one job per plugin
# -------------------------------------------------------------------------


@hookspec
def on_order_completed(store: StoreConnection, order: OrderData, invoice: SalesInvoice) -> None:
    """A store order has been booked as ``invoice``.

    :param store: the store the order came from.
    :param order: the validated order.
    :param invoice: the sales invoice that books it.
    """


@hookspec
def on_refund_booked(store: StoreConnection, refund: RefundData, return_invoice: ReturnInvoice) -> None:
    """A store refund (or the cancellation of a booked order) has been booked as ``return_invoice``.

    :param store: the store the refund came from.
    :param refund: the validated refund.
    :param return_invoice: the return invoice (credit note) that books it.
    """


@hookspec
def on_product_created(product_id: int) -> None:
    """A product was created in the ERP; platform plugins push it to stores with product sync on (P2).

    :param product_id: the new product.
    """


@hookspec
def on_stock_changed(product_id: int, warehouse_id: int, quantity: Decimal) -> None:
    """A product's on-hand quantity changed in a warehouse; platform plugins push it (I1).

    :param product_id: the product.
    :param warehouse_id: the warehouse whose quantity changed.
    :param quantity: the new absolute on-hand quantity (``Decimal``).
    """
