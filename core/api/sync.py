"""Product syncs (P4), the sync log and its retries (V1), store orders and their story (V2), deliveries."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from core.api.loading import load_query
from core.api.operations import operation
from core.api.pagination import paginate_query
from core.api.schemas.fields import URL_ID
from core.api.schemas.integration import (
    BookingResultSchema,
    DeliveryQuery,
    DeliverySchema,
    ProductSyncRunSchema,
    RetrySchema,
    StoreOrderQuery,
    StoreOrderSchema,
    StoreOrderStorySchema,
    SyncLogEntrySchema,
    SyncLogQuery,
)
from core.integration import queries
from core.integration.manual import reprocess_order
from core.integration.product_sync import start_product_sync
from core.jobs import enqueue
from core.models import ProductSyncRun, StoreOrder, SyncLogEntry
from core.services.errors import Conflict
from core.services.lookup import get_or_404

TAG_SYNC = "Store sync"
TAG_ORDERS = "Store orders"


@operation(
    "Start a \"sync all products\" run",
    TAG_SYNC,
    response=ProductSyncRunSchema,
    status=202,
    description="Reconciles the store's whole catalog in the background (P4); follow its progress "
    "at the Location given. The store must be active (409 otherwise).",
)
def start_sync(store_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    run = start_product_sync(store_id)
    run = get_or_404(ProductSyncRun, run.id, "Product sync")
    return (
        ProductSyncRunSchema().dump(run),
        202,
        {"Location": url_for("api.product_syncs_get", run_id=run.id)},
    )


@operation("Show a product sync run: progress and report", TAG_SYNC, response=ProductSyncRunSchema)
def get_sync(run_id: int) -> dict[str, Any]:
    return ProductSyncRunSchema().dump(get_or_404(ProductSyncRun, run_id, "Product sync"))


@operation("List sync-log entries, newest first", TAG_SYNC, response=SyncLogEntrySchema, query=SyncLogQuery,
           paginated=True)
def list_sync_log() -> dict[str, Any]:
    query = load_query(SyncLogQuery())
    filters = {k: query.get(k) for k in ("store_id", "status", "kind", "direction", "date_from", "date_to")}
    return paginate_query(queries.sync_log_statement(**filters), SyncLogEntrySchema(), query)


@operation(
    "Retry what a sync-log entry failed to do",
    TAG_SYNC,
    response=RetrySchema,
    description="Queues the entry's retry job again. An entry without a retry action answers 409.",
)
def retry_entry(entry_id: int) -> dict[str, Any]:
    entry = get_or_404(SyncLogEntry, entry_id, "Sync-log entry")
    retry = entry.retry
    if not retry or not retry.get("job"):
        raise Conflict(f"Sync-log entry {entry_id} has nothing to retry.")
    job, args = str(retry["job"]), list(retry.get("args") or [])
    enqueue(job, *args)
    body = {"entry_id": entry_id, "job": job, "args": args, "message": "queued again"}
    return RetrySchema().dump(body)


@operation("List store orders as the ERP saw them", TAG_ORDERS, response=StoreOrderSchema, query=StoreOrderQuery,
           paginated=True)
def list_store_orders() -> dict[str, Any]:
    query = load_query(StoreOrderQuery())
    filters = {k: query.get(k) for k in ("store_id", "state", "number")}
    return paginate_query(queries.store_orders_statement(**filters), StoreOrderSchema(), query)


@operation(
    "The whole story of one store order",
    TAG_ORDERS,
    response=StoreOrderStorySchema,
    description="The order row, its sync-log entries and webhook deliveries, its invoice and payments, "
    "its refunds with their return invoices, and the stock pushes logged after it was booked (V2).",
)
def get_store_order(order_id: int) -> dict[str, Any]:
    story = queries.order_story(get_or_404(StoreOrder, order_id, "Store order"))
    refunds = [
        {
            "id": refund.id,
            "external_id": refund.external_id,
            "state": refund.state,
            "reason": refund.reason,
            "return_invoice": story.return_invoices.get(refund.return_invoice_id or 0),
        }
        for refund in story.refunds
    ]
    return StoreOrderStorySchema().dump(
        {
            "order": story.order,
            "log": story.log,
            "deliveries": story.deliveries,
            "invoice": story.invoice,
            "payments": story.payments,
            "refunds": refunds,
            "stock_pushes": story.stock_pushes,
        }
    )


@operation(
    "Re-process a store order",
    TAG_ORDERS,
    response=BookingResultSchema,
    description="Books a held order again once its cause is fixed (O5, O6), with the store's newest version "
    "of it (the store API's, unless older than the one kept, O11); its waiting refunds are booked right "
    "after it. A booked order answers already_booked and changes nothing (O3). 404 for an unknown id, "
    "409 when the store is not active.",
)
def reprocess_store_order(order_id: int) -> dict[str, Any]:
    return BookingResultSchema().dump(reprocess_order(order_id))


@operation("List webhook deliveries (without their bodies), newest first", TAG_ORDERS, response=DeliverySchema,
           query=DeliveryQuery, paginated=True)
def list_deliveries() -> dict[str, Any]:
    query = load_query(DeliveryQuery())
    statement = queries.deliveries_statement(store_id=query.get("store_id"), status=query.get("status"))
    return paginate_query(statement, DeliverySchema(), query)


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule(f"/stores/<{URL_ID}:store_id>/product-syncs", "product_syncs_start", start_sync,
                           methods=["POST"])
    blueprint.add_url_rule(f"/product-syncs/<{URL_ID}:run_id>", "product_syncs_get", get_sync, methods=["GET"])
    blueprint.add_url_rule("/sync-log", "sync_log_list", list_sync_log, methods=["GET"])
    blueprint.add_url_rule(f"/sync-log/<{URL_ID}:entry_id>/retry", "sync_log_retry", retry_entry, methods=["POST"])
    blueprint.add_url_rule("/store-orders", "store_orders_list", list_store_orders, methods=["GET"])
    blueprint.add_url_rule(f"/store-orders/<{URL_ID}:order_id>", "store_orders_get", get_store_order,
                           methods=["GET"])
    blueprint.add_url_rule(f"/store-orders/<{URL_ID}:order_id>/reprocess", "store_orders_reprocess",
                           reprocess_store_order, methods=["POST"])
    blueprint.add_url_rule("/webhook-deliveries", "webhook_deliveries_list", list_deliveries, methods=["GET"])
