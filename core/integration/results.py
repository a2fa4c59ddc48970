"""What order and refund booking share: the outcome, store data as JSON, the clearing account."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.extensions import db
from core.models import Account, StoreConnection
from core.plugins import registry
from core.services.chart import account_by_key


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
    account = db.session.execute(select(Account).where(Account.key == key)).scalar_one_or_none()
    return (account or account_by_key("payment_clearing")).id


def sales_account(store: StoreConnection) -> int | None:
    """The store's own revenue account, which its invoices credit and its returns debit: its ``sales_account_id``
    setting, else the account with the role ``<platform>_sales`` (a plugin's default account); ``None`` when it has
    neither (its invoices then credit the company's sales account and its returns debit sales returns)."""
    chosen = (store.settings or {}).get("sales_account_id")
    if chosen:
        return int(chosen)
    return db.session.execute(
        select(Account.id).where(Account.key == f"{store.platform}_sales", Account.type == "revenue")
    ).scalar_one_or_none()
