"""Journal entries and their lines; posted rows are immutable."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.base import Timestamped
from core.models.types import Money


class JournalEntry(Timestamped, db.Model):
    __tablename__ = "journal_entries"
    #: Entries of a period in ledger order (reports filter and sort by date, then id).
    __table_args__ = (Index("ix_journal_entries_date_id", "date", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    date: Mapped[date] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(String(500))
    #: What produced the entry: "manual", "sales_invoice", "payment_voucher", ...
    source_type: Mapped[str] = mapped_column(String(40), default="manual")
    #: Number of the source document (INV-000001, ...); None for manual entries.
    source_number: Mapped[str | None] = mapped_column(String(30), index=True)
    #: Set on a reversing entry; unique so an entry is reversed at most once.
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), unique=True
    )

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id"
    )


class JournalLine(db.Model):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0", name="non_negative"),
        CheckConstraint("debit = 0 OR credit = 0", name="one_side"),
        #: An account's lines with their amounts: ledgers, balances and the trial balance read
        #: only this index (it replaces the plain index on account_id).
        Index("ix_journal_lines_account_ledger", "account_id", "entry_id", "id", "debit", "credit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    debit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    memo: Mapped[str | None] = mapped_column(String(500))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account = relationship("Account")


class ImmutableRowError(RuntimeError):
    """Raised when code tries to change or delete a posted row."""


def forbid_changes(model: type) -> None:
    """Make the ORM refuse updates and deletes of ``model`` rows."""

    def refuse(_mapper, _connection, target):  # type: ignore[no-untyped-def]
        raise ImmutableRowError(f"{type(target).__name__} {target.id} is posted and cannot change")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)


forbid_changes(JournalEntry)
forbid_changes(JournalLine)
