"""Posting sales invoices: revenue, VAT, receivable, stock out and COGS, and payment."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from core.extensions import db
from core.models import Branch, Client, InvoiceLine, PaymentVoucher, SalesInvoice, Warehouse
from core.models.base import utcnow
from core.money import ZERO, money
from core.services.chart import account_by_role, account_ids, revenue_account
from core.services.errors import DuplicateDocument, Invalid, ServiceError
from core.services.journal import Posting, checked_lines, insert_entry
from core.services.numbering import next_numbers
from core.services.pricing import PricedLine, compute_invoice_amounts
from core.services.refdata import accounts_by_id
from core.services.refdata import vat_rate as company_vat_rate
from core.services.rows import execute, persistent
from core.services.stock import StockBatch, products_with_levels
from core.services.transaction import atomic


@dataclass
class InvoiceLineDraft:
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = ZERO
    description: str | None = None


@dataclass
class InvoiceDraft:
    """Everything needed to post a sales invoice."""

    client_id: int
    branch_id: int
    warehouse_id: int
    lines: list[InvoiceLineDraft]
    date: date = field(default_factory=date.today)
    status: str = "approved"
    prices_include_vat: bool = False
    vat_rate: Decimal | None = None
    order_discount: Decimal = ZERO
    shipping: Decimal = ZERO
    #: Difference to a store's total, within tolerance, booked to the rounding account (O5).
    rounding: Decimal = ZERO
    #: Where a Paid invoice's money goes (cash, bank, clearing); default cash.
    payment_account_id: int | None = None
    #: The revenue account credited with the sales (e.g. a store's own); default the ``sales`` role's.
    revenue_account_id: int | None = None
    memo: str | None = None
    reference: str | None = None
    external_key: str | None = None


def post_invoice(draft: InvoiceDraft) -> SalesInvoice:
    """Post ``draft`` in one transaction and return the invoice.

    Raises :class:`DuplicateDocument` when ``external_key`` was booked before
    (nothing is written), :class:`Invalid` or :class:`InsufficientStock` otherwise.
    """
    try:
        with atomic():
            invoice = _write_invoice(draft)
            db.session.flush()
        return invoice
    except (IntegrityError, ServiceError):
        # A retry of a posted document answers 'duplicate' even when stock or
        # quantities have moved on since; the unique key is what guarantees it.
        existing = _invoice_with_key(draft.external_key)
        if existing is None:
            raise
        raise DuplicateDocument(
            f"An invoice with key {draft.external_key} exists: {existing.number}.", existing.id
        ) from None


def _invoice_with_key(key: str | None) -> SalesInvoice | None:
    if key is None:
        return None
    return db.session.execute(
        select(SalesInvoice).where(SalesInvoice.external_key == key)
    ).scalar_one_or_none()


_CLIENTS, _BRANCHES, _WAREHOUSES = Client.__table__.c, Branch.__table__.c, Warehouse.__table__.c
#: The client's name (for the memo) and whether the branch and warehouse exist, in one statement.
_PARTY_COLUMNS = (
    select(_CLIENTS.name).where(_CLIENTS.id == bindparam("client_id")).scalar_subquery().label("client"),
    exists().where(_BRANCHES.id == bindparam("branch_id")).label("branch"),
    exists().where(_WAREHOUSES.id == bindparam("warehouse_id")).label("warehouse"),
)
_PARTIES = select(*_PARTY_COLUMNS)


@lru_cache(maxsize=64)
def _products_and_parties(count: int) -> Select[Any]:
    """The document's products, their stock levels (locked) and the parties, in one statement."""
    return products_with_levels(count).add_columns(*_PARTY_COLUMNS)

_INVOICES = SalesInvoice.__table__
_INSERT_INVOICE = insert(_INVOICES).returning(_INVOICES.c.id)
_INSERT_LINES = insert(InvoiceLine.__table__)
_VOUCHERS = PaymentVoucher.__table__
_INSERT_VOUCHER = insert(_VOUCHERS).returning(_VOUCHERS.c.id)
#: The account roles an invoice posts to (callers that prepare several documents may read them ahead).
INVOICE_ROLES = ("receivable", "sales", "sales_discounts", "shipping_income", "vat_output", "cogs", "inventory", "rounding")
_VAT_RATE_PLACES = Decimal("0.0001")


def _missing(field: str, model: str, row_id: object) -> Invalid:
    return Invalid(f"{field}: {model} {row_id} does not exist.", {field: [f"{model} {row_id} does not exist"]})


def _write_invoice(draft: InvoiceDraft) -> SalesInvoice:
    """Check, compute and write the invoice with pre-built Core statements (about ten of them).

    Reads first (parties, then the products with their stock levels locked in product order), the
    document numbers last, so the sequence rows are locked for as short a time as possible.
    """
    if draft.status not in ("approved", "paid"):
        raise Invalid("status must be 'approved' or 'paid'.", {"status": ["approved or paid"]})
    db.session.flush()  # ORM rows of the caller's transaction, before the Core statements below
    stock = StockBatch(
        draft.warehouse_id, [line.product_id for line in draft.lines], _products_and_parties,
        client_id=draft.client_id, branch_id=draft.branch_id,
    )
    parties = stock.first_row or execute(
        _PARTIES, {"client_id": draft.client_id, "branch_id": draft.branch_id, "warehouse_id": draft.warehouse_id}
    ).one()
    if parties.client is None:
        raise _missing("client_id", "Client", draft.client_id)
    if not parties.branch:
        raise _missing("branch_id", "Branch", draft.branch_id)
    if not parties.warehouse:
        raise _missing("warehouse_id", "Warehouse", draft.warehouse_id)
    for i, line in enumerate(draft.lines):
        if line.product_id not in stock.products:
            raise _missing(f"lines.{i}.product_id", "Product", line.product_id)
    stock.create_missing_levels()
    payment_account: int | None = None
    if draft.status == "paid":
        if draft.payment_account_id is not None:
            if draft.payment_account_id not in accounts_by_id([draft.payment_account_id]):
                raise _missing("payment_account_id", "Account", draft.payment_account_id)
            payment_account = draft.payment_account_id
        else:
            payment_account = account_by_role("cash")
    vat_rate = draft.vat_rate if draft.vat_rate is not None else company_vat_rate()
    amounts = compute_invoice_amounts(
        [PricedLine(line.quantity, line.unit_price, line.discount) for line in draft.lines],
        vat_rate=vat_rate,
        prices_include_vat=draft.prices_include_vat,
        order_discount=draft.order_discount,
        shipping=draft.shipping,
    )

    costs = [
        stock.issue(line.product_id, line.quantity, kind="sale", source_type="sales_invoice")
        if stock.products[line.product_id].stock_tracked
        else ZERO
        for line in draft.lines
    ]
    cost_total = sum(costs, ZERO)

    keys = account_ids(*INVOICE_ROLES)
    branch = draft.branch_id
    rounding = money(draft.rounding)
    total = amounts.total + rounding
    if total < 0:
        raise Invalid("The rounding adjustment makes the invoice total negative.", {"rounding": ["too large"]})
    revenue = revenue_account(draft.revenue_account_id, keys["sales"])
    entry_lines = checked_lines(
        [
            Posting(keys["receivable"], debit=total, branch_id=branch),
            Posting(keys["rounding"], credit=max(rounding, ZERO), debit=max(-rounding, ZERO), branch_id=branch),
            Posting(keys["sales_discounts"], debit=amounts.discount_net, branch_id=branch),
            Posting(revenue, credit=amounts.lines_net + amounts.discount_net, branch_id=branch),
            Posting(keys["shipping_income"], credit=amounts.shipping_net, branch_id=branch),
            Posting(keys["vat_output"], credit=amounts.vat_total, branch_id=branch),
            Posting(keys["cogs"], debit=cost_total, branch_id=branch),
            Posting(keys["inventory"], credit=cost_total, branch_id=branch),
        ],
        "sales_invoice",
        accounts_by_id,
    )

    # Everything is checked: take the numbers (locking the sequence rows until commit) and write.
    if entry_lines is None:
        [number] = next_numbers("sales_invoice")
    else:
        number, entry_number = next_numbers("sales_invoice", "journal_entry")
    now = utcnow()
    stock.write(number, now)
    entry_id = None
    if entry_lines is not None:
        entry_id = insert_entry(
            entry_number, draft.date, entry_lines, memo=f"Sales invoice {number} - {parties.client}",
            source_type="sales_invoice", source_number=number, created_at=now,
        )
    row = {
        "number": number,
        "date": draft.date,
        "client_id": draft.client_id,
        "branch_id": draft.branch_id,
        "warehouse_id": draft.warehouse_id,
        "status": draft.status,
        "prices_include_vat": draft.prices_include_vat,
        "vat_rate": Decimal(vat_rate).quantize(_VAT_RATE_PLACES),
        "order_discount": money(draft.order_discount),
        "shipping": money(draft.shipping),
        "lines_net": amounts.lines_net,
        "discount_net": amounts.discount_net,
        "shipping_net": amounts.shipping_net,
        "vat_total": amounts.vat_total,
        "rounding": rounding,
        "total": total,
        "cost_total": cost_total,
        "journal_entry_id": entry_id,
        "memo": draft.memo,
        "reference": draft.reference,
        "external_key": draft.external_key,
        "revenue_account_id": revenue if draft.revenue_account_id is not None else None,
        "created_at": now,
    }
    invoice_id: int = execute(_INSERT_INVOICE, row).scalar_one()
    if draft.lines:
        execute(
            _INSERT_LINES,
            [
                {
                    "invoice_id": invoice_id,
                    "position": position,
                    "product_id": line.product_id,
                    "description": line.description or stock.products[line.product_id].name,
                    "quantity": line.quantity,
                    "unit_price": money(line.unit_price),
                    "discount": money(line.discount),
                    "order_discount_share": line_amounts.order_discount_share,
                    "net_amount": line_amounts.net_amount,
                    "discount_net": line_amounts.discount_net,
                    "vat_amount": line_amounts.vat_amount,
                    "cost_amount": cost,
                }
                for position, (line, line_amounts, cost) in enumerate(
                    zip(draft.lines, amounts.lines, costs, strict=True), start=1
                )
            ],
        )
    invoice = persistent(SalesInvoice, {"id": invoice_id, **row})
    payments: list[PaymentVoucher] = []
    if payment_account is not None and total > 0:
        payments.append(write_payment(
            invoice_date=draft.date,
            client_id=draft.client_id,
            amount=total,
            account_id=payment_account,
            branch_id=branch,
            direction="received",
            invoice_id=invoice_id,
        ))
    set_committed_value(invoice, "payments", payments)  # known: no query when the caller asks
    return invoice


def write_payment(
    *,
    invoice_date: date,
    client_id: int,
    amount: Decimal,
    account_id: int,
    branch_id: int | None,
    direction: str,
    invoice_id: int | None = None,
    return_invoice_id: int | None = None,
) -> PaymentVoucher:
    """Add a payment voucher and its entry to the current transaction.

    ``received``: money account debited, receivable credited; ``refunded``: the reverse.
    """
    db.session.flush()
    receivable = account_by_role("receivable")
    money_side, receivable_side = (
        (Posting(account_id, debit=amount, branch_id=branch_id), Posting(receivable, credit=amount, branch_id=branch_id))
        if direction == "received"
        else (Posting(account_id, credit=amount, branch_id=branch_id), Posting(receivable, debit=amount, branch_id=branch_id))
    )
    lines = checked_lines([money_side, receivable_side], "payment_voucher", accounts_by_id)
    if lines is None:
        [number] = next_numbers("payment_voucher")
    else:
        number, entry_number = next_numbers("payment_voucher", "journal_entry")
    now = utcnow()
    entry_id = None
    if lines is not None:
        entry_id = insert_entry(
            entry_number, invoice_date, lines, memo=f"Payment voucher {number}",
            source_type="payment_voucher", source_number=number, created_at=now,
        )
    row = {
        "number": number,
        "date": invoice_date,
        "client_id": client_id,
        "direction": direction,
        "invoice_id": invoice_id,
        "return_invoice_id": return_invoice_id,
        "account_id": account_id,
        "amount": money(amount),
        "journal_entry_id": entry_id,
        "created_at": now,
    }
    voucher_id: int = execute(_INSERT_VOUCHER, row).scalar_one()
    return persistent(PaymentVoucher, {"id": voucher_id, **row})
