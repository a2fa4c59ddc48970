"""Sending orders to the ERP by hand, by number (O2), each with its own result."""
from __future__ import annotations

from core.integration.booking import BookingResult, book_order
from core.integration.connections import get_store, store_api
from core.integration.platform import StoreAPIError
from core.integration.synclog import log_event
from core.services.errors import Conflict
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
