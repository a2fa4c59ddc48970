"""Return invoices (credit notes) against a sales invoice, and their lines."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.base import Timestamped
from core.models.types import Money, Quantity


class ReturnInvoice(Timestamped, db.Model):
    __tablename__ = "return_invoices"
    __table_args__ = (CheckConstraint("status IN ('approved', 'paid')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    date: Mapped[date] = mapped_column(Date)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sales_invoices.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    #: "paid" when the money went back to the client (a refund voucher exists).
    status: Mapped[str] = mapped_column(String(10))
    includes_shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    lines_net: Mapped[Decimal] = mapped_column(Money)
    discount_net: Mapped[Decimal] = mapped_column(Money)
    shipping_net: Mapped[Decimal] = mapped_column(Money)
    vat_total: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    cost_total: Mapped[Decimal] = mapped_column(Money)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="return_invoice", order_by="ReturnLine.id"
    )
    invoice = relationship("SalesInvoice")


class ReturnLine(db.Model):
    __tablename__ = "return_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_invoice_id: Mapped[int] = mapped_column(ForeignKey("return_invoices.id"), index=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_lines.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    net_amount: Mapped[Decimal] = mapped_column(Money)
    discount_net: Mapped[Decimal] = mapped_column(Money)
    vat_amount: Mapped[Decimal] = mapped_column(Money)
    #: This line's share of the original cost; it goes back to stock (and COGS) only when ``restock``.
    cost_amount: Mapped[Decimal] = mapped_column(Money)
    restock: Mapped[bool] = mapped_column(Boolean, default=True)

    return_invoice: Mapped[ReturnInvoice] = relationship(back_populates="lines")
    product = relationship("Product")
