"""Accounting pages: chart of accounts with balances, journal, ledger, trial balance, manual entries."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import Account, JournalEntry
from tests.web.conftest import field_errors

ROLES = ("viewer", "accountant", "admin")


def account_id(app, key: str) -> int:
    with app.app_context():
        found = db.session.execute(select(Account.id).where(Account.key == key)).scalar_one()
        db.session.remove()
    return found


def row_of(html: str, marker: str) -> str:
    """The table row holding ``marker``."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S):
        if marker in row:
            return row
    raise AssertionError(f"no row with {marker}")


@pytest.mark.parametrize("role", ROLES)
def test_every_accounting_page_renders_for_every_role(app, web, sale, role):
    client = web(role)
    cash = account_id(app, "cash")
    for path in (
        "/accounting/accounts", "/accounting/journal", f"/accounting/journal/{sale.invoice_entry}",
        f"/accounting/accounts/{cash}/ledger", "/accounting/trial-balance",
    ):
        page = client.text(path)
        assert 'id="list"' in page
    assert ('id="new-entry"' in client.text("/accounting/journal")) == (role != "viewer")


def test_chart_of_accounts_is_a_tree_with_balances(web, sale):
    page = web("viewer").text("/accounting/accounts")
    # Cash: 80.50 received - 26.36 refunded; the groups above it add up their accounts.
    assert "54.14" in row_of(page, 'data-code="1101"')
    assert "83.50" in row_of(page, 'data-code="1120"')  # inventory: 95.00 in - 19.00 sold + 7.50 back
    assert "137.64" in row_of(page, 'data-code="11"')
    assert 'data-depth="2"' in row_of(page, 'data-code="1101"')  # indented by mizan.css, no inline style (CSP)
    assert 'class="num"' in row_of(page, 'data-code="1101"')


def test_journal_lists_newest_first_and_shows_an_entry_with_its_lines(web, sale):
    client = web("viewer")
    page = client.text("/accounting/journal?source_type=sales_invoice")
    assert sale.invoice_number in page and "RET-" not in page
    page = client.text("/accounting/journal?date_to=2026-01-31")
    assert page.index(sale.credit_note_number) < page.index(sale.invoice_number)

    entry = client.text(f"/accounting/journal/{sale.invoice_entry}")
    assert f'href="/sales/invoices/{sale.invoice}"' in entry  # its source document
    assert 'id="total-debit">80.50' not in entry  # debits include COGS, not just the receivable
    debit = re.search(r'id="total-debit">([^<]+)<', entry).group(1)
    credit = re.search(r'id="total-credit">([^<]+)<', entry).group(1)
    assert debit == credit
    assert "Accounts receivable" in entry and "VAT output" in entry


def test_ledger_has_a_running_balance_within_the_dates(app, web, sale):
    cash = account_id(app, "cash")
    client = web("viewer")
    page = client.text(f"/accounting/accounts/{cash}/ledger")
    assert 'id="opening-balance">0.00' in page and 'id="closing-balance">54.14' in page
    page = client.text(f"/accounting/accounts/{cash}/ledger?date_from=2026-01-16&date_to=2026-01-31")
    assert 'id="opening-balance">80.50' in page and 'id="closing-balance">54.14' in page
    assert sale.invoice_number not in page
    page = client.text(f"/accounting/accounts/{cash}/ledger?date_to=2026-01-15")
    assert 'id="closing-balance">80.50' in page
    # A malformed date is shown next to its field, not as an error page.
    page = client.text(f"/accounting/accounts/{cash}/ledger?date_from=yesterday")
    assert field_errors(page, "date_from")


def test_trial_balance_sums_to_zero_and_takes_a_date(web, sale):
    client = web("viewer")
    page = client.text("/accounting/trial-balance")
    debit = re.search(r'id="total-debit">([^<]+)<', page).group(1)
    assert f'id="total-credit">{debit}<' in page
    assert "Balanced" in page
    assert "Nothing has been posted yet." in client.text("/accounting/trial-balance?as_of=2020-01-01")


def test_accounting_pages_in_arabic_are_right_to_left(web, sale):
    client = web("accountant")
    client.use_language("ar")
    page = client.text("/accounting/accounts")
    assert 'dir="rtl"' in page and "الصندوق" in page
    assert 'dir="rtl"' in client.text("/accounting/trial-balance")


def test_accountant_posts_a_manual_entry(app, web):
    client = web("accountant")
    cash, equity = account_id(app, "cash"), account_id(app, "opening_balance_equity")
    response = client.post("/accounting/journal/new", {
        "date": "2026-02-01", "memo": "Owner's capital",
        "lines-0-account_id": str(cash), "lines-0-debit": "1000",
        "lines-1-account_id": str(equity), "lines-1-credit": "1000",
    }, form_page="/accounting/journal/new")
    assert response.status_code == 302
    page = client.text(response.headers["Location"])
    assert "is posted" in page and "Owner&#39;s capital" in page and 'id="total-debit">1,000.00' in page


def test_an_unbalanced_entry_is_refused_on_the_form(app, web):
    client = web("accountant")
    cash, equity = account_id(app, "cash"), account_id(app, "opening_balance_equity")
    response = client.post("/accounting/journal/new", {
        "date": "2026-02-01",
        "lines-0-account_id": str(cash), "lines-0-debit": "1000",
        "lines-1-account_id": str(equity), "lines-1-credit": "900",
        "lines-2-debit": "5",
    }, form_page="/accounting/journal/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "lines-2-account_id") == ["Choose an account for this amount."]
    response = client.post("/accounting/journal/new", {
        "date": "2026-02-01",
        "lines-0-account_id": str(cash), "lines-0-debit": "1000",
        "lines-1-account_id": str(equity), "lines-1-credit": "900",
    }, form_page="/accounting/journal/new")
    assert response.status_code == 200
    assert "differ by 100.00" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(JournalEntry)).first() is None
        db.session.remove()


def test_viewers_cannot_post_entries(web):
    client = web("viewer")
    assert client.get("/accounting/journal/new").status_code == 403
    assert client.post("/accounting/journal/new", {"date": "2026-02-01"}).status_code == 403


def test_pages_need_a_sign_in(client):
    response = client.get("/accounting/accounts")
    assert response.status_code == 302 and "/login" in response.headers["Location"]



def test_the_journal_can_be_filtered_to_stock_revaluations_named_in_arabic(web):
    """Revaluations of store stock at a new cost (issue 9 case 5) are a journal source people can pick."""
    client = web("viewer")
    assert "Stock revaluation" in client.text("/accounting/journal?source_type=stock_revaluation")
    client.use_language("ar")
    assert "إعادة تقييم المخزون" in client.text("/accounting/journal?source_type=stock_revaluation")
