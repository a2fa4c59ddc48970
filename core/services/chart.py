"""The default chart of accounts and account lookup by role key."""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import select

from core.extensions import db
from core.models import Account
from core.services.errors import Invalid
from core.services.refdata import accounts_by_id, accounts_by_role, forget
from core.services.upsert import insert_ignoring_conflicts


class DefaultAccount(NamedTuple):
    code: str
    key: str | None
    type: str
    name_en: str
    name_ar: str
    parent_code: str | None = None
    is_group: bool = False


DEFAULT_CHART: tuple[DefaultAccount, ...] = (
    DefaultAccount("1", None, "asset", "Assets", "الأصول", None, True),
    DefaultAccount("11", None, "asset", "Current assets", "الأصول المتداولة", "1", True),
    DefaultAccount("1101", "cash", "asset", "Cash", "الصندوق", "11"),
    DefaultAccount("1102", "bank", "asset", "Bank", "البنك", "11"),
    DefaultAccount("1103", "payment_clearing", "asset", "Payment clearing", "مقاصة المدفوعات", "11"),
    DefaultAccount("1110", "receivable", "asset", "Accounts receivable", "الذمم المدينة", "11"),
    DefaultAccount("1120", "inventory", "asset", "Inventory", "المخزون", "11"),
    DefaultAccount("1130", "vat_input", "asset", "VAT input", "ضريبة القيمة المضافة - مدخلات", "11"),
    DefaultAccount("2", None, "liability", "Liabilities", "الخصوم", None, True),
    DefaultAccount("2101", "vat_output", "liability", "VAT output", "ضريبة القيمة المضافة - مخرجات", "2"),
    DefaultAccount("2110", "goods_received", "liability", "Goods received not invoiced", "بضاعة مستلمة لم تفوتر", "2"),
    DefaultAccount("3", None, "equity", "Equity", "حقوق الملكية", None, True),
    DefaultAccount("3101", "opening_balance_equity", "equity", "Opening balance equity", "حقوق ملكية الأرصدة الافتتاحية", "3"),
    DefaultAccount("4", None, "revenue", "Revenue", "الإيرادات", None, True),
    DefaultAccount("4101", "sales", "revenue", "Sales", "المبيعات", "4"),
    DefaultAccount("4102", "sales_returns", "revenue", "Sales returns", "مردودات المبيعات", "4"),
    DefaultAccount("4103", "sales_discounts", "revenue", "Sales discounts", "خصومات المبيعات", "4"),
    DefaultAccount("4104", "shipping_income", "revenue", "Shipping income", "إيرادات الشحن", "4"),
    DefaultAccount("5", None, "expense", "Expenses", "المصروفات", None, True),
    DefaultAccount("5101", "cogs", "expense", "Cost of goods sold", "تكلفة البضاعة المباعة", "5"),
    DefaultAccount("5102", "rounding", "expense", "Rounding differences", "فروقات التقريب", "5"),
)


def seed_default_chart() -> int:
    """Create the default accounts that are missing; returns how many the chart defines.

    Idempotent; runs inside the caller's transaction.
    """
    ensure_accounts(DEFAULT_CHART)
    return len(DEFAULT_CHART)


def ensure_accounts(accounts: Iterable[DefaultAccount]) -> None:
    """Insert the ``accounts`` that are missing, parents before children.

    Rows are inserted with ON CONFLICT DO NOTHING on the unique code (and role key), so
    running it again, or in two processes at once, creates nothing twice (C3).
    """
    pending = list(accounts)
    while pending:
        parents = {a.parent_code for a in pending if a.parent_code}
        parent_ids = dict(
            db.session.execute(select(Account.code, Account.id).where(Account.code.in_(parents))).all()
        )
        ready = [a for a in pending if a.parent_code is None or a.parent_code in parent_ids]
        if not ready:
            missing = sorted(parents - set(parent_ids))
            raise Invalid(f"Parent account(s) {', '.join(missing)} do not exist.")
        insert_ignoring_conflicts(
            Account,
            [
                {
                    "code": a.code,
                    "key": a.key,
                    "type": a.type,
                    "name_en": a.name_en,
                    "name_ar": a.name_ar,
                    "parent_id": parent_ids.get(a.parent_code),
                    "is_group": a.is_group,
                }
                for a in ready
            ],
        )
        pending = [a for a in pending if a not in ready]
    forget()


def account_by_key(key: str) -> Account:
    """The account playing the role ``key`` (e.g. ``"receivable"``)."""
    account = db.session.execute(select(Account).where(Account.key == key)).scalar_one_or_none()
    if account is None:
        raise Invalid(f"The chart of accounts has no account with the role '{key}'; run 'flask chart seed'.")
    return account


def account_by_role(key: str) -> int:
    """The id of the account playing the role ``key`` (read once per session, see :mod:`refdata`)."""
    found = accounts_by_role([key])
    if key not in found:
        raise Invalid(f"The chart of accounts has no account with the role '{key}'; run 'flask chart seed'.")
    return found[key].id


def account_ids(*keys: str) -> dict[str, int]:
    """Ids of the accounts playing each role in ``keys`` (read once per session, see :mod:`refdata`)."""
    found = {key: info.id for key, info in accounts_by_role(keys).items()}
    missing = [key for key in keys if key not in found]
    if missing:
        raise Invalid(
            f"The chart of accounts has no account with the role(s) {', '.join(missing)}; "
            "run 'flask chart seed'."
        )
    return found


def revenue_account(account_id: int | None, default: int) -> int:
    """``account_id`` when it names a revenue account (a draft's own, e.g. a store's), else ``default``;
    :class:`Invalid` when it names something else."""
    if account_id is None:
        return default
    account = accounts_by_id([account_id]).get(account_id)
    if account is None or account.type != "revenue":
        raise Invalid(f"No revenue account with id {account_id}.", {"revenue_account_id": ["not a revenue account"]})
    return account.id
