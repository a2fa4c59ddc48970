"""Announcing events to plugins after commit: one job per plugin, so one failure blocks no other."""
from __future__ import annotations

from flask import has_app_context

from core.jobs import enqueue
from core.plugins import registry

RUN_EVENT = "core.integration.tasks.run_event"


def order_completed(store_id: int, order_external_id: str, invoice_id: int) -> None:
    """``on_order_completed`` for every enabled plugin that implements it."""
    payload = {"store_id": store_id, "order_external_id": order_external_id, "invoice_id": invoice_id}
    for name in registry().implementers("on_order_completed"):
        enqueue(RUN_EVENT, name, "on_order_completed", payload)


def stock_changed(pairs: set[tuple[int, int]]) -> None:
    """``on_stock_changed`` for the (product, warehouse) pairs a committed transaction moved."""
    if not has_app_context():
        return
    names = registry().implementers("on_stock_changed")
    if not names:
        return
    payload = {"pairs": sorted([product_id, warehouse_id] for product_id, warehouse_id in pairs)}
    for name in names:
        enqueue(RUN_EVENT, name, "on_stock_changed", payload)


def product_created(product_id: int) -> None:
    """``on_product_created`` for every enabled plugin that implements it."""
    for name in registry().implementers("on_product_created"):
        enqueue(RUN_EVENT, name, "on_product_created", {"product_id": product_id})
