"""Chart of accounts: a tree of accounts with unique codes."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
DEBIT_NORMAL_TYPES = ("asset", "expense")


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "type IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name="type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Stable role name services look accounts up by ("receivable", "sales", ...).
    key: Mapped[str | None] = mapped_column(String(80), unique=True)

    parent: Mapped[Account | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Account]] = relationship(back_populates="parent")
