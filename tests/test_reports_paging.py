"""Ledger and stock card pages read one page in SQL and agree with the whole report (issue 12)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from core.extensions import db
from core.models import JournalEntry, JournalLine
from core.services.chart import account_by_key
from core.services.reports import (
    account_ledger,
    ledger_page,
    stock_card,
    stock_card_page,
    trial_balance,
)

D = Decimal
START = date(2026, 1, 1)
#: (day offset, cash debit, cash credit); several entries share a day, so entry ids break ties.
HISTORY = [
    (5, "100.00", "0"), (1, "0", "30.00"), (5, "12.50", "0"), (9, "0", "7.25"), (1, "40.00", "0"),
    (14, "3.00", "0"), (9, "0", "60.00"), (20, "8.80", "0"), (2, "0", "1.10"), (14, "25.00", "0"),
    (30, "0", "45.00"), (3, "70.00", "0"), (25, "0", "9.99"), (25, "5.01", "0"), (11, "16.00", "0"),
]


@pytest.fixture
def history(build):
    """Cash postings over January, posted out of date order, against sales and expenses."""
    for day, debit, credit in HISTORY:
        other = "sales" if D(debit) else "bank"
        build.manual_entry([("cash", debit, credit), (other, credit, debit)], entry_date=START + timedelta(days=day))
    return account_by_key("cash"), account_by_key("sales")


def expected_ledger(account, date_from=None, date_to=None):
    """The ledger recomputed in Python from every line: (opening, [(line id, balance)], closing)."""
    sign = 1 if account.type in ("asset", "expense") else -1
    lines = db.session.execute(
        select(JournalEntry.date, JournalEntry.id, JournalLine.id, JournalLine.debit, JournalLine.credit)
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == account.id)
    ).all()
    opening, rows = D("0.00"), []
    for day, _entry, line, debit, credit in sorted(lines):
        if date_from is not None and day < date_from:
            opening += sign * (debit - credit)
        elif date_to is None or day <= date_to:
            rows.append((line, sign * (debit - credit)))
    running, balances = opening, []
    for line, amount in rows:
        running += amount
        balances.append((line, running))
    return opening, balances, running


def all_pages(account, per_page, date_from=None, date_to=None):
    pages, offset = [], 0
    while True:
        page = ledger_page(account, date_from, date_to, limit=per_page, offset=offset)
        pages.append(page)
        offset += per_page
        if offset >= page.count:
            return pages


days = st.none() | st.integers(min_value=0, max_value=32).map(lambda n: START + timedelta(days=n))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(per_page=st.integers(min_value=1, max_value=20), date_from=days, date_to=days, credit_side=st.booleans())
def test_pages_put_together_are_the_whole_ledger_with_the_balance_carried_across(
    history, per_page, date_from, date_to, credit_side
):
    account = history[1] if credit_side else history[0]
    opening, balances, closing = expected_ledger(account, date_from, date_to)
    pages = all_pages(account, per_page, date_from, date_to)
    assert [(row.line.id, row.balance) for page in pages for row in page.rows] == balances
    assert all(len(page.rows) == per_page for page in pages[:-1])
    for page in pages:
        assert (page.opening, page.closing, page.count) == (opening, closing, len(balances))
    whole_opening, whole = account_ledger(account, date_from, date_to)
    assert (whole_opening, [(row.line.id, row.balance) for row in whole]) == (opening, balances)


def test_a_later_page_starts_from_the_opening_balance_before_date_from(history):
    cash, _ = history
    date_from = START + timedelta(days=9)
    page = ledger_page(cash, date_from, limit=2, offset=2)
    assert page.opening == D("100.00") - D("30.00") + D("12.50") + D("40.00") - D("1.10") + D("70.00")
    opening, balances, _ = expected_ledger(cash, date_from)
    assert [(row.line.id, row.balance) for row in page.rows] == balances[2:4]
    first = page.rows[0]
    assert first.balance == balances[1][1] + first.line.debit - first.line.credit
    assert (first.entry.date >= date_from) and first.entry.number.startswith("JE-")


def test_the_last_page_is_short_ends_on_the_closing_balance_and_pages_past_it_are_empty(history):
    cash, _ = history
    last = ledger_page(cash, limit=4, offset=12)
    assert len(last.rows) == len(HISTORY) - 12
    assert last.rows[-1].balance == last.closing == sum((D(d) - D(c) for _, d, c in HISTORY), D("0.00"))
    assert last.total_debit - last.total_credit == last.closing
    beyond = ledger_page(cash, limit=4, offset=400)
    assert (beyond.rows, beyond.count, beyond.closing) == ([], len(HISTORY), last.closing)
    nothing = ledger_page(cash, date_to=START - timedelta(days=1), limit=4)
    assert (nothing.opening, nothing.closing, nothing.count, nothing.rows) == (D("0.00"), D("0.00"), 0, [])


def test_a_ledger_page_reads_two_statements_whatever_the_size_of_the_ledger(history):
    cash, _ = history
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = ledger_page(cash, START + timedelta(days=3), START + timedelta(days=25), limit=3, offset=3)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(page.rows) == 3
    ledger_reads = [s for s in statements if "journal_lines" in s]
    assert len(ledger_reads) == 2
    assert any("OVER" in s and "LIMIT" in s for s in ledger_reads)


def test_the_trial_balance_without_a_date_reads_the_lines_alone(history):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        report = trial_balance()
        dated = trial_balance(START + timedelta(days=9))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    sums = [s for s in statements if "journal_lines" in s]
    assert "journal_entries" not in sums[0] and "journal_entries" in sums[1]
    assert report.difference == dated.difference == 0
    assert report.total_debit == sum((D(d) + D(c) for _, d, c in HISTORY), D("0.00"))


def test_stock_card_pages_carry_the_running_quantity(build):
    warehouse, other, product = build.warehouse(), build.warehouse(), build.product()
    for n in range(1, 8):
        build.stock(product, warehouse if n % 3 else other, str(n), "2.00")
    whole = stock_card(product.id)
    assert [running for _, running in whole] == [D(sum(range(1, n + 1))).quantize(D("0.001")) for n in range(1, 8)]
    pages = [stock_card_page(product.id, limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [row for rows, _ in pages for row in rows] == whole
    assert [count for _, count in pages] == [7, 7, 7, 7] and pages[-1][0] == []
    in_other, count = stock_card_page(product.id, other.id, limit=1, offset=1)
    assert count == 2 and [(m.quantity, running) for m, running in in_other] == [(D("6.000"), D("9.000"))]


def test_the_api_ledger_pages_in_sql_with_the_period_figures_on_every_page(api):
    accounts = {a["key"]: a["id"] for a in api.get("/accounts?per_page=500").get_json()["items"] if a["key"]}
    for n, day in enumerate(("2026-03-01", "2026-03-01", "2026-04-02", "2026-05-03", "2026-05-04"), 1):
        lines = [{"account_id": accounts["cash"], "debit": f"{n}0.00"},
                 {"account_id": accounts["opening_balance_equity"], "credit": f"{n}0.00"}]
        assert api.post("/journal-entries", {"date": day, "memo": "capital", "lines": lines}).status_code == 201
    ledger = f"/accounts/{accounts['cash']}/ledger"
    pages = [api.get(f"{ledger}?per_page=2&page={n}").get_json() for n in (1, 2, 3, 4)]
    assert [[r["balance"] for r in p["items"]] for p in pages] == [
        ["10.00", "30.00"], ["60.00", "100.00"], ["150.00"], []
    ]
    assert {(p["total"], p["pages"], p["opening_balance"], p["closing_balance"]) for p in pages} == {
        (5, 3, "0.00", "150.00")
    }
    april_on = api.get(f"{ledger}?date_from=2026-04-01&per_page=1&page=2").get_json()
    assert (april_on["opening_balance"], april_on["total"], [r["balance"] for r in april_on["items"]]) == (
        "30.00", 3, ["100.00"]
    )
