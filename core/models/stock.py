"""Stock movements (the truth) and stock levels (their running totals, locked on write)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.base import Timestamped
from core.models.journal import forbid_changes
from core.models.types import Money, Quantity, UnitCost

MOVEMENT_KINDS = ("opening_balance", "inbound_requisition", "sale", "return", "adjustment")


class StockMovement(Timestamped, db.Model):
    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('opening_balance', 'inbound_requisition', 'sale', 'return', 'adjustment')",
            name="kind",
        ),
        #: A product's stock card in order with the running quantity, read from the index alone
        #: (it replaces the plain index on product_id).
        Index("ix_stock_movements_product_card", "product_id", "id", "warehouse_id", "quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    #: Signed: positive in, negative out.
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_cost: Mapped[Decimal] = mapped_column(UnitCost)
    #: Signed value moved in or out of the inventory account (2 places).
    value: Mapped[Decimal] = mapped_column(Money)
    kind: Mapped[str] = mapped_column(String(30))
    source_type: Mapped[str] = mapped_column(String(40))
    source_number: Mapped[str] = mapped_column(String(30), index=True)

    product = relationship("Product")
    warehouse = relationship("Warehouse")


class StockLevel(db.Model):
    """On-hand quantity and value per product and warehouse.

    Kept in step with the movements by :mod:`core.services.stock` inside the same
    transaction; its row is the lock that serialises writers of one product.
    """

    __tablename__ = "stock_levels"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))

    @property
    def average_cost(self) -> Decimal:
        if not self.quantity:
            return Decimal("0")
        return self.value / self.quantity


forbid_changes(StockMovement)
