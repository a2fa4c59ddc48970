"""The hooks Mizan plugins implement, in families: registration, store platform, events.

Every hook is documented here once; ``docs/plugins.md`` lists them all and a test keeps the
two in step. Collectors (``register_*``) return lists that the core concatenates; the lifecycle hook is
called on the one plugin concerned; events (``on_*``) run after the database commit, in a job,
one plugin at a time. What a store platform does (verify, parse, its API client) is not a hook:
the core calls the methods of the platform's :class:`core.platform.base.PlatformPlugin` directly.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from decimal import Decimal

    import click
    from flask import Blueprint

    from core.models import ReturnInvoice, SalesInvoice
    from core.models.stores import StoreConnection
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
def register_default_accounts() -> list[DefaultAccount]:
    """Lifecycle: the accounts the plugin needs, created once when it is installed (idempotent).

    Called on the plugin being installed only (``flask plugins install``, the first store
    activation), never on the others. ``PlatformPlugin`` answers with its ``default_accounts``.

    :returns: default accounts (code, key, type, English and Arabic names, parent code).

    Example::

        @hookimpl
        def register_default_accounts() -> list[DefaultAccount]:
            return [DefaultAccount("1135", "zid_clearing", "asset", "Zid clearing", "مقاصة زد", "11")]
    """


@hookspec
def register_blueprints() -> list[Blueprint] | None:
    """Flask blueprints the plugin serves (pages, endpoints of its own).

    :returns: blueprints to register on the application at start-up.

    Example::

        bp = Blueprint("zatca", __name__, url_prefix="/zatca")

        @hookimpl
        def register_blueprints() -> list[Blueprint]:
            return [bp]
    """


@hookspec
def register_commands() -> list[click.Command] | None:
    """Click commands added under the ``flask`` command line.

    :returns: commands or groups; name them after the plugin.

    Example::

        @click.group("zatca")
        def zatca_cli() -> None:
            "E-invoicing (ZATCA)."

        @hookimpl
        def register_commands() -> list[click.Command]:
            return [zatca_cli]
    """


@hookspec
def register_migrations() -> list[str]:
    """Folders of Alembic revisions the plugin ships, applied by ``flask db upgrade heads``.

    Asked of every discovered plugin (enabled or not) whenever Alembic is configured; the
    folders are added to ``version_locations`` after the core's ``migrations/versions``. The
    revisions form a branch of their own: the first has ``down_revision = None``,
    ``branch_labels = ("<plugin>",)`` and ``depends_on`` the core revision it needs.

    :returns: absolute paths of the plugin's version folders.

    Example::

        @hookimpl
        def register_migrations() -> list[str]:
            return [str(Path(__file__).parent / "migrations")]
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

    Example::

        @hookimpl
        def on_order_completed(store: StoreConnection, order: OrderData, invoice: SalesInvoice) -> None:
            submit_e_invoice(invoice.id)
    """


@hookspec
def on_refund_booked(store: StoreConnection, refund: RefundData, return_invoice: ReturnInvoice) -> None:
    """A store refund (or the cancellation of a booked order) has been booked as ``return_invoice``.

    :param store: the store the refund came from.
    :param refund: the validated refund.
    :param return_invoice: the return invoice (credit note) that books it.

    Example::

        @hookimpl
        def on_refund_booked(store: StoreConnection, refund: RefundData, return_invoice: ReturnInvoice) -> None:
            submit_credit_note(return_invoice.id)
    """


@hookspec
def on_product_created(product_id: int) -> None:
    """A product was created in the ERP; platform plugins push it to stores with product sync on (P2).

    :param product_id: the new product.

    Example::

        @hookimpl
        def on_product_created(product_id: int) -> None:
            log.info("product %s created", product_id)
    """


@hookspec
def on_stock_changed(product_id: int, warehouse_id: int, quantity: Decimal) -> None:
    """A product's on-hand quantity changed in a warehouse; platform plugins push it (I1).

    :param product_id: the product.
    :param warehouse_id: the warehouse whose quantity changed.
    :param quantity: the new absolute on-hand quantity.

    Example::

        @hookimpl
        def on_stock_changed(product_id: int, warehouse_id: int, quantity: Decimal) -> None:
            if quantity <= 0:
                notify_out_of_stock(product_id, warehouse_id)
    """
