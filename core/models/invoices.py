"""Sales invoices, their lines, and payment vouchers."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.base import Timestamped
from core.models.types import Fixed, Money, Quantity

INVOICE_STATUSES = ("approved", "paid")


class SalesInvoice(Timestamped, db.Model):
    __tablename__ = "sales_invoices"
    __table_args__ = (CheckConstraint("status IN ('approved', 'paid')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    date: Mapped[date] = mapped_column(Date)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(10))
    prices_include_vat: Mapped[bool] = mapped_column(Boolean)
    vat_rate: Mapped[Decimal] = mapped_column(Fixed(4))
    #: Order-level discount as entered (same VAT basis as the prices).
    order_discount: Mapped[Decimal] = mapped_column(Money)
    #: Shipping fee as entered (same VAT basis as the prices).
    shipping: Mapped[Decimal] = mapped_column(Money)
    lines_net: Mapped[Decimal] = mapped_column(Money)
    discount_net: Mapped[Decimal] = mapped_column(Money)
    shipping_net: Mapped[Decimal] = mapped_column(Money)
    vat_total: Mapped[Decimal] = mapped_column(Money)
    #: Store-total difference within tolerance, booked to the rounding account (O5).
    rounding: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    total: Mapped[Decimal] = mapped_column(Money)
    cost_total: Mapped[Decimal] = mapped_column(Money)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    memo: Mapped[str | None] = mapped_column(String(500))
    #: Free reference shown to people, e.g. the store order number.
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    #: Caller's idempotency key: the same key never books a second invoice.
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: The invoice's own revenue account (e.g. a store's), which its returns debit; ``None``: the ``sales`` role's.
    revenue_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position"
    )
    client = relationship("Client")
    payments: Mapped[list[PaymentVoucher]] = relationship(
        back_populates="invoice", foreign_keys="PaymentVoucher.invoice_id"
    )

    @property
    def shipping_vat(self) -> Decimal:
        lines_vat = sum((line.vat_amount for line in self.lines), Decimal("0"))
        return self.vat_total - lines_vat


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sales_invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    description: Mapped[str | None] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    #: Line discount as entered (same VAT basis as the price).
    discount: Mapped[Decimal] = mapped_column(Money)
    #: This line's share of the order-level discount (same basis).
    order_discount_share: Mapped[Decimal] = mapped_column(Money)
    #: Taxable amount after both discounts, excluding VAT.
    net_amount: Mapped[Decimal] = mapped_column(Money)
    #: Both discounts, excluding VAT (net_amount + discount_net = gross sales).
    discount_net: Mapped[Decimal] = mapped_column(Money)
    vat_amount: Mapped[Decimal] = mapped_column(Money)
    #: Cost of goods sold for this line at the moving-average cost.
    cost_amount: Mapped[Decimal] = mapped_column(Money)

    invoice: Mapped[SalesInvoice] = relationship(back_populates="lines")
    product = relationship("Product")


class PaymentVoucher(Timestamped, db.Model):
    __tablename__ = "payment_vouchers"
    __table_args__ = (
        CheckConstraint("direction IN ('received', 'refunded')", name="direction"),
        CheckConstraint("amount > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    date: Mapped[date] = mapped_column(Date)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: "received" settles an invoice; "refunded" pays back a return.
    direction: Mapped[str] = mapped_column(String(10))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sales_invoices.id"), index=True)
    return_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_invoices.id"), index=True
    )
    #: Cash, bank or a payment clearing account.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))

    invoice: Mapped[SalesInvoice | None] = relationship(
        back_populates="payments", foreign_keys=[invoice_id]
    )
