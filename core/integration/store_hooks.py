"""The event hooks every store platform plugin implements alike, to mix into its plugin class."""
from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from core.hookspecs import hookimpl
from core.integration.connections import store_api
from core.integration.product_sync import schedule_product_push
from core.integration.stock_push import schedule_stock_pushes
from core.models import SalesInvoice, StoreConnection
from core.platform.data import OrderData


class StoreSyncHooks:
    """Stock and new products flow to the plugin's stores (hooks run after commit, one job per plugin:
    core.integration.outbox)."""

    name: ClassVar[str]

    @hookimpl
    def on_stock_changed(self, product_id: int, warehouse_id: int, quantity: Decimal) -> None:
        """Queue a push of the product's quantity to each active store of this platform linked to the
        warehouse (coalesced per product, sent in batches of ``stock_batch_size``: I1, I2)."""
        schedule_stock_pushes(self.name, product_id, warehouse_id)

    @hookimpl
    def on_product_created(self, product_id: int) -> None:
        """Queue a push of the new product to each active store of this platform with product sync on (P2)."""
        schedule_product_push(self.name, product_id)


class OrderAnnotationHook:
    """Writes the ERP invoice number back to the store order through ``StoreAPI.annotate_order``
    (for plugins with the ``order_annotation`` capability)."""

    name: ClassVar[str]

    @hookimpl
    def on_order_completed(self, store: StoreConnection, order: OrderData, invoice: SalesInvoice) -> None:
        if store.platform != self.name:
            return
        with store_api(store) as api:
            api.annotate_order(order.external_id, invoice.number)
