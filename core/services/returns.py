"""Posting return invoices (credit notes) against a sales invoice."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import (
    Account,
    InvoiceLine,
    PaymentVoucher,
    ReturnInvoice,
    ReturnLine,
    SalesInvoice,
)
from core.models.base import utcnow
from core.money import ZERO, money, quantity
from core.services.chart import account_by_role, account_ids, revenue_account
from core.services.errors import DuplicateDocument, Invalid, ServiceError
from core.services.invoices import write_payment
from core.services.journal import Posting, checked_lines, insert_entry
from core.services.lookup import referenced
from core.services.numbering import next_numbers
from core.services.pricing import split_tax
from core.services.refdata import accounts_by_id
from core.services.rows import execute, persistent
from core.services.stock import StockBatch
from core.services.transaction import atomic


@dataclass
class ReturnLineDraft:
    invoice_line_id: int
    quantity: Decimal
    #: False when the goods do not come back to the shelf (damaged, not shipped back).
    restock: bool = True


@dataclass
class ReturnDraft:
    """A return of all or some lines and quantities of one invoice."""

    invoice_id: int
    lines: list[ReturnLineDraft] = field(default_factory=list)
    include_shipping: bool = False
    date: date = field(default_factory=date.today)
    #: Pay the money back with a refund voucher; default: when the invoice was Paid.
    refund: bool | None = None
    refund_account_id: int | None = None
    reason: str | None = None
    reference: str | None = None
    external_key: str | None = None
    #: An amount-only credit note (VAT-inclusive), for a refund that names no lines: no stock
    #: comes back and the amount is split into net and VAT at the invoice's rate.
    amount: Decimal | None = None
    #: The revenue account the return is debited to; default the invoice's own revenue account when it
    #: has one (e.g. a store's), else the ``sales_returns`` role's.
    revenue_account_id: int | None = None


@dataclass
class _Returned:
    quantity: Decimal = ZERO
    net_amount: Decimal = ZERO
    discount_net: Decimal = ZERO
    vat_amount: Decimal = ZERO
    cost_amount: Decimal = ZERO


def post_return(draft: ReturnDraft) -> ReturnInvoice:
    """Post ``draft`` in one transaction; refuses more than what is left to return."""
    try:
        with atomic():
            return_invoice = _write_return(draft)
            db.session.flush()
        return return_invoice
    except (IntegrityError, ServiceError):
        # A retry of a posted document answers 'duplicate' even when stock or
        # quantities have moved on since; the unique key is what guarantees it.
        existing = draft.external_key and db.session.execute(
            select(ReturnInvoice).where(ReturnInvoice.external_key == draft.external_key)
        ).scalar_one_or_none()
        if not existing:
            raise
        raise DuplicateDocument(
            f"A return with key {draft.external_key} exists: {existing.number}.", existing.id
        ) from None


def full_return_lines(invoice_id: int) -> list[ReturnLineDraft]:
    """Drafts returning everything still returnable on an invoice."""
    returned = _returned_so_far(invoice_id)
    lines = db.session.execute(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position)
    ).scalars()
    return [
        ReturnLineDraft(line.id, line.quantity - returned[line.id].quantity)
        for line in lines
        if line.quantity > returned[line.id].quantity
    ]


_RETURNS = ReturnInvoice.__table__
_RETURN_LINES = ReturnLine.__table__
_INSERT_RETURN = insert(_RETURNS).returning(_RETURNS.c.id)
_INSERT_RETURN_LINES = insert(_RETURN_LINES)
_RETURNED = (
    select(
        _RETURN_LINES.c.invoice_line_id, _RETURN_LINES.c.quantity, _RETURN_LINES.c.net_amount,
        _RETURN_LINES.c.discount_net, _RETURN_LINES.c.vat_amount, _RETURN_LINES.c.cost_amount,
    )
    .join_from(_RETURN_LINES, _RETURNS, _RETURN_LINES.c.return_invoice_id == _RETURNS.c.id)
    .where(_RETURNS.c.invoice_id == bindparam("invoice_id"))
)
_SHIPPING_RETURNED = (
    select(_RETURNS.c.id)
    .where(_RETURNS.c.invoice_id == bindparam("invoice_id"), _RETURNS.c.includes_shipping.is_(True))
    .limit(1)
)
_RETURN_ROLES = ("receivable", "sales_returns", "sales_discounts", "shipping_income", "vat_output", "cogs", "inventory")


def _write_return(draft: ReturnDraft) -> ReturnInvoice:
    """Check, compute and write the return with pre-built Core statements; the numbers are taken last."""
    invoice = db.session.execute(
        select(SalesInvoice)
        .where(SalesInvoice.id == draft.invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if invoice is None:
        raise Invalid(
            f"invoice_id: invoice {draft.invoice_id} does not exist.",
            {"invoice_id": [f"invoice {draft.invoice_id} does not exist"]},
        )
    invoice_lines = {line.id: line for line in invoice.lines}
    returned = _returned_so_far(invoice.id)
    shipping_returned = execute(_SHIPPING_RETURNED, {"invoice_id": invoice.id}).first() is not None
    _validate(draft, invoice_lines, returned, shipping_returned)
    if draft.amount is not None:
        _validate_amount(draft, invoice)

    stock = StockBatch(
        invoice.warehouse_id,
        [invoice_lines[line.invoice_line_id].product_id for line in draft.lines if line.restock],
    )
    stock.create_missing_levels()
    lines: list[dict[str, Any]] = []
    for requested in draft.lines:
        source = invoice_lines[requested.invoice_line_id]
        share = _share(source, returned[source.id], quantity(requested.quantity))
        restocked = requested.restock and stock.products[source.product_id].stock_tracked
        if restocked and requested.quantity > 0:
            stock.receive(
                source.product_id, requested.quantity, share.cost_amount, kind="return", source_type="return_invoice"
            )
        lines.append(
            {
                "invoice_line_id": source.id,
                "product_id": source.product_id,
                "quantity": quantity(requested.quantity),
                "net_amount": share.net_amount,
                "discount_net": share.discount_net,
                "vat_amount": share.vat_amount,
                "cost_amount": share.cost_amount,
                "restock": restocked,
            }
        )

    shipping_net = invoice.shipping_net if draft.include_shipping else ZERO
    shipping_vat = invoice.shipping_vat if draft.include_shipping else ZERO
    lines_net = sum((line["net_amount"] for line in lines), ZERO)
    discount_net = sum((line["discount_net"] for line in lines), ZERO)
    vat_total = sum((line["vat_amount"] for line in lines), ZERO) + shipping_vat
    if draft.amount is not None:
        lines_net, vat_total = split_tax(money(draft.amount), invoice.vat_rate, True)
    total = lines_net + shipping_net + vat_total
    cost_total = sum((line["cost_amount"] for line in lines if line["restock"]), ZERO)

    ids = account_ids(*_RETURN_ROLES)
    branch = invoice.branch_id
    entry_lines = checked_lines(
        [
            Posting(revenue_account(draft.revenue_account_id or invoice.revenue_account_id, ids["sales_returns"]), debit=lines_net + discount_net,
                    branch_id=branch),
            Posting(ids["sales_discounts"], credit=discount_net, branch_id=branch),
            Posting(ids["shipping_income"], debit=shipping_net, branch_id=branch),
            Posting(ids["vat_output"], debit=vat_total, branch_id=branch),
            Posting(ids["receivable"], credit=total, branch_id=branch),
            Posting(ids["inventory"], debit=cost_total, branch_id=branch),
            Posting(ids["cogs"], credit=cost_total, branch_id=branch),
        ],
        "return_invoice",
        accounts_by_id,
    )
    refund = draft.refund if draft.refund is not None else invoice.status == "paid"
    refund_account = _refund_account(draft, invoice) if refund and total > 0 else None

    # Everything is checked: take the numbers (locking the sequence rows until commit) and write.
    if entry_lines is None:
        [number] = next_numbers("return_invoice")
    else:
        number, entry_number = next_numbers("return_invoice", "journal_entry")
    now = utcnow()
    stock.write(number, now)
    entry_id = None
    if entry_lines is not None:
        entry_id = insert_entry(
            entry_number, draft.date, entry_lines, memo=f"Return invoice {number} against {invoice.number}",
            source_type="return_invoice", source_number=number, created_at=now,
        )
    row = {
        "number": number,
        "date": draft.date,
        "invoice_id": invoice.id,
        "client_id": invoice.client_id,
        "branch_id": invoice.branch_id,
        "warehouse_id": invoice.warehouse_id,
        "status": "paid" if refund else "approved",
        "includes_shipping": draft.include_shipping,
        "lines_net": lines_net,
        "discount_net": discount_net,
        "shipping_net": shipping_net,
        "vat_total": vat_total,
        "total": total,
        "cost_total": cost_total,
        "journal_entry_id": entry_id,
        "reason": draft.reason,
        "reference": draft.reference,
        "external_key": draft.external_key,
        "created_at": now,
    }
    return_id: int = execute(_INSERT_RETURN, row).scalar_one()
    if lines:
        execute(_INSERT_RETURN_LINES, [{"return_invoice_id": return_id, **line} for line in lines])
    return_invoice = persistent(ReturnInvoice, {"id": return_id, **row})
    if refund_account is not None:
        write_payment(
            invoice_date=draft.date,
            client_id=invoice.client_id,
            amount=total,
            account_id=refund_account,
            branch_id=branch,
            direction="refunded",
            return_invoice_id=return_id,
        )
    return return_invoice


def _validate(
    draft: ReturnDraft,
    invoice_lines: dict[int, InvoiceLine],
    returned: dict[int, _Returned],
    shipping_returned: bool,
) -> None:
    problems: dict[str, list[str]] = {}
    seen: set[int] = set()
    for index, line in enumerate(draft.lines):
        source = invoice_lines.get(line.invoice_line_id)
        if source is None:
            problems[f"lines.{index}.invoice_line_id"] = [
                f"line {line.invoice_line_id} is not on this invoice"
            ]
            continue
        if line.invoice_line_id in seen:
            problems[f"lines.{index}.invoice_line_id"] = ["the same invoice line is listed twice"]
        seen.add(line.invoice_line_id)
        left = source.quantity - returned[source.id].quantity
        if quantity(line.quantity) <= 0:
            problems[f"lines.{index}.quantity"] = ["must be greater than 0"]
        elif quantity(line.quantity) > left:
            problems[f"lines.{index}.quantity"] = [
                f"only {left} of {source.quantity} left to return on line {source.position}"
            ]
    if draft.include_shipping and shipping_returned:
        problems["include_shipping"] = ["the shipping fee has already been returned"]
    if not draft.lines and not draft.include_shipping and draft.amount is None:
        problems["lines"] = ["return at least one line or the shipping fee, or give an amount"]
    if problems:
        raise Invalid("The return is not valid.", problems)


def _validate_amount(draft: ReturnDraft, invoice: SalesInvoice) -> None:
    """An amount-only credit note names no lines and stays within what is left of the invoice."""
    if draft.lines or draft.include_shipping:
        raise Invalid("An amount-only credit note names no lines.", {"amount": ["give lines or an amount, not both"]})
    credited = db.session.execute(
        select(func.coalesce(func.sum(ReturnInvoice.total), 0)).where(ReturnInvoice.invoice_id == invoice.id)
    ).scalar_one()
    left = invoice.total - money(credited)
    if money(draft.amount) <= 0 or money(draft.amount) > left:
        raise Invalid("The credit note amount is not valid.",
                      {"amount": [f"must be more than 0 and at most {left}, what is left of {invoice.number}"]})


def _returned_so_far(invoice_id: int) -> defaultdict[int, _Returned]:
    totals: defaultdict[int, _Returned] = defaultdict(_Returned)
    for row in execute(_RETURNED, {"invoice_id": invoice_id}):
        so_far = totals[row.invoice_line_id]
        so_far.quantity += row.quantity
        so_far.net_amount += row.net_amount
        so_far.discount_net += row.discount_net
        so_far.vat_amount += row.vat_amount
        so_far.cost_amount += row.cost_amount
    return totals


def _share(line: InvoiceLine, returned: _Returned, qty: Decimal) -> _Returned:
    """The part of a line's amounts that ``qty`` returns; the last part takes what is left."""
    if qty + returned.quantity == line.quantity:
        return _Returned(
            qty,
            line.net_amount - returned.net_amount,
            line.discount_net - returned.discount_net,
            line.vat_amount - returned.vat_amount,
            line.cost_amount - returned.cost_amount,
        )
    ratio = qty / line.quantity
    return _Returned(
        qty,
        money(line.net_amount * ratio),
        money(line.discount_net * ratio),
        money(line.vat_amount * ratio),
        money(line.cost_amount * ratio),
    )


def _refund_account(draft: ReturnDraft, invoice: SalesInvoice) -> int:
    if draft.refund_account_id is not None:
        return referenced(Account, draft.refund_account_id, "refund_account_id").id
    paid_to = db.session.execute(
        select(PaymentVoucher.account_id).where(
            PaymentVoucher.invoice_id == invoice.id, PaymentVoucher.direction == "received"
        )
    ).scalar()
    return paid_to if paid_to is not None else account_by_role("cash")
