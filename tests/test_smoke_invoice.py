"""An invoice posts revenue, VAT, stock and cost in one go."""
from decimal import Decimal

from core.services.chart import account_by_key
from core.services.reports import account_balance, trial_balance


def test_approved_invoice_moves_stock_and_balances_the_ledger(build):
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    mug = build.product("MUG")
    build.stock(mug, warehouse, "10", "7.5")
    invoice = build.invoice(client, branch, warehouse, [(mug, "4", "20")], shipping=Decimal("10"))
    assert invoice.total == Decimal("103.50")  # (80 + 10) x 1.15
    assert invoice.cost_total == Decimal("30.00")
    assert account_balance(account_by_key("inventory").id) == Decimal("45.00")
    assert trial_balance().difference == 0
