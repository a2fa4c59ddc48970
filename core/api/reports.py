"""Accounting reports: the trial balance and an account's ledger."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from core.api.loading import load_query
from core.api.operations import operation
from core.api.pagination import envelope, page_params
from core.api.schemas.fields import URL_ID
from core.api.schemas.reports import (
    LedgerQuery,
    LedgerRowSchema,
    LedgerSchema,
    TrialBalanceQuery,
    TrialBalanceSchema,
)
from core.models import Account
from core.services.lookup import get_or_404
from core.services.reports import ledger_page, trial_balance

TAG = "Reports"


@operation(
    "Trial balance",
    TAG,
    response=TrialBalanceSchema,
    query=TrialBalanceQuery,
    description="Debit and credit totals per account with postings up to as_of (all dates "
    "when omitted). One row per account, so it is not paginated; difference is always 0.00.",
)
def get_trial_balance() -> dict[str, Any]:
    query = load_query(TrialBalanceQuery())
    report = trial_balance(query["as_of"])
    return TrialBalanceSchema().dump(
        {
            "as_of": query["as_of"],
            "rows": report.rows,
            "total_debit": report.total_debit,
            "total_credit": report.total_credit,
            "difference": report.difference,
        }
    )


@operation(
    "An account's ledger",
    TAG,
    response=LedgerSchema,
    query=LedgerQuery,
    description="Postings between date_from and date_to with the running balance on the "
    "account's normal side, a page at a time, plus the opening and closing balances.",
)
def get_ledger(account_id: int) -> dict[str, Any]:
    query = load_query(LedgerQuery())
    account = get_or_404(Account, account_id, "Account")
    page, per_page = page_params(query)
    ledger = ledger_page(
        account, query["date_from"], query["date_to"], limit=per_page, offset=(page - 1) * per_page
    )
    items = envelope(LedgerRowSchema().dump(ledger.rows, many=True), page, per_page, ledger.count)
    header = LedgerSchema(only=("account_id", "date_from", "date_to", "opening_balance", "closing_balance"))
    return header.dump(
        {
            "account_id": account.id,
            "date_from": query["date_from"],
            "date_to": query["date_to"],
            "opening_balance": ledger.opening,
            "closing_balance": ledger.closing,
        }
    ) | items


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/reports/trial-balance", "reports_trial_balance", get_trial_balance, methods=["GET"])
    blueprint.add_url_rule(f"/accounts/<{URL_ID}:account_id>/ledger", "accounts_ledger", get_ledger, methods=["GET"])
