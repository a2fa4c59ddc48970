"""Announcing events to plugins after commit: one job per plugin, so one failure blocks no other."""
from __future__ import annotations

import logging
from typing import Any

from flask import has_app_context

from core.integration.synclog import log_event
from core.jobs import enqueue
from core.plugins import registry
from core.services.transaction import atomic

log = logging.getLogger(__name__)

RUN_EVENT = "core.integration.tasks.run_event"


def announce(plugin_name: str, hook_name: str, payload: dict[str, Any]) -> None:
    """Queue one plugin's event job. The work that raised the event is committed, so a queue that
    cannot be reached (Redis down) does not fail it: the event becomes a failed sync-log entry
    with a retry action, visible and re-sendable, instead of a 500 or a silent loss."""
    try:
        enqueue(RUN_EVENT, plugin_name, hook_name, payload)
    except Exception as error:
        log.exception("event %s for plugin %s could not be queued", hook_name, plugin_name)
        with atomic():
            log_event(payload.get("store_id"), "event", "failed", direction="outbound",
                      reason=f"event_not_queued: {hook_name} for plugin {plugin_name} could not be queued"
                             f" ({type(error).__name__}); retry it once the job queue is back",
                      retry={"job": RUN_EVENT, "args": [plugin_name, hook_name, payload]})


def order_completed(store_id: int, order_external_id: str, invoice_id: int) -> None:
    """``on_order_completed`` for every enabled plugin that implements it."""
    payload = {"store_id": store_id, "order_external_id": order_external_id, "invoice_id": invoice_id}
    for name in registry().implementers("on_order_completed"):
        announce(name, "on_order_completed", payload)


def stock_changed(pairs: set[tuple[int, int]]) -> None:
    """``on_stock_changed`` for the (product, warehouse) pairs a committed transaction moved."""
    if not has_app_context():
        return
    names = registry().implementers("on_stock_changed")
    if not names:
        return
    payload = {"pairs": sorted([product_id, warehouse_id] for product_id, warehouse_id in pairs)}
    for name in names:
        announce(name, "on_stock_changed", payload)


def product_created(product_id: int) -> None:
    """``on_product_created`` for every enabled plugin that implements it."""
    for name in registry().implementers("on_product_created"):
        announce(name, "on_product_created", {"product_id": product_id})
