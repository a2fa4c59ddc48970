"""Company settings: one row holding name, VAT number, currency and VAT rate."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.types import Fixed


class CompanySettings(db.Model):
    __tablename__ = "company_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="My company")
    vat_number: Mapped[str | None] = mapped_column(String(30))
    base_currency: Mapped[str] = mapped_column(String(3), default="SAR")
    vat_rate: Mapped[Decimal] = mapped_column(Fixed(4), default=Decimal("0.1500"))
