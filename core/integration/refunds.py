"""Booking store refunds and returns as return invoices, once (R1–R2, O10)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.integration.order_states import move
from core.integration.order_states import reason as state_reason
from core.integration.results import BookingResult, clearing_account, to_json
from core.integration.synclog import document, log_event
from core.models import InvoiceLine, ReturnInvoice, StoreConnection, StoreOrder, StoreRefund
from core.platform.data import RefundData
from core.platform.schemas import RefundSchema
from core.services.domain_events import RefundBooked
from core.services.domain_events import record as record_event
from core.services.errors import DuplicateDocument, ServiceError
from core.services.returns import ReturnDraft, ReturnLineDraft, full_return_lines, post_return
from core.services.transaction import atomic
from core.services.upsert import insert_ignoring_conflicts


def refund_key(store_id: int, external_id: str) -> str:
    return f"store:{store_id}:refund:{external_id}"


def book_refund(store: StoreConnection, refund: RefundData, *, delivery_id: int | None = None) -> BookingResult:
    """Book ``refund`` against the invoice of its order; a second delivery changes nothing (R2)."""
    record = _record(store, refund)
    if record.return_invoice_id is not None:
        done = db.session.get(ReturnInvoice, record.return_invoice_id)
        return BookingResult("already_booked", refund.external_id, f"already booked as {done.number}")
    order = db.session.execute(
        select(StoreOrder).where(StoreOrder.store_id == store.id, StoreOrder.external_id == refund.order_external_id)
    ).scalar_one_or_none()
    if order is None or order.invoice_id is None:
        outcome, why = _unbooked(store, order)
        return _finish(store, refund, record, outcome, why, delivery_id=delivery_id)
    try:
        draft = _draft(store, refund, order)
    except ValueError as problem:
        return _finish(store, refund, record, "needs_attention", str(problem))
    try:
        with atomic():  # the return, the refund's state and the RefundBooked event: one commit
            return_invoice = post_return(draft)
            record_event(RefundBooked(store.id, refund.external_id, return_invoice.id))
            _mark_returned(order)
            return _finish(store, refund, record, "booked", None, return_invoice, delivery_id)
    except DuplicateDocument as duplicate:
        return_invoice = db.session.get(ReturnInvoice, duplicate.existing_id)
        return _finish(store, refund, record, "already_booked", f"already booked as {return_invoice.number}",
                       return_invoice, delivery_id)
    except ServiceError as error:
        return _finish(store, refund, record, "needs_attention", error.message, None, delivery_id)


def _unbooked(store: StoreConnection, order: StoreOrder | None) -> tuple[str, str]:
    """What a refund does while its order is not booked: it waits for it, unless the order was
    cancelled or ignored (O10, O1) before it was booked (O11)."""
    if order is not None and order.state == "cancelled":
        return "skipped", state_reason("order_cancelled")
    completed = store.settings.get("completed_statuses") or []
    if order is not None and order.state == "skipped" and order.store_status in completed:
        return "skipped", state_reason("order_ignored", why=order.reason or "ignored")
    return "waiting", state_reason("order_not_booked")


def settle_refunds(
    store: StoreConnection, order_external_id: str, *, delivery_id: int | None = None, booked: bool = False
) -> list[BookingResult]:
    """Book the refunds that waited for their order once it is booked (once each, R2); skip them
    when it was cancelled before it was booked (O10, O11). ``booked``: the caller has just booked
    the order (its row need not be read)."""
    if not booked:
        order = db.session.execute(
            select(StoreOrder.invoice_id, StoreOrder.state)
            .where(StoreOrder.store_id == store.id, StoreOrder.external_id == order_external_id)
        ).one_or_none()
        if order is None or (order.invoice_id is None and order.state != "cancelled"):
            return []
    held = db.session.execute(
        select(StoreRefund)
        .where(StoreRefund.store_id == store.id, StoreRefund.order_external_id == order_external_id,
               StoreRefund.return_invoice_id.is_(None))
        .order_by(StoreRefund.id)
    ).scalars().all()
    results = []
    for record in held:
        ignored = record.state == "skipped" and (record.reason or "").startswith("order_ignored:")
        # ``pending``: a refund job that read the order just before it was booked may be about to
        # make it wait; booking it here (once, by its unique key) leaves none waiting for nothing.
        if record.state not in ("waiting", "pending") and not ignored:
            continue
        refund = RefundSchema().load(record.data)
        if not booked and order.invoice_id is None:
            results.append(_finish(store, refund, record, "skipped", state_reason("order_cancelled"),
                                   delivery_id=delivery_id))
        else:
            results.append(book_refund(store, refund, delivery_id=delivery_id))
    return results


def _mark_returned(order: StoreOrder) -> None:
    """The order's state after a return: wholly or partly returned (O11)."""
    fresh = db.session.get(StoreOrder, order.id)
    whole = not full_return_lines(order.invoice_id)
    fresh.state = move(fresh.state, "returned" if whole else "partly_returned")


def _record(store: StoreConnection, refund: RefundData) -> StoreRefund:
    with atomic():
        insert_ignoring_conflicts(
            StoreRefund,
            [{
                "store_id": store.id, "external_id": refund.external_id,
                "order_external_id": refund.order_external_id, "state": "pending",
                "data": to_json(refund),
            }],
        )
        record = db.session.execute(
            select(StoreRefund).where(StoreRefund.store_id == store.id, StoreRefund.external_id == refund.external_id)
        ).scalar_one()
    return record


def _draft(store: StoreConnection, refund: RefundData, order: StoreOrder) -> ReturnDraft:
    if refund.whole_order:
        lines = full_return_lines(order.invoice_id)
        if not lines:
            raise ValueError("everything on the invoice has already been returned")
    elif refund.lines:
        lines = _lines(refund, order)
    elif refund.amount is not None:
        lines = []  # R1: a refund that names only an amount books an amount-only credit note
    else:
        raise ValueError("the refund names neither lines nor an amount")
    amount_only = not lines and refund.amount is not None
    return ReturnDraft(
        invoice_id=order.invoice_id,
        lines=lines,
        amount=refund.amount if amount_only else None,
        include_shipping=not amount_only and (refund.whole_order or refund.include_shipping),
        refund_account_id=clearing_account(store),
        reason=f"{store.name} refund {refund.external_id}",
        reference=refund.external_id,
        external_key=refund_key(store.id, refund.external_id),
    )


def _lines(refund: RefundData, order: StoreOrder) -> list[ReturnLineDraft]:
    positions = {str(line["external_id"]): i for i, line in enumerate(order.data["lines"], start=1)}
    invoice_lines = dict(
        db.session.execute(
            select(InvoiceLine.position, InvoiceLine.id).where(InvoiceLine.invoice_id == order.invoice_id)
        ).all()
    )
    drafts = []
    for line in refund.lines:
        position = positions.get(line.line_external_id)
        if position is None or position not in invoice_lines:
            raise ValueError(f"refunded line {line.line_external_id} is not on order {order.number}")
        drafts.append(ReturnLineDraft(invoice_lines[position], line.quantity, line.restock))
    return drafts


def _finish(
    store: StoreConnection,
    refund: RefundData,
    record: StoreRefund,
    outcome: str,
    reason: str | None,
    return_invoice: ReturnInvoice | None = None,
    delivery_id: int | None = None,
) -> BookingResult:
    state = {"booked": "booked", "already_booked": "booked", "needs_attention": "needs_attention",
             "waiting": "waiting"}.get(outcome, "skipped")
    with atomic():
        fresh = db.session.get(StoreRefund, record.id, populate_existing=True)
        if fresh.return_invoice_id is not None and return_invoice is None:
            # Booked meanwhile by its order's job (R2, O11): never back to waiting.
            state, outcome = "booked", "already_booked"
            reason = f"already booked as {db.session.get(ReturnInvoice, fresh.return_invoice_id).number}"
        fresh.state = state
        fresh.reason = reason if outcome != "booked" else None
        if return_invoice is not None:
            fresh.return_invoice_id = return_invoice.id
        log_event(
            store.id, "refund", {"already_booked": "skipped", "waiting": "skipped"}.get(outcome, outcome),
            external_id=refund.external_id, reason=reason, delivery_id=delivery_id,
            documents=[document("return_invoice", return_invoice)] if return_invoice else [],
        )
    return BookingResult(
        outcome, refund.external_id, reason,
        return_invoice.id if return_invoice else None, return_invoice.number if return_invoice else None,
    )
