"""What order and refund booking share: the outcome, store data as JSON, the clearing account."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from core.models import StoreConnection
from core.plugins import registry
from core.services.chart import account_by_key
from core.services.invoices import INVOICE_ROLES
from core.services.refdata import accounts_by_role


@dataclass(frozen=True)
class BookingResult:
    """The outcome for one order or refund: ``booked``, ``already_booked``, ``needs_attention``, ``skipped``,
    or (a refund whose order is not booked yet) ``waiting``."""

    outcome: str
    number: str
    reason: str | None = None
    invoice_id: int | None = None
    invoice_number: str | None = None


def to_json(data: Any) -> dict[str, Any]:
    """A store data object as JSON-safe values (Decimals as strings, datetimes in ISO 8601)."""
    return json.loads(json.dumps(dataclasses.asdict(data), default=_encode))


def _encode(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def clearing_account(store: StoreConnection) -> int:
    """The account Paid invoices of ``store`` are settled to, and its refunds paid from (O9)."""
    plugin = registry().platform(store.platform)
    key = plugin.clearing_account_key if plugin is not None else "payment_clearing"
    found = accounts_by_role(_store_roles(store, key))
    account = found.get(key) or found.get("payment_clearing")
    return account.id if account is not None else account_by_key("payment_clearing").id


def sales_account(store: StoreConnection) -> int | None:
    """The store's own revenue account, which its invoices credit and its returns debit: its ``sales_account_id``
    setting, else the account with the role ``<platform>_sales`` (a plugin's default account); ``None`` when it has
    neither (its invoices then credit the company's sales account and its returns debit sales returns)."""
    chosen = (store.settings or {}).get("sales_account_id")
    if chosen:
        return int(chosen)
    key = f"{store.platform}_sales"
    account = accounts_by_role(_store_roles(store)).get(key)
    return account.id if account is not None and account.type == "revenue" else None


def _store_roles(store: StoreConnection, clearing_key: str = "payment_clearing") -> list[str]:
    """The account roles a store's invoices use, asked together (the session's cache keeps them)."""
    return list(dict.fromkeys((clearing_key, "payment_clearing", f"{store.platform}_sales", *INVOICE_ROLES)))
