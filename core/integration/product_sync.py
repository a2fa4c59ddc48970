"""Product sync: the whole catalog in the background (P4) and ERP products pushed to stores (P2)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from core.extensions import db
from core.integration.connections import get_store, store_api
from core.integration.links import link, store_link_for
from core.integration.product_pages import prepare_page, write_page
from core.integration.products import ProductOutcome, upsert_from_store
from core.integration.synclog import log_event
from core.jobs import enqueue
from core.models import Product, ProductSyncRun, StoreConnection
from core.models.base import utcnow
from core.platform.base import StoreAPI, StoreAPIError
from core.platform.data import ProductData, ProductPage
from core.services.errors import Conflict
from core.services.transaction import atomic

SYNC_JOB = "core.integration.product_sync.sync_products"
PUSH_JOB = "core.integration.product_sync.push_product"

log = logging.getLogger(__name__)


def start_product_sync(store_id: int) -> ProductSyncRun:
    """Queue a "sync all products" run and return it (its progress updates as pages go by)."""
    store = get_store(store_id)
    if store.status != "active":
        raise Conflict("Activate the store before syncing its products.")
    with atomic():
        run = ProductSyncRun(store_id=store_id, status="queued", report=[])
        db.session.add(run)
    enqueue(SYNC_JOB, run.id, retries=0)
    return run


def sync_products(run_id: int) -> None:
    """Reconcile the store's catalog page by page; memory holds one page at a time."""
    run = db.session.get(ProductSyncRun, run_id)
    if run is None or run.status == "done":
        return
    store = get_store(run.store_id)
    api = store_api(store)
    # A failed run retried from the sync log starts over.
    restart = {"finished_at": None, "total": None, "processed": 0, "created": 0, "updated": 0, "skipped": 0,
               "failed": 0, "report": []} if run.status == "failed" else {}
    _update(run_id, status="running", **restart)
    cursor: str | None = None
    try:
        while True:
            page = api.list_products(cursor)
            _sync_page(run_id, store, page, api)
            cursor = page.next_cursor
            if cursor is None:
                break
    except StoreAPIError as error:
        _update(run_id, status="failed", finished_at=utcnow())
        with atomic():
            log_event(store.id, "product_sync", "failed", direction="outbound", reason=str(error),
                      retry={"job": SYNC_JOB, "args": [run_id]})
        return
    _update(run_id, status="done", finished_at=utcnow())
    with atomic():
        done = db.session.get(ProductSyncRun, run_id)
        log_event(store.id, "product_sync", "done", direction="outbound",
                  reason=f"created {done.created}, updated {done.updated}, skipped {done.skipped}, failed {done.failed}")


def _sync_page(run_id: int, store: StoreConnection, page: ProductPage, api: StoreAPI) -> None:
    """One page in one transaction with its progress (see :func:`write_page`); when that fails, the
    page again product by product, each failure reported with its product (P4)."""
    try:
        ready = prepare_page(store, page.products, api)
        with atomic():
            _progress(run_id, page, write_page(store, ready))
        return
    except Exception as error:  # noqa: BLE001 - the page is synced again one by one, which reports it
        db.session.rollback()
        log.info("product sync %s: page synced one by one (%s: %s)", run_id, type(error).__name__, error)
    results = [_sync_one(store, product, api) for product in page.products]
    with atomic():
        _progress(run_id, page, results)


def _progress(run_id: int, page: ProductPage, results: Sequence[ProductOutcome | _Failed]) -> None:
    """Add the page's counts and report to the run, in the caller's transaction."""
    counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
    report = []
    for product, result in zip(page.products, results, strict=True):
        counts["skipped" if result.outcome == "needs_attention" else result.outcome] += 1  # held: skipped
        if result.reason:
            report.append({"sku": product.sku, "external_id": product.external_id,
                           "outcome": result.outcome, "reason": result.reason,
                           "code": result.code, "params": result.params})
    fresh = db.session.get(ProductSyncRun, run_id)
    fresh.total = page.total if page.total is not None else fresh.total
    fresh.processed += len(page.products)
    for name, value in counts.items():
        setattr(fresh, name, getattr(fresh, name) + value)
    if report:
        fresh.report = [*fresh.report, *report]


def _sync_one(store: StoreConnection, product: ProductData, api: StoreAPI | None = None) -> ProductOutcome | _Failed:
    try:
        return upsert_from_store(store, product, api)
    except Exception as error:  # one bad product must not stop the run (P4)
        db.session.rollback()
        return _Failed(f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class _Failed:
    """A product the run could not sync: an unexpected error, reported as it was raised."""

    reason: str
    outcome: str = "failed"
    code: None = None
    params: dict[str, str] = field(default_factory=dict)


def _update(run_id: int, **values: object) -> None:
    with atomic():
        run = db.session.get(ProductSyncRun, run_id)
        for name, value in values.items():
            setattr(run, name, value)


def schedule_product_push(platform: str, product_id: int) -> None:
    """Queue a push of a new ERP product to each active store of ``platform`` with product sync on (P2)."""
    stores = db.session.execute(
        select(StoreConnection.id, StoreConnection.settings).where(
            StoreConnection.platform == platform, StoreConnection.status == "active"
        )
    ).all()
    for store_id, settings in stores:
        if settings.get("product_sync"):
            enqueue(PUSH_JOB, store_id, product_id)


def push_product(store_id: int, product_id: int) -> None:
    """Create the product in the store unless the store already knows it (it may come from there)."""
    if store_link_for(store_id, "product", product_id) is not None:
        return
    store = get_store(store_id)
    product = db.session.get(Product, product_id)
    data = ProductData(
        external_id="", sku=product.code, name=product.name, price=product.sale_price,
        cost=product.purchase_price, barcode=product.barcode, name_ar=product.name_ar,
    )
    try:
        external_id = store_api(store).push_product(data)
    except StoreAPIError as error:
        with atomic():
            log_event(store_id, "product", "failed", direction="outbound", external_id=product.code,
                      reason=str(error), retry={"job": PUSH_JOB, "args": [store_id, product_id]})
        raise
    with atomic():
        link(store_id, "product", str(external_id), product_id)
        log_event(store_id, "product", "done", direction="outbound", external_id=str(external_id),
                  reason=f"created {product.code} in the store")
