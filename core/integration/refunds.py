"""Booking store refunds and returns as return invoices, once (R1–R2, O10)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.integration.results import BookingResult, clearing_account, sales_account, to_json
from core.integration.synclog import document, log_event
from core.models import InvoiceLine, ReturnInvoice, StoreConnection, StoreOrder, StoreRefund
from core.platform.data import RefundData
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
        return _finish(store, refund, record, "skipped", "its order was never booked, so there is nothing to return")
    try:
        draft = _draft(store, refund, order)
    except ValueError as problem:
        return _finish(store, refund, record, "needs_attention", str(problem))
    try:
        with atomic():  # the return, the refund's state and the RefundBooked event: one commit
            return_invoice = post_return(draft)
            record_event(RefundBooked(store.id, refund.external_id, return_invoice.id))
            return _finish(store, refund, record, "booked", None, return_invoice, delivery_id)
    except DuplicateDocument as duplicate:
        return_invoice = db.session.get(ReturnInvoice, duplicate.existing_id)
        return _finish(store, refund, record, "already_booked", f"already booked as {return_invoice.number}",
                       return_invoice, delivery_id)
    except ServiceError as error:
        return _finish(store, refund, record, "needs_attention", error.message, None, delivery_id)


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
        revenue_account_id=sales_account(store),
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
    state = {"booked": "booked", "already_booked": "booked", "needs_attention": "needs_attention"}.get(
        outcome, "skipped"
    )
    with atomic():
        fresh = db.session.get(StoreRefund, record.id)
        fresh.state = state
        fresh.reason = reason if outcome != "booked" else None
        if return_invoice is not None:
            fresh.return_invoice_id = return_invoice.id
        log_event(
            store.id, "refund", {"already_booked": "skipped"}.get(outcome, outcome),
            external_id=refund.external_id, reason=reason, delivery_id=delivery_id,
            documents=[document("return_invoice", return_invoice)] if return_invoice else [],
        )
    return BookingResult(
        outcome, refund.external_id, reason,
        return_invoice.id if return_invoice else None, return_invoice.number if return_invoice else None,
    )
