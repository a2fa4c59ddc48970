"""Categories (a tree) and products (code = SKU)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.base import Timestamped
from core.models.types import Money


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)

    parent: Mapped[Category | None] = relationship(remote_side=[id])


class Product(Timestamped, db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The SKU; products are matched to store products by it.
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_ar: Mapped[str | None] = mapped_column(String(300))
    barcode: Mapped[str | None] = mapped_column(String(100), unique=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    purchase_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    sale_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    stock_tracked: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[Category | None] = relationship()
