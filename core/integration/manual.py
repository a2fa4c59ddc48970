"""Sending orders to the ERP by hand, by number (O2), each with its own result; re-processing held orders."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.integration.booking import book_order
from core.integration.connections import get_store, store_api
from core.integration.order_states import is_stale
from core.integration.results import BookingResult
from core.integration.synclog import log_event
from core.models import StoreOrder
from core.platform.base import StoreAPIError
from core.platform.data import OrderData
from core.platform.schemas import OrderSchema
from core.services.errors import Conflict, NotFound
from core.services.transaction import atomic


def send_orders(store_id: int, numbers: list[str]) -> list[BookingResult]:
    """Fetch each order from the store and book it if completed, older orders included."""
    store = get_store(store_id)
    if store.status != "active":
        raise Conflict("Activate the store before sending orders.")
    api = store_api(store)
    results = []
    for number in dict.fromkeys(n.strip() for n in numbers if n and n.strip()):
        try:
            order = api.fetch_order(number)
        except StoreAPIError as error:
            results.append(_failed(store_id, number, f"the store could not be reached: {error}"))
            continue
        if order is None:
            results.append(_failed(store_id, number, "the store has no order with this number", "skipped"))
            continue
        results.append(book_order(store, order, manual=True, api=api))
    return results


def _failed(store_id: int, number: str, reason: str, status: str = "failed") -> BookingResult:
    with atomic():
        log_event(store_id, "order", status, external_id=number, reason=reason, direction="outbound")
    return BookingResult("not_found" if status == "skipped" else "failed", number, reason)


def reprocess_order(store_order_id: int) -> BookingResult:
    """Book a held order again once its cause is fixed (O5, O6): nothing half-booked, at most once (O3).

    The order is fetched from the store first, so a fix made there (e.g. an SKU given to a
    product) is seen; when the store cannot be reached, no longer has it, or answers with an
    older version than the one kept (O11), the order data kept when it was received is used.
    """
    record = db.session.get(StoreOrder, store_order_id)
    if record is None:
        raise NotFound(f"No store order with id {store_order_id}.")
    store = get_store(record.store_id)
    if store.status != "active":
        raise Conflict("Activate the store before re-processing its orders.")
    api = store_api(store)
    order = None
    try:
        order = api.fetch_order(record.number)
    except StoreAPIError:
        order = None
    if order is None or order.external_id != record.external_id or _older(store.settings, order, record):
        order = OrderSchema().load(record.data)
    return book_order(store, order, manual=True, api=api)


def _older(settings: dict, order: OrderData, record: StoreOrder) -> bool:
    return is_stale(event_version=order.modified_at, kept_version=record.store_modified_at,
                    event_status=order.status, kept_status=record.store_status,
                    completed=settings.get("completed_statuses") or [], cancelled=order.cancelled)


def reprocess_held(store_id: int) -> list[BookingResult]:
    """Re-process every order of the store that needs attention, oldest change first."""
    store = get_store(store_id)
    if store.status != "active":
        raise Conflict("Activate the store before re-processing its orders.")
    ids = list(db.session.execute(
        select(StoreOrder.id)
        .where(StoreOrder.store_id == store_id, StoreOrder.state == "needs_attention")
        .order_by(StoreOrder.updated_at, StoreOrder.id)
    ).scalars())
    return [reprocess_order(store_order_id) for store_order_id in ids]
