"""Booking store orders as sales invoices, exactly once (O1–O10)."""
from __future__ import annotations

import dataclasses
from datetime import UTC, date, timedelta
from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from core.integration.amounts import reconcile
from core.integration.clients import client_for
from core.integration.links import linked_id
from core.integration.order_states import ENDS, is_stale, move, newer
from core.integration.order_states import reason as state_reason
from core.integration.products import (
    create_from_store,
    from_order_line,
    known_products,
    product_for_order_line,
    store_fee_product_id,
)
from core.integration.refunds import book_refund, settle_refunds
from core.integration.results import BookingResult, clearing_account, sales_account, to_json
from core.integration.settings import missing_for_booking
from core.integration.synclog import document, log_event
from core.models import Product, SalesInvoice, StoreConnection, StoreOrder
from core.platform.base import StoreAPI, StoreAPIError
from core.platform.data import OrderData, OrderLineData, ProductData, RefundData
from core.services import refdata
from core.services.domain_events import OrderBooked
from core.services.domain_events import record as record_event
from core.services.errors import DuplicateDocument, ServiceError
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.transaction import TransactionRolledBack, atomic, doomed
from core.services.upsert import insert_ignoring_conflicts

#: Allowance for the store's clock and second-rounded timestamps when applying O1.
CLOCK_SKEW = timedelta(seconds=60)


def invoice_key(store_id: int, external_id: str) -> str:
    """The unique key that makes a store order bookable once (O3)."""
    return f"store:{store_id}:order:{external_id}"


def book_order(
    store: StoreConnection,
    order: OrderData,
    *,
    manual: bool = False,
    api: StoreAPI | None = None,
    delivery_id: int | None = None,
) -> BookingResult:
    """Book ``order`` from ``store`` when the rules allow it; record and log the outcome.

    Then the order's waiting refunds are booked (or skipped when it was cancelled): same job,
    after the order's commit (O11, R2).
    """
    result = _book(store, order, manual=manual, api=api, delivery_id=delivery_id)
    settle_refunds(store, order.external_id, delivery_id=delivery_id, booked=result.outcome == "booked")
    return result


def _book(
    store: StoreConnection, order: OrderData, *, manual: bool, api: StoreAPI | None, delivery_id: int | None
) -> BookingResult:
    """The common case in one transaction: the order's row, its invoice, its state and the log line. When
    the order needs the store's API (an unknown SKU) or something to be created first, or the posting is
    refused, that transaction is rolled back and the order takes the steps one commit at a time."""
    try:
        with atomic():
            return _decide(store, order, manual=manual, api=api, delivery_id=delivery_id, in_one=True)
    except (_NotInOne, ServiceError, TransactionRolledBack):
        pass
    return _decide(store, order, manual=manual, api=api, delivery_id=delivery_id, in_one=False)


def _decide(
    store: StoreConnection, order: OrderData, *, manual: bool, api: StoreAPI | None, delivery_id: int | None,
    in_one: bool,
) -> BookingResult:
    """Apply the rules (O1–O11) to ``order`` and book it; ``in_one``: inside the caller's transaction,
    raising :class:`_NotInOne` (or the posting's error) where that is not enough."""
    record, stale, order = _record(store, order)
    if stale:
        return _stale(store, order, record, delivery_id)
    if record.invoice_id is not None and order.cancelled:
        if in_one:
            raise _NotInOne
        cancellation = RefundData(f"cancel:{order.external_id}", order.external_id, whole_order=True)
        return book_refund(store, cancellation, delivery_id=delivery_id)  # O10: booked, then cancelled
    if record.invoice_id is not None:
        invoice = db.session.get(SalesInvoice, record.invoice_id)
        return _finish(store, order, record, "already_booked", f"already booked as {invoice.number}", invoice,
                       delivery_id)
    if record.state in ENDS:
        return _finish(store, order, record, "skipped", record.reason, None, delivery_id)
    refusal = _refusal(store, order, manual)
    if refusal is not None:
        outcome, reason = refusal
        return _finish(store, order, record, outcome, reason, None, delivery_id)
    try:
        draft = _draft(store, order, api, in_one=in_one)
    except _NeedsAttention as problem:
        if in_one and doomed():  # a step failed and rolled the transaction back
            raise _NotInOne from None
        return _finish(store, order, record, "needs_attention", str(problem), None, delivery_id)
    if in_one and doomed():
        raise _NotInOne
    if in_one:  # a refusal or a duplicate rolls the whole transaction back: the steps below say why
        invoice = post_invoice(draft)
        record_event(OrderBooked(store.id, order.external_id, invoice.id))
        return _finish(store, order, record, "booked", None, invoice, delivery_id)
    try:
        with atomic():  # the invoice, the order's state and the OrderBooked event: one commit
            invoice = post_invoice(draft)
            record_event(OrderBooked(store.id, order.external_id, invoice.id))
            return _finish(store, order, record, "booked", None, invoice, delivery_id)
    except DuplicateDocument as duplicate:
        invoice = db.session.get(SalesInvoice, duplicate.existing_id)
        return _finish(store, order, record, "already_booked", f"already booked as {invoice.number}", invoice,
                       delivery_id)
    except ServiceError as error:
        return _finish(store, order, record, "needs_attention", error.message, None, delivery_id)


class _NotInOne(Exception):
    """Booking the order needs more than one transaction (the store's API, a product created first)."""


class _NeedsAttention(Exception):
    """The order is authentic but cannot be booked as it is; the message says what to fix."""


def _record(store: StoreConnection, order: OrderData) -> tuple[StoreOrder, bool, OrderData]:
    """The order's row, created once (unique per store and external id) and kept up to date;
    whether ``order`` is stale: older than the version kept, which it then does not overwrite (O11);
    and the order to book: one that reached a completed status stays completed (O1) when a newer
    version says otherwise (e.g. refunded), unless it is cancelled."""
    order = _as_completed_once(store, order)
    with atomic():
        insert_ignoring_conflicts(
            StoreOrder,
            [{
                "store_id": store.id, "external_id": order.external_id, "number": order.number,
                "store_status": order.status, "state": "pending", "data": to_json(order),
                "store_modified_at": order.modified_at,
            }],
        )
        record = db.session.execute(
            select(StoreOrder)
            .where(StoreOrder.store_id == store.id, StoreOrder.external_id == order.external_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        if record.invoice_id is not None:
            return record, False, order
        completed = store.settings.get("completed_statuses") or []
        stale = is_stale(
            event_version=order.modified_at, kept_version=record.store_modified_at, event_status=order.status,
            kept_status=record.store_status, completed=completed, cancelled=order.cancelled,
        )
        if not stale and record.store_status in completed and order.status not in completed and not order.cancelled:
            order = dataclasses.replace(order, status=record.store_status)
        if not stale:
            record.store_status = order.status
            record.data = to_json(order)
            record.store_modified_at = newer(order.modified_at, record.store_modified_at)
    return record, stale, order


def _as_completed_once(store: StoreConnection, order: OrderData) -> OrderData:
    """``order`` with the completed status it went through (``reached_statuses``) when its current status is
    not a completed one and it is not cancelled: it was completed, so it is booked (O1), then its returns."""
    completed = store.settings.get("completed_statuses") or []
    if order.status in completed or order.cancelled:
        return order
    reached = next((status for status in order.reached_statuses if status in completed), None)
    return dataclasses.replace(order, status=reached) if reached is not None else order


def _stale(store: StoreConnection, order: OrderData, record: StoreOrder, delivery_id: int | None) -> BookingResult:
    """An older version of the order arrived late: logged, nothing else changes (O11)."""
    def version(moment: object, status: str | None) -> str:
        return f"{moment.isoformat()}, status '{status}'" if hasattr(moment, "isoformat") else f"status '{status}'"

    why = state_reason("stale_event", event=version(order.modified_at, order.status),
                       kept=version(record.store_modified_at, record.store_status))
    with atomic():
        log_event(store.id, "order", "skipped", external_id=order.external_id, reason=why, delivery_id=delivery_id)
    return BookingResult("skipped", order.number, why)


def _refusal(store: StoreConnection, order: OrderData, manual: bool) -> tuple[str, str] | None:
    completed = store.settings.get("completed_statuses") or []
    if order.cancelled:
        return "skipped", "cancelled before it was booked (O10)"
    if order.status not in completed:
        return "skipped", f"status '{order.status}' is not a completed status ({', '.join(completed)})"
    if not manual and store.activated_at is None:
        return "skipped", "the store was never activated; activate it, or send the order by hand (O1, O2)"
    if not manual and order.created_at:
        activated = store.activated_at if store.activated_at.tzinfo else store.activated_at.replace(tzinfo=UTC)
        if order.created_at < activated - CLOCK_SKEW:
            return "skipped", "created before the store was connected; send it by hand to book it (O1, O2)"
    missing = missing_for_booking(store.settings)
    if missing:
        return "needs_attention", f"the store's settings are incomplete: choose {', '.join(missing)}"
    foreign = _foreign_currency(order)
    if foreign:
        return "needs_attention", foreign
    return None


def _foreign_currency(order: OrderData) -> str | None:
    """Why an order in another currency than the company's is held (O5): never booked as if it were
    in the base currency. No currency (empty or ``None``) means the company's."""
    base = refdata.base_currency().strip().upper()
    currency = (order.currency or "").strip().upper()
    if not currency or not base or currency == base:
        return None
    return state_reason("foreign_currency", currency=currency, base=base)


def _with_linked_skus(store: StoreConnection, order: OrderData) -> OrderData:
    """Give a line without SKU the code of the ERP product its store product is linked to (O6 fix:
    once the product has an SKU in the store, its update links it and a re-process books the order).
    Fee lines need no SKU: they are booked against the store-fee product."""
    lines = []
    for line in order.lines:
        if _is_fee(line):
            lines.append(line)
            continue
        product_id = None if line.sku else linked_id(store.id, "product", line.product_external_id)
        product = db.session.get(Product, product_id) if product_id is not None else None
        lines.append(dataclasses.replace(line, sku=product.code) if product is not None else line)
    return dataclasses.replace(order, lines=lines)


def _draft(store: StoreConnection, order: OrderData, api: StoreAPI | None, *, in_one: bool = False) -> InvoiceDraft:
    order = _with_linked_skus(store, order)
    no_sku = [f"line {i} ({line.name})" for i, line in enumerate(order.lines, start=1)
              if not line.sku and not _is_fee(line)]
    if no_sku:
        raise _NeedsAttention(f"{', '.join(no_sku)} has no SKU; give the product an SKU in the store, then re-process the order")
    vat_rate = refdata.vat_rate()
    check = reconcile(order, vat_rate)
    if check.problem:
        raise _NeedsAttention(check.problem)
    product_ids = _line_products(store, order, api, in_one)
    settings = store.settings
    paid = bool(settings.get("create_financial_invoice", True))
    return InvoiceDraft(
        client_id=client_for(store, order.customer),
        branch_id=int(settings["branch_id"]),
        warehouse_id=int(settings["warehouse_id"]),
        date=order.created_at.date() if order.created_at else date.today(),
        status="paid" if paid else "approved",
        prices_include_vat=order.prices_include_vat,
        vat_rate=vat_rate,
        order_discount=order.order_discount,
        shipping=order.shipping,
        rounding=check.rounding,
        payment_account_id=clearing_account(store) if paid else None,
        revenue_account_id=sales_account(store),
        lines=[
            InvoiceLineDraft(product_id, line.quantity, line.unit_price, line.discount, line.name[:300])
            for line, product_id in zip(order.lines, product_ids, strict=True)
        ],
        memo=f"{store.name} order {order.number}",
        reference=order.number,
        external_key=invoice_key(store.id, order.external_id),
    )


def _line_products(store: StoreConnection, order: OrderData, api: StoreAPI | None, in_one: bool) -> list[int]:
    """The ERP product of each line, in order: its SKU's (see :func:`_products`), or for a fee line the
    store-fee product (created on first use)."""
    by_sku = _products(store, order, api, in_one)
    fee = _fee_product() if any(_is_fee(line) for line in order.lines) else None
    return [fee if fee is not None and _is_fee(line) else by_sku[str(line.sku)] for line in order.lines]


def _products(store: StoreConnection, order: OrderData, api: StoreAPI | None, in_one: bool) -> dict[str, int]:
    """Product ids by SKU (the store product's link first, see :func:`product_for_order_line`),
    creating unknown products with an opening balance first (O7); ``in_one``: raising :class:`_NotInOne`
    instead of asking the store's API or creating a product."""
    fetched: dict[str, ProductData | None] = {}

    def store_product(sku: str) -> ProductData | None:
        """The store's product with ``sku`` (asked once per order), only if it really has that SKU."""
        if in_one and api is not None:
            raise _NotInOne
        if sku not in fetched:
            found = _store_product(store, sku, api)
            fetched[sku] = found if found is not None and found.sku == sku else None
        return fetched[sku]

    ids: dict[str, int] = {}
    items = [line for line in order.lines if not _is_fee(line)]
    # In one transaction nothing is created or linked while the lines are matched: read them at once.
    matched = known_products(store.id, items) if in_one else None
    for line in items:
        assert line.sku
        if line.sku in ids:
            continue
        found = product_for_order_line(store, line, store_product, matched)
        if found is None and in_one:
            raise _NotInOne
        if found is None:
            data = store_product(line.sku)
            ordered = sum((other.quantity for other in items if other.sku == line.sku), Decimal(0))
            # The store's quantity is after this sale; the opening balance is what it had before (O7, O8).
            known = data.quantity if data is not None else None
            store_quantity = known if known is not None and known > 0 else Decimal(0)
            # Only the store's own product data links the new product to a store product.
            found = create_from_store(store, data or from_order_line(line), store_quantity + ordered,
                                      link_to_store=data is not None, api=api)
        ids[line.sku] = found
    return ids


def _is_fee(line: OrderLineData) -> bool:
    return line.kind == "fee"


def _fee_product() -> int:
    """The store-fee product (created on first use); held when it cannot take fees (it tracks stock)."""
    try:
        return store_fee_product_id()
    except ServiceError as error:
        raise _NeedsAttention(error.message) from None


def _store_product(store: StoreConnection, sku: str, api: StoreAPI | None) -> ProductData | None:
    if api is None:
        return None
    try:
        return api.fetch_product(sku)
    except StoreAPIError:
        return None


def _finish(
    store: StoreConnection,
    order: OrderData,
    record: StoreOrder,
    outcome: str,
    reason: str | None,
    invoice: SalesInvoice | None,
    delivery_id: int | None,
) -> BookingResult:
    state = {"booked": "booked", "already_booked": "booked", "needs_attention": "needs_attention"}.get(
        outcome, "skipped" if record.invoice_id is None else "booked"
    )
    if state == "skipped" and order.cancelled:
        state = "cancelled"  # O10: an end; a booked order that is cancelled is returned instead
    with atomic():
        fresh = db.session.get(StoreOrder, record.id)
        fresh.state = move(fresh.state, state)
        fresh.reason = reason if outcome != "booked" else None
        if invoice is not None:
            fresh.invoice_id = invoice.id
        documents = []
        if invoice is not None:
            documents.append(document("invoice", invoice))
            documents += [document("payment", p) for p in invoice.payments]
        log_event(
            store.id, "order", {"already_booked": "skipped"}.get(outcome, outcome),
            external_id=order.external_id, reason=reason, documents=documents, delivery_id=delivery_id,
        )
    return BookingResult(
        outcome, order.number, reason, invoice.id if invoice else None, invoice.number if invoice else None
    )

