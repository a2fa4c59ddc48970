"""Each store's sales are credited to its own revenue account (the plugin's ``<platform> sales`` by default) and its
returns debit it (issue 9 case 7)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.models import Account, JournalEntry, JournalLine, ReturnInvoice, SalesInvoice
from core.services.reports import trial_balance


def movement(account_key: str, source_type: str) -> tuple[Decimal, Decimal]:
    """Debit and credit posted to the account with role ``account_key`` by documents of ``source_type``."""
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
        .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .join(Account, JournalLine.account_id == Account.id)
        .where(Account.key == account_key, JournalEntry.source_type == source_type)
    ).one()
    return Decimal(debit), Decimal(credit)


def test_a_store_order_credits_the_platforms_sales_account_and_its_return_debits_it(app, connected_store):
    driver = connected_store.driver
    key = f"{driver.platform}_sales"
    order = driver.new_order([("MUG-01", 2)])
    driver.complete(order)
    driver.refund_all(order)
    driver.settle()
    with app.app_context():
        assert db.session.execute(select(Account).where(Account.key == key)).scalar_one().type == "revenue"
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert movement(key, "sales_invoice")[1] > 0
        assert movement("sales", "sales_invoice") == (0, 0)  # the company's general sales account is not used
        invoiced = movement(key, "sales_invoice")[1] - movement(key, "sales_invoice")[0]
        assert movement(key, "return_invoice")[0] == invoiced  # the whole return reverses the store's revenue
        assert movement("sales_returns", "return_invoice") == (0, 0)
        assert returned.total == invoice.total
        assert trial_balance().difference == 0
        db.session.remove()
