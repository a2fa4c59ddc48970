"""Read-only reports: trial balance, account ledger, stock on hand, stock card."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.models import Account, JournalEntry, JournalLine, StockLevel, StockMovement
from core.models.accounts import DEBIT_NORMAL_TYPES
from core.money import ZERO


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit minus credit."""
        return self.debit - self.credit


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal

    @property
    def difference(self) -> Decimal:
        return self.total_debit - self.total_credit


def trial_balance(as_of: date | None = None) -> TrialBalance:
    """Debit and credit totals per account with postings (up to ``as_of``)."""
    query = (
        select(
            JournalLine.account_id,
            func.coalesce(func.sum(JournalLine.debit), 0),
            func.coalesce(func.sum(JournalLine.credit), 0),
        )
        .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .group_by(JournalLine.account_id)
    )
    if as_of is not None:
        query = query.where(JournalEntry.date <= as_of)
    sums = {account_id: (Decimal(d), Decimal(c)) for account_id, d, c in db.session.execute(query)}
    accounts = db.session.execute(
        select(Account).where(Account.id.in_(sums)).order_by(Account.code)
    ).scalars()
    rows = [TrialBalanceRow(a, *_as_money(*sums[a.id])) for a in accounts]
    return TrialBalance(
        rows=rows,
        total_debit=sum((r.debit for r in rows), ZERO),
        total_credit=sum((r.credit for r in rows), ZERO),
    )


def _as_money(debit: Decimal, credit: Decimal) -> tuple[Decimal, Decimal]:
    return Decimal(debit).quantize(Decimal("0.01")), Decimal(credit).quantize(Decimal("0.01"))


def account_balance(account_id: int) -> Decimal:
    """Debit minus credit of one account over all posted entries."""
    debit, credit = db.session.execute(
        select(
            func.coalesce(func.sum(JournalLine.debit), 0),
            func.coalesce(func.sum(JournalLine.credit), 0),
        ).where(JournalLine.account_id == account_id)
    ).one()
    d, c = _as_money(debit, credit)
    return d - c


@dataclass(frozen=True)
class LedgerRow:
    entry: JournalEntry
    line: JournalLine
    balance: Decimal


def account_ledger(
    account: Account, date_from: date | None = None, date_to: date | None = None
) -> tuple[Decimal, list[LedgerRow]]:
    """Opening balance before ``date_from`` and each posting with the running balance.

    Balances are shown on the account's normal side (debit for assets and
    expenses, credit for the others).
    """
    sign = 1 if account.type in DEBIT_NORMAL_TYPES else -1
    base = (
        select(JournalEntry, JournalLine)
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == account.id)
    )
    opening = ZERO
    if date_from is not None:
        debit, credit = db.session.execute(
            select(
                func.coalesce(func.sum(JournalLine.debit), 0),
                func.coalesce(func.sum(JournalLine.credit), 0),
            )
            .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
            .where(JournalLine.account_id == account.id, JournalEntry.date < date_from)
        ).one()
        d, c = _as_money(debit, credit)
        opening = sign * (d - c)
        base = base.where(JournalEntry.date >= date_from)
    if date_to is not None:
        base = base.where(JournalEntry.date <= date_to)
    running = opening
    rows = []
    for entry, line in db.session.execute(base.order_by(JournalEntry.date, JournalEntry.id, JournalLine.id)):
        running += sign * (line.debit - line.credit)
        rows.append(LedgerRow(entry, line, running))
    return opening, rows


def stock_levels(
    warehouse_id: int | None = None, product_id: int | None = None
) -> list[StockLevel]:
    """On-hand quantity and value per product and warehouse."""
    query = select(StockLevel).order_by(StockLevel.product_id, StockLevel.warehouse_id)
    if warehouse_id is not None:
        query = query.where(StockLevel.warehouse_id == warehouse_id)
    if product_id is not None:
        query = query.where(StockLevel.product_id == product_id)
    return list(db.session.execute(query).scalars())


def stock_card(product_id: int, warehouse_id: int | None = None) -> list[tuple[StockMovement, Decimal]]:
    """Each movement of a product with the running on-hand quantity."""
    query = select(StockMovement).where(StockMovement.product_id == product_id)
    if warehouse_id is not None:
        query = query.where(StockMovement.warehouse_id == warehouse_id)
    running = Decimal("0.000")
    card = []
    for movement in db.session.execute(query.order_by(StockMovement.id)).scalars():
        running += movement.quantity
        card.append((movement, running))
    return card
