"""Pushing on-hand quantities to stores (I1–I3): queued per product, coalesced, batched, retried."""
from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select

from core.extensions import db
from core.integration.links import store_link_for
from core.integration.synclog import log_event
from core.jobs import enqueue
from core.models import PendingStockPush, Product, StockLevel, StoreConnection
from core.models.base import utcnow
from core.platform.base import RateLimited, StoreAPIError
from core.platform.data import StockQuantity
from core.plugins import registry
from core.services.transaction import atomic
from core.services.upsert import insert_or_update

PUSH_JOB = "core.integration.tasks.push_stock"
#: Quantities sent per call when the store's plugin names no ``stock_batch_size``.
BATCH_SIZE = 100
#: A 429 asking to wait up to this many seconds is waited out in the job (I2).
MAX_INLINE_WAIT = 10.0
RATE_LIMIT_ATTEMPTS = 5


def schedule_stock_pushes(platform: str, product_id: int, warehouse_id: int) -> int:
    """Queue a push of ``product_id`` to each active store of ``platform`` linked to ``warehouse_id``.

    One pending row per (store, product): a burst of changes leaves one row, and the push
    sends the quantity on hand when it runs (I2). The store's push job is named per store, so
    while one waits (on Redis), the pushes of a whole synced page or burst join it instead of
    queueing a job each. Returns the number of stores queued.
    """
    stores = [
        store
        for store in db.session.execute(
            select(StoreConnection).where(StoreConnection.platform == platform, StoreConnection.status == "active")
        ).scalars()
        if store.settings.get("update_inventory") and store.settings.get("warehouse_id") == warehouse_id
    ]
    for store in stores:
        with atomic():
            now = utcnow()
            insert_or_update(
                PendingStockPush,
                {"store_id": store.id, "product_id": product_id, "requested_at": now},
                ["store_id", "product_id"],
                {"requested_at": now},
            )
        enqueue(PUSH_JOB, store.id, unique=push_job_name(store.id))
    return len(stores)


def push_job_name(store_id: int) -> str:
    """The name of a store's waiting push job: one waits at a time, and it sends every pending row."""
    return f"push-stock-{store_id}"


def push_pending(store_id: int, api_factory) -> int:  # noqa: ANN001
    """Send the store's pending quantities in batches; returns how many were pushed.

    A 429 stops the run and raises :class:`RateLimited` so the job retries later; rows are
    removed only after the store accepted them, and only if no newer change arrived meanwhile.
    """
    store = db.session.get(StoreConnection, store_id)
    if store is None or store.status != "active" or not store.settings.get("update_inventory"):
        return 0
    warehouse_id = store.settings.get("warehouse_id")
    started: datetime = utcnow()
    # Product ids, not rows: the commit expires loaded rows, and another worker may delete them
    # before they are read again (ObjectDeletedError).
    pending = list(
        db.session.execute(
            select(PendingStockPush.product_id)
            .where(PendingStockPush.store_id == store_id)
            .order_by(PendingStockPush.product_id)
        ).scalars()
    )
    db.session.commit()
    api = api_factory(store)
    size = batch_size(store.platform)
    pushed = 0
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        quantities = [_quantity(store_id, product_id, warehouse_id) for product_id in batch]
        try:
            _push_respecting_rate_limit(api, quantities)
        except RateLimited as limited:
            with atomic():
                log_event(store_id, "stock", "failed", direction="outbound",
                          reason=f"rate limited; retry in {limited.retry_after:g} s",
                          retry={"job": PUSH_JOB, "args": [store_id]})
            raise
        except StoreAPIError as error:
            with atomic():
                log_event(store_id, "stock", "failed", direction="outbound", reason=str(error),
                          retry={"job": PUSH_JOB, "args": [store_id]})
            raise
        with atomic():
            db.session.execute(
                delete(PendingStockPush).where(
                    PendingStockPush.store_id == store_id,
                    PendingStockPush.product_id.in_(batch),
                    PendingStockPush.requested_at <= started,
                ).execution_options(synchronize_session=False)
            )
            log_event(
                store_id, "stock", "done", direction="outbound",
                reason=", ".join(f"{q.sku}={q.quantity.normalize():f}" for q in quantities),
            )
        pushed += len(batch)
    return pushed


def batch_size(platform: str) -> int:
    """Quantities per ``push_stock`` call: the platform plugin's ``stock_batch_size``."""
    plugin = registry().platform(platform)
    return int(plugin.stock_batch_size if plugin is not None else BATCH_SIZE) or BATCH_SIZE


def _push_respecting_rate_limit(api: Any, quantities: list[StockQuantity]) -> None:
    """Push, waiting out short ``Retry-After`` answers; a long wait is left to the job's retry."""
    for attempt in range(RATE_LIMIT_ATTEMPTS):
        try:
            api.push_stock(quantities)
            return
        except RateLimited as limited:
            if limited.retry_after > MAX_INLINE_WAIT or attempt == RATE_LIMIT_ATTEMPTS - 1:
                raise
            time.sleep(limited.retry_after)


def on_hand(product_id: int, warehouse_id: int) -> Decimal:
    """The quantity on hand of a product in a warehouse (0 when it never had stock)."""
    quantity = db.session.execute(
        select(func.coalesce(func.sum(StockLevel.quantity), 0)).where(
            StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id
        )
    ).scalar_one()
    return Decimal(quantity)


def _quantity(store_id: int, product_id: int, warehouse_id: int) -> StockQuantity:
    product = db.session.get(Product, product_id)
    link = store_link_for(store_id, "product", product_id)
    return StockQuantity(
        sku=product.code,
        quantity=on_hand(product_id, warehouse_id),
        external_id=link.external_id if link else None,
        stock_ref=link.stock_ref if link else None,
    )
