"""Read-only reports: trial balance, account ledger, stock on hand, stock card."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    type_coerce,
)

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
class LedgerEntry:
    """The journal entry of a ledger row, as read for the report (not a mapped object)."""

    id: int
    number: str
    date: date
    memo: str | None
    source_type: str
    source_number: str | None


@dataclass(frozen=True)
class LedgerLine:
    """The journal line of a ledger row, as read for the report (not a mapped object)."""

    id: int
    entry_id: int
    account_id: int
    debit: Decimal
    credit: Decimal
    branch_id: int | None
    memo: str | None


@dataclass(frozen=True)
class LedgerRow:
    entry: LedgerEntry
    line: LedgerLine
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


def _period(date_from: bool, date_to: bool) -> ColumnElement[bool] | None:
    """The condition on the entry's date for postings inside the period (None: all dates)."""
    conditions = []
    if date_from:
        conditions.append(JournalEntry.date >= bindparam("date_from"))
    if date_to:
        conditions.append(JournalEntry.date <= bindparam("date_to"))
    return and_(*conditions) if conditions else None


@cache
def _ledger_figures(date_from: bool, date_to: bool) -> Select[Any]:
    """Postings in the period, their debit and credit, and debit minus credit before it: one pass.

    Built once per shape of period; the account and dates are bound parameters.
    """
    lines = select().select_from(JournalLine).where(JournalLine.account_id == bindparam("account_id"))
    if not date_from:
        in_period = _period(False, date_to)
        if in_period is not None:
            lines = lines.join(JournalEntry, JournalLine.entry_id == JournalEntry.id).where(in_period)
        return lines.add_columns(
            func.count(), func.sum(JournalLine.debit), func.sum(JournalLine.credit), literal(0)
        )
    lines = lines.join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
    if date_to:  # ``through`` is date_to, or the day before date_from when the period is empty
        lines = lines.where(JournalEntry.date <= bindparam("through", type_=Date))
    inside = JournalEntry.date >= bindparam("date_from")
    net = type_coerce(JournalLine.debit - JournalLine.credit, Money)
    return lines.add_columns(
        func.count(case((inside, 1))),
        func.sum(case((inside, JournalLine.debit))),
        func.sum(case((inside, JournalLine.credit))),
        type_coerce(func.sum(case((~inside, net))), Money),
    )


_ENTRY_COLUMNS = (
    JournalEntry.id, JournalEntry.number, JournalEntry.date, JournalEntry.memo,
    JournalEntry.source_type, JournalEntry.source_number,
)
_LINE_COLUMNS = (
    JournalLine.id, JournalLine.entry_id, JournalLine.account_id, JournalLine.debit, JournalLine.credit,
    JournalLine.branch_id, JournalLine.memo,
)
_LEDGER_ORDER = (JournalEntry.date, JournalEntry.id, JournalLine.id)


@cache
def _ledger_window(date_from: bool, date_to: bool, limited: bool, backwards: bool = False) -> Select[Any]:
    """The period's postings in ledger order, each with debit minus credit summed up to it (in SQL).

    ``backwards`` reads from the end (latest first), each posting with the sum from it to the end:
    the last pages then cost what the first ones do. Built once per shape; the account, dates,
    limit and offset are bound parameters.
    """
    order = [column.desc() for column in _LEDGER_ORDER] if backwards else list(_LEDGER_ORDER)
    running = type_coerce(
        func.sum(JournalLine.debit - JournalLine.credit).over(order_by=order, rows=(None, 0)), Money
    )
    query = (
        select(*_ENTRY_COLUMNS, *_LINE_COLUMNS, running)
        .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == bindparam("account_id"))
        .order_by(*order)
    )
    if limited:
        query = query.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))
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

    One statement sums the period and one reads the page (from the end when that is nearer, the
    balance then being the period's total less what follows): only the page's rows reach Python,
    whatever the size of the ledger, as plain rows (not mapped objects). Balances are
    shown on the account's normal side (debit for assets and expenses, credit for the others).
    """
    sign = 1 if account.type in DEBIT_NORMAL_TYPES else -1
    shape = (date_from is not None, date_to is not None)
    params = {"account_id": account.id, "date_from": date_from, "date_to": date_to, "through": date_to}
    if date_from is not None and date_to is not None and date_to < date_from:
        params["through"] = date_from - timedelta(days=1)
    count, debit, credit, earlier = db.session.execute(_ledger_figures(*shape), params).one()
    debit, credit = _money(debit), _money(credit)
    opening = sign * _money(earlier)
    closing = opening + sign * (debit - credit)
    rows: list[LedgerRow] = []
    if count and (limit is None or limit > 0) and offset < count:
        width = len(_ENTRY_COLUMNS)
        backwards = limit is not None and count - offset - limit < offset
        if backwards:  # nearer the end: read the page from the end, so only what follows it is summed
            assert limit is not None
            params |= {"limit": min(limit, count - offset), "offset": max(count - offset - limit, 0)}
            page = db.session.execute(_ledger_window(*shape, True, True), params).all()[::-1]
            net = debit - credit
            rows = [
                LedgerRow(LedgerEntry(*row[:width]), LedgerLine(*row[width:-1]),
                          opening + sign * (net - _money(row[-1]) + row[width + 3] - row[width + 4]))
                for row in page
            ]
        else:
            params |= {"limit": limit, "offset": offset}
            page = db.session.execute(_ledger_window(*shape, limit is not None), params).all()
            rows = [
                LedgerRow(LedgerEntry(*row[:width]), LedgerLine(*row[width:-1]), opening + sign * _money(row[-1]))
                for row in page
            ]
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
