"""Reference data of postings (accounts by role and id, the VAT rate) read once per session, dropped when it may be stale.

The cache lives in ``session.info``: it dies with the session (the end of the request or job),
is dropped on every rollback, whenever a flush writes an account or the company settings, and
when :mod:`core.services.chart` inserts accounts. Nothing is kept across sessions or processes.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from core.extensions import db
from core.models import Account, CompanySettings
from core.services.company import company_settings
from core.services.rows import execute

#: Session-info key of the cache.
KEY = "mizan.refdata"
_WATCHED = (Account, CompanySettings)


@dataclass(frozen=True)
class AccountInfo:
    """What a posting needs to know of an account."""

    id: int
    code: str
    type: str
    is_group: bool
    key: str | None


@dataclass
class _Cache:
    by_role: dict[str, AccountInfo] = field(default_factory=dict)
    by_id: dict[int, AccountInfo] = field(default_factory=dict)
    absent_roles: set[str] = field(default_factory=set)
    vat_rate: Decimal | None = None
    base_currency: str | None = None


_ACCOUNTS = Account.__table__.c
_ACCOUNT_COLUMNS = select(_ACCOUNTS.id, _ACCOUNTS.code, _ACCOUNTS.type, _ACCOUNTS.is_group, _ACCOUNTS.key)
_BY_ROLE = _ACCOUNT_COLUMNS.where(_ACCOUNTS.key.in_(bindparam("keys", expanding=True)))
_BY_ID = _ACCOUNT_COLUMNS.where(_ACCOUNTS.id.in_(bindparam("ids", expanding=True)))
_SETTINGS = CompanySettings.__table__.c
_COMPANY = select(_SETTINGS.vat_rate, _SETTINGS.base_currency).where(_SETTINGS.id == 1)


def _cache() -> _Cache:
    session = db.session()
    cache = session.info.get(KEY)
    if cache is not None and _pending_changes(session):
        cache = None
    if cache is None:
        cache = session.info[KEY] = _Cache()
    return cache


def _pending_changes(session: Session) -> bool:
    """Accounts or settings changed in the session but not flushed yet."""
    return any(isinstance(row, _WATCHED) for row in (*session.new, *session.dirty, *session.deleted))


def _remember(cache: _Cache, rows: Iterable[Any]) -> None:
    for row in rows:
        info = AccountInfo(row.id, row.code, row.type, row.is_group, row.key)
        cache.by_id[info.id] = info
        if info.key is not None:
            cache.by_role[info.key] = info


def accounts_by_role(keys: Iterable[str]) -> dict[str, AccountInfo]:
    """The accounts playing the roles in ``keys`` that exist (one query for those not known yet)."""
    cache = _cache()
    keys = list(keys)
    missing = [key for key in keys if key not in cache.by_role and key not in cache.absent_roles]
    if missing:
        _remember(cache, execute(_BY_ROLE, {"keys": missing}))
        cache.absent_roles.update(key for key in missing if key not in cache.by_role)
    return {key: cache.by_role[key] for key in keys if key in cache.by_role}


def accounts_by_id(ids: Iterable[int]) -> dict[int, AccountInfo]:
    """The accounts with these ids that exist (one query for those not known yet)."""
    cache = _cache()
    missing = [i for i in ids if i not in cache.by_id]
    if missing:
        _remember(cache, execute(_BY_ID, {"ids": missing}))
    return {i: cache.by_id[i] for i in ids if i in cache.by_id}


def vat_rate() -> Decimal:
    """The company's VAT rate (the settings row is created with defaults on first use)."""
    rate = _company(_cache()).vat_rate
    assert rate is not None  # a required column
    return rate


def base_currency() -> str:
    """The company's base currency code, as set (may be empty)."""
    return _company(_cache()).base_currency or ""


def _company(cache: _Cache) -> _Cache:
    if cache.vat_rate is None:
        row = db.session.execute(_COMPANY).one_or_none() or company_settings()  # flushes pending changes first
        cache.vat_rate, cache.base_currency = row.vat_rate, row.base_currency
    return cache


def forget(session: Session | None = None) -> None:
    """Drop the cache of ``session`` (default: the current one)."""
    (session or db.session()).info.pop(KEY, None)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(KEY, None)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if KEY in session.info and _pending_changes(session):
        session.info.pop(KEY, None)
