"""Reports (core/services/reports.py): trial balance, account ledger, stock levels, stock card."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.services.chart import account_by_key
from core.services.reports import (
    account_balance,
    account_ledger,
    stock_card,
    stock_levels,
    trial_balance,
)

D = Decimal
ZERO = D("0.00")


def trade(build):
    """Some history over January: stock in, a paid sale, an approved sale, a return, a manual entry."""
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    product = build.product()
    build.opening_balance(product, warehouse, "10", "5.00")
    paid = build.invoice(client, branch, warehouse, [(product, "2", "40")], status="paid", date=date(2026, 1, 5))
    approved = build.invoice(client, branch, warehouse, [(product, "3", "40")], date=date(2026, 1, 15))
    build.return_(approved, [(approved.lines[0], "1")], date=date(2026, 1, 20))
    build.manual_entry([("bank", "500", "0"), ("cash", "0", "500")], entry_date=date(2026, 1, 25))
    return warehouse, product, paid, approved


def test_trial_balance_sums_to_zero_and_each_row_is_the_account_balance(build):
    trade(build)
    report = trial_balance()
    assert report.total_debit == report.total_credit
    assert report.difference == 0
    assert report.total_debit > 0
    assert sum(row.balance for row in report.rows) == 0
    for row in report.rows:
        assert row.balance == account_balance(row.account.id), row.account.code
    codes = [row.account.code for row in report.rows]
    assert codes == sorted(codes)
    by_key = {row.account.key: row for row in report.rows}
    assert by_key["cash"].balance == D("92.00") - D("500.00")  # paid 2 x 40 + VAT, moved to the bank
    assert by_key["inventory"].balance == D("50.00") - D("25.00") + D("5.00")
    assert by_key["opening_balance_equity"].balance == D("-50.00")


def test_trial_balance_as_of_a_date_leaves_later_entries_out(build):
    trade(build)
    early = trial_balance(date(2026, 1, 10))
    assert early.difference == 0
    keys = {row.account.key for row in early.rows}
    assert "sales_returns" not in keys and "bank" not in keys
    receivable = next(row for row in early.rows if row.account.key == "receivable")
    assert receivable.balance == ZERO  # the paid sale is settled; the approved one comes later


def test_ledger_shows_each_posting_with_a_running_balance_on_the_normal_side(build):
    trade(build)
    receivable = account_by_key("receivable")
    opening, rows = account_ledger(receivable)
    assert opening == ZERO
    movements = [(row.line.debit, row.line.credit) for row in rows]
    assert movements == [
        (D("92.00"), ZERO), (ZERO, D("92.00")),  # paid sale and its voucher
        (D("138.00"), ZERO),  # approved sale
        (ZERO, D("46.00")),  # return of one unit
    ]
    assert [row.balance for row in rows] == [D("92.00"), ZERO, D("138.00"), D("92.00")]
    assert rows[-1].balance == account_balance(receivable.id)


def test_ledger_of_a_credit_account_runs_positive_and_honours_the_period(build):
    trade(build)
    vat = account_by_key("vat_output")
    opening, rows = account_ledger(vat, date_from=date(2026, 1, 10), date_to=date(2026, 1, 31))
    assert opening == D("12.00")  # VAT of the paid sale, credit-normal
    assert [row.balance for row in rows] == [D("30.00"), D("24.00")]
    assert rows[-1].balance == -account_balance(vat.id)
    none_opening, none_rows = account_ledger(vat, date_to=date(2026, 1, 1))
    assert (none_opening, none_rows) == (ZERO, [])


def test_stock_levels_and_stock_card_agree_with_the_movements(build):
    warehouse, product, paid, approved = trade(build)
    other = build.warehouse()
    build.stock(product, other, "4", "6")
    card = stock_card(product.id, warehouse.id)
    assert [(m.kind, m.quantity, running) for m, running in card] == [
        ("opening_balance", D("10.000"), D("10.000")),
        ("sale", D("-2.000"), D("8.000")),
        ("sale", D("-3.000"), D("5.000")),
        ("return", D("1.000"), D("6.000")),
    ]
    assert [m.source_number for m, _ in card] == ["OB-000001", paid.number, approved.number, "RET-000001"]
    whole = stock_card(product.id)
    assert whole[-1][1] == D("10.000")  # both warehouses
    levels = {level.warehouse_id: level for level in stock_levels(product_id=product.id)}
    assert (levels[warehouse.id].quantity, levels[warehouse.id].value) == (D("6.000"), D("30.00"))
    assert (levels[other.id].quantity, levels[other.id].value) == (D("4.000"), D("24.00"))
    assert [level.product_id for level in stock_levels(warehouse_id=other.id)] == [product.id]


def test_reports_on_an_empty_ledger_are_empty(ctx):
    report = trial_balance()
    assert (report.rows, report.total_debit, report.total_credit) == ([], ZERO, ZERO)
    assert stock_levels() == []
    assert stock_card(1) == []
