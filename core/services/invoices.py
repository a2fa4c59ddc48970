"""Posting sales invoices: revenue, VAT, receivable, stock out and COGS, and payment."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import (
    Account,
    Branch,
    Client,
    InvoiceLine,
    PaymentVoucher,
    Product,
    SalesInvoice,
    Warehouse,
)
from core.money import ZERO, money
from core.services.chart import account_by_key, account_ids, revenue_account
from core.services.company import company_settings
from core.services.errors import DuplicateDocument, Invalid, ServiceError
from core.services.journal import Posting, write_entry
from core.services.lookup import referenced
from core.services.numbering import next_number
from core.services.pricing import PricedLine, compute_invoice_amounts
from core.services.stock import issue, lock_levels
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


def _write_invoice(draft: InvoiceDraft) -> SalesInvoice:
    if draft.status not in ("approved", "paid"):
        raise Invalid("status must be 'approved' or 'paid'.", {"status": ["approved or paid"]})
    client = referenced(Client, draft.client_id, "client_id")
    referenced(Branch, draft.branch_id, "branch_id")
    referenced(Warehouse, draft.warehouse_id, "warehouse_id")
    products = [referenced(Product, line.product_id, f"lines.{i}.product_id") for i, line in enumerate(draft.lines)]
    payment_account = None
    if draft.status == "paid":
        payment_account = (
            referenced(Account, draft.payment_account_id, "payment_account_id")
            if draft.payment_account_id is not None
            else account_by_key("cash")
        )
    vat_rate = draft.vat_rate if draft.vat_rate is not None else company_settings().vat_rate
    amounts = compute_invoice_amounts(
        [PricedLine(line.quantity, line.unit_price, line.discount) for line in draft.lines],
        vat_rate=vat_rate,
        prices_include_vat=draft.prices_include_vat,
        order_discount=draft.order_discount,
        shipping=draft.shipping,
    )

    number = next_number("sales_invoice")
    levels = lock_levels({(p.id, draft.warehouse_id) for p in products if p.stock_tracked})
    lines = []
    for position, (line, product, line_amounts) in enumerate(
        zip(draft.lines, products, amounts.lines, strict=True), start=1
    ):
        cost = ZERO
        if product.stock_tracked:
            movement = issue(
                levels[(product.id, draft.warehouse_id)],
                line.quantity,
                kind="sale",
                source_type="sales_invoice",
                source_number=number,
            )
            cost = -movement.value
        lines.append(
            InvoiceLine(
                position=position,
                product_id=product.id,
                description=line.description or product.name,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
                discount=money(line.discount),
                order_discount_share=line_amounts.order_discount_share,
                net_amount=line_amounts.net_amount,
                discount_net=line_amounts.discount_net,
                vat_amount=line_amounts.vat_amount,
                cost_amount=cost,
            )
        )
    cost_total = sum((line.cost_amount for line in lines), ZERO)

    keys = account_ids(
        "receivable", "sales", "sales_discounts", "shipping_income", "vat_output", "cogs", "inventory", "rounding"
    )
    branch = draft.branch_id
    rounding = money(draft.rounding)
    total = amounts.total + rounding
    if total < 0:
        raise Invalid("The rounding adjustment makes the invoice total negative.", {"rounding": ["too large"]})
    revenue = revenue_account(draft.revenue_account_id, keys["sales"])
    entry = write_entry(
        draft.date,
        [
            Posting(keys["receivable"], debit=total, branch_id=branch),
            Posting(keys["rounding"], credit=max(rounding, ZERO), debit=max(-rounding, ZERO), branch_id=branch),
            Posting(keys["sales_discounts"], debit=amounts.discount_net, branch_id=branch),
            Posting(revenue, credit=amounts.lines_net
                    + amounts.discount_net, branch_id=branch),
            Posting(keys["shipping_income"], credit=amounts.shipping_net, branch_id=branch),
            Posting(keys["vat_output"], credit=amounts.vat_total, branch_id=branch),
            Posting(keys["cogs"], debit=cost_total, branch_id=branch),
            Posting(keys["inventory"], credit=cost_total, branch_id=branch),
        ],
        memo=f"Sales invoice {number} - {client.name}",
        source_type="sales_invoice",
        source_number=number,
    )
    db.session.flush()
    invoice = SalesInvoice(
        number=number,
        date=draft.date,
        client_id=client.id,
        branch_id=draft.branch_id,
        warehouse_id=draft.warehouse_id,
        status=draft.status,
        prices_include_vat=draft.prices_include_vat,
        vat_rate=vat_rate,
        order_discount=money(draft.order_discount),
        shipping=money(draft.shipping),
        lines_net=amounts.lines_net,
        discount_net=amounts.discount_net,
        shipping_net=amounts.shipping_net,
        vat_total=amounts.vat_total,
        rounding=rounding,
        total=total,
        cost_total=cost_total,
        journal_entry_id=entry.id if entry else None,
        memo=draft.memo,
        reference=draft.reference,
        external_key=draft.external_key,
        revenue_account_id=revenue if draft.revenue_account_id is not None else None,
        lines=lines,
    )
    db.session.add(invoice)
    if payment_account is not None and total > 0:
        db.session.flush()
        write_payment(
            invoice_date=draft.date,
            client_id=client.id,
            amount=total,
            account_id=payment_account.id,
            branch_id=branch,
            direction="received",
            invoice_id=invoice.id,
        )
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
    number = next_number("payment_voucher")
    receivable = account_by_key("receivable").id
    money_side, receivable_side = (
        (Posting(account_id, debit=amount, branch_id=branch_id), Posting(receivable, credit=amount, branch_id=branch_id))
        if direction == "received"
        else (Posting(account_id, credit=amount, branch_id=branch_id), Posting(receivable, debit=amount, branch_id=branch_id))
    )
    entry = write_entry(
        invoice_date,
        [money_side, receivable_side],
        memo=f"Payment voucher {number}",
        source_type="payment_voucher",
        source_number=number,
    )
    db.session.flush()
    voucher = PaymentVoucher(
        number=number,
        date=invoice_date,
        client_id=client_id,
        direction=direction,
        invoice_id=invoice_id,
        return_invoice_id=return_invoice_id,
        account_id=account_id,
        amount=amount,
        journal_entry_id=entry.id if entry else None,
    )
    db.session.add(voucher)
    return voucher

