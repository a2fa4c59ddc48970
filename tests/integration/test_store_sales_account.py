"""A store's invoices credit its own sales account (its setting, else the plugin's ``<platform>_sales``, else the
company's sales) and its returns debit it; the trial balance stays zero (issue 9 case 7)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from core.extensions import db
from core.integration import connections
from core.models import Account, JournalEntry, JournalLine
from core.services.errors import Invalid
from core.services.reports import trial_balance
from tests.integration.conftest import order_payload


def posted(account_id: int, source_type: str) -> tuple[Decimal, Decimal]:
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
        .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == account_id, JournalEntry.source_type == source_type)
    ).one()
    return Decimal(debit), Decimal(credit)


def account_id(key: str) -> int:
    return db.session.execute(select(Account.id).where(Account.key == key)).scalar_one()


def sell_and_return(dummy_shop) -> None:
    """An order of 3 mugs at 25.00 (75.00 net), then a refund of 2 of them (50.00 net)."""
    order = order_payload([("MUG-01", "3", "25.00")])
    dummy_shop.deliver("order", order)
    dummy_shop.deliver("refund", {"external_id": "r-1", "order_external_id": order["external_id"], "lines": [
        {"line_external_id": order["lines"][0]["external_id"], "quantity": "2", "restock": True}]})


def test_by_default_the_plugins_sales_account_takes_the_stores_sales_and_returns(app, dummy_shop):
    sell_and_return(dummy_shop)
    with app.app_context():
        store_sales = account_id("dummy_sales")
        assert posted(store_sales, "sales_invoice") == (0, Decimal("75.00"))
        assert posted(store_sales, "return_invoice") == (Decimal("50.00"), 0)
        assert posted(account_id("sales"), "sales_invoice") == (0, 0)
        assert posted(account_id("sales_returns"), "return_invoice") == (0, 0)
        assert trial_balance().difference == 0
        db.session.remove()


def test_the_stores_sales_account_setting_takes_its_sales_and_returns(app, dummy_shop):
    with app.app_context():
        parent = db.session.execute(select(Account.id).where(Account.code == "4")).scalar_one()
        account = Account(code="4199", name_en="Web shop sales", name_ar="مبيعات المتجر", type="revenue",
                          parent_id=parent)
        db.session.add(account)
        db.session.commit()
        chosen = account.id
        connections.update_settings(dummy_shop.store_id, {"sales_account_id": chosen})
        db.session.remove()
    sell_and_return(dummy_shop)
    with app.app_context():
        assert posted(chosen, "sales_invoice") == (0, Decimal("75.00"))
        assert posted(chosen, "return_invoice") == (Decimal("50.00"), 0)
        assert posted(account_id("dummy_sales"), "sales_invoice") == (0, 0)
        assert trial_balance().difference == 0
        db.session.remove()


def test_a_return_debits_the_account_its_invoice_credited_after_the_setting_changed(app, dummy_shop):
    """The store's sales account is changed between the sale and its refund: the return reverses the
    invoice (debits the account the sale credited), so neither account is left with half a sale."""
    order = order_payload([("MUG-01", "3", "25.00")])
    dummy_shop.deliver("order", order)
    with app.app_context():
        parent = db.session.execute(select(Account.id).where(Account.code == "4")).scalar_one()
        account = Account(code="4198", name_en="New web shop sales", name_ar="مبيعات المتجر الجديدة",
                          type="revenue", parent_id=parent)
        db.session.add(account)
        db.session.commit()
        later = account.id
        connections.update_settings(dummy_shop.store_id, {"sales_account_id": later})
        db.session.remove()
    dummy_shop.deliver("refund", {"external_id": "r-1", "order_external_id": order["external_id"], "lines": [
        {"line_external_id": order["lines"][0]["external_id"], "quantity": "2", "restock": True}]})
    with app.app_context():
        assert posted(account_id("dummy_sales"), "sales_invoice") == (0, Decimal("75.00"))
        assert posted(account_id("dummy_sales"), "return_invoice") == (Decimal("50.00"), 0)
        assert posted(later, "return_invoice") == (0, 0)
        assert trial_balance().difference == 0
        db.session.remove()


def test_without_a_platform_sales_account_the_companys_sales_account_is_used(app, dummy_shop):
    with app.app_context():
        db.session.execute(delete(Account).where(Account.key == "dummy_sales"))
        db.session.commit()
        db.session.remove()
    sell_and_return(dummy_shop)
    with app.app_context():
        assert posted(account_id("sales"), "sales_invoice") == (0, Decimal("75.00"))
        assert posted(account_id("sales_returns"), "return_invoice") == (Decimal("50.00"), 0)
        assert trial_balance().difference == 0
        db.session.remove()


@pytest.mark.parametrize("key", ["receivable", "cogs", None])
def test_a_sales_account_setting_must_name_a_revenue_account(app, dummy_shop, key):
    with app.app_context():
        wrong = account_id(key) if key else 999999
        with pytest.raises(Invalid) as refused:
            connections.update_settings(dummy_shop.store_id, {"sales_account_id": wrong})
        assert "sales_account_id" in refused.value.fields
        db.session.remove()


def test_the_api_sets_the_sales_account(app, api, dummy_shop):
    with app.app_context():
        chosen = account_id("dummy_sales")
        db.session.remove()
    response = api.put(f"/stores/{dummy_shop.store_id}/settings", {"sales_account_id": chosen})
    assert response.status_code == 200, response.get_data(as_text=True)
    refused = api.put(f"/stores/{dummy_shop.store_id}/settings", {"sales_account_id": 999999})
    assert refused.status_code in (400, 422)
