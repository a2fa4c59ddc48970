"""Inbound requisitions and opening balances: stock coming in at a cost."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.base import Timestamped
from core.models.types import Money, Quantity, UnitCost

REQUISITION_KINDS = ("inbound_requisition", "opening_balance")


class InboundRequisition(Timestamped, db.Model):
    __tablename__ = "inbound_requisitions"
    __table_args__ = (
        CheckConstraint("kind IN ('inbound_requisition', 'opening_balance')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    #: Credited against inventory: opening balance equity, goods received, cash...
    counter_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    total: Mapped[Decimal] = mapped_column(Money)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    memo: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100))
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    lines: Mapped[list[InboundLine]] = relationship(
        back_populates="requisition", order_by="InboundLine.id"
    )


class InboundLine(db.Model):
    __tablename__ = "inbound_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_requisitions.id"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_cost: Mapped[Decimal] = mapped_column(UnitCost)
    amount: Mapped[Decimal] = mapped_column(Money)
    #: A line's own unique key: a store's opening balance of one product, booked with others (O7, O8).
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    requisition: Mapped[InboundRequisition] = relationship(back_populates="lines")
    product = relationship("Product")
