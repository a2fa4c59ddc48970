"""Read-only reports: trial balance, account ledger, stock on hand, stock card."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select, type_coerce

from core.extensions import db
from core.models import Account, JournalEntry, JournalLine, StockLevel, StockMovement
from core.models.accounts import DEBIT_NORMAL_TYPES
from core.models.types import Money, Quantity
from core.money import ZERO

QUANTITY_ZERO = Decimal("0.000")


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
    """Debit and credit totals per account with postings (up to ``as_of``), summed in SQL.

    Entries are joined only to filter by ``as_of``; without a date the sums read the lines alone.
    """
    query = select(
        JournalLine.account_id,
        func.coalesce(func.sum(JournalLine.debit), 0),
        func.coalesce(func.sum(JournalLine.credit), 0),
    ).group_by(JournalLine.account_id)
    if as_of is not None:
        query = query.join(JournalEntry, JournalLine.entry_id == JournalEntry.id).where(JournalEntry.date <= as_of)
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


@dataclass(frozen=True)
class LedgerPage:
    """One page of an account's postings in a period, with the period's figures.

    ``opening`` is the balance before ``date_from``, ``closing`` the balance at ``date_to``
    (both on the account's normal side); ``total_debit``/``total_credit``/``count`` cover the
    whole period, not just the page.
    """

    opening: Decimal
    closing: Decimal
    total_debit: Decimal
    total_credit: Decimal
    count: int
    rows: list[LedgerRow]


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(Decimal("0.01"))


def _period(date_from: date | None, date_to: date | None) -> ColumnElement[bool] | None:
    """The condition on the entry's date for postings inside the period (None: all dates)."""
    conditions = []
    if date_from is not None:
        conditions.append(JournalEntry.date >= date_from)
    if date_to is not None:
        conditions.append(JournalEntry.date <= date_to)
    return and_(*conditions) if conditions else None


def _ledger_figures(account_id: int, date_from: date | None, date_to: date | None) -> tuple[int, Decimal, Decimal, Decimal]:
    """Postings in the period, their debit and credit, and debit minus credit before it: one pass."""
    in_period = _period(date_from, date_to)
    if in_period is None:
        count, debit, credit = db.session.execute(
            select(func.count(), func.sum(JournalLine.debit), func.sum(JournalLine.credit))
            .where(JournalLine.account_id == account_id)
        ).one()
        return count, _money(debit), _money(credit), ZERO
    net = type_coerce(JournalLine.debit - JournalLine.credit, Money)
    before = JournalEntry.date < date_from if date_from is not None else literal(False)
    count, debit, credit, earlier = db.session.execute(
        select(
            func.count(case((in_period, 1))),
            func.sum(case((in_period, JournalLine.debit))),
            func.sum(case((in_period, JournalLine.credit))),
            type_coerce(func.sum(case((before, net))), Money),
        )
        .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == account_id)
    ).one()
    return count, _money(debit), _money(credit), _money(earlier)


def _ledger_window(account_id: int, date_from: date | None, date_to: date | None) -> Select[Any]:
    """Line ids of the period in ledger order with debit minus credit summed up to each (in SQL)."""
    order = (JournalEntry.date, JournalLine.entry_id, JournalLine.id)
    running = type_coerce(
        func.sum(JournalLine.debit - JournalLine.credit).over(order_by=order, rows=(None, 0)), Money
    )
    query = (
        select(JournalLine.id.label("line_id"), JournalLine.entry_id.label("entry_id"), running.label("running"))
        .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == account_id)
        .order_by(*order)
    )
    in_period = _period(date_from, date_to)
    return query if in_period is None else query.where(in_period)


def ledger_page(
    account: Account,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> LedgerPage:
    """``limit`` postings from ``offset`` of an account's ledger, the running balance summed in SQL.

    Only the page's rows are read into Python, whatever the size of the ledger. Balances are
    shown on the account's normal side (debit for assets and expenses, credit for the others).
    """
    sign = 1 if account.type in DEBIT_NORMAL_TYPES else -1
    count, debit, credit, earlier = _ledger_figures(account.id, date_from, date_to)
    opening = sign * earlier
    closing = opening + sign * (debit - credit)
    rows: list[LedgerRow] = []
    if count and (limit is None or limit > 0) and offset < count:
        window = _ledger_window(account.id, date_from, date_to).limit(limit).offset(offset or None).subquery()
        page = db.session.execute(
            select(JournalEntry, JournalLine, window.c.running)
            .join(JournalLine, JournalLine.id == window.c.line_id)
            .where(JournalEntry.id == window.c.entry_id)
            .order_by(JournalEntry.date, JournalEntry.id, JournalLine.id)
        )
        rows = [LedgerRow(entry, line, opening + sign * _money(running)) for entry, line, running in page]
    return LedgerPage(opening, closing, debit, credit, count, rows)


def account_ledger(
    account: Account, date_from: date | None = None, date_to: date | None = None
) -> tuple[Decimal, list[LedgerRow]]:
    """Opening balance before ``date_from`` and each posting with the running balance.

    Balances are shown on the account's normal side (debit for assets and
    expenses, credit for the others). Reads the whole period: pages use :func:`ledger_page`.
    """
    page = ledger_page(account, date_from, date_to)
    return page.opening, page.rows


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


def _card_filter(product_id: int, warehouse_id: int | None) -> ColumnElement[bool]:
    condition = StockMovement.product_id == product_id
    return condition if warehouse_id is None else and_(condition, StockMovement.warehouse_id == warehouse_id)


def stock_card_page(
    product_id: int, warehouse_id: int | None = None, *, limit: int | None = None, offset: int = 0
) -> tuple[list[tuple[StockMovement, Decimal]], int]:
    """``limit`` movements from ``offset`` of a product's card with the running quantity (summed
    in SQL), and the number of movements on the card."""
    condition = _card_filter(product_id, warehouse_id)
    count = db.session.execute(select(func.count()).select_from(StockMovement).where(condition)).scalar_one()
    if not count or offset >= count or (limit is not None and limit <= 0):
        return [], count
    running = type_coerce(
        func.sum(StockMovement.quantity).over(order_by=StockMovement.id, rows=(None, 0)), Quantity
    )
    window = (
        select(StockMovement.id.label("movement_id"), running.label("running"))
        .where(condition)
        .order_by(StockMovement.id)
        .limit(limit)
        .offset(offset or None)
        .subquery()
    )
    page = db.session.execute(
        select(StockMovement, window.c.running)
        .join(window, StockMovement.id == window.c.movement_id)
        .order_by(StockMovement.id)
    )
    return [(movement, Decimal(running).quantize(QUANTITY_ZERO)) for movement, running in page], count


def stock_card(product_id: int, warehouse_id: int | None = None) -> list[tuple[StockMovement, Decimal]]:
    """Each movement of a product with the running on-hand quantity."""
    return stock_card_page(product_id, warehouse_id)[0]
