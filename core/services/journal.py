"""Posting balanced journal entries and reversing them."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import Account, JournalEntry, JournalLine
from core.money import ZERO, money
from core.services.errors import Conflict, Invalid, NotFound
from core.services.numbering import next_number
from core.services.rows import execute
from core.services.transaction import atomic


@dataclass(frozen=True)
class Posting:
    """One line of a journal entry to be posted."""

    account_id: int
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    branch_id: int | None = None
    memo: str | None = None


@dataclass
class ManualEntryDraft:
    """A manual journal entry as entered by an accountant."""

    date: date
    lines: list[Posting] = field(default_factory=list)
    memo: str | None = None


def write_entry(
    entry_date: date,
    postings: list[Posting],
    *,
    memo: str | None = None,
    source_type: str = "manual",
    source_number: str | None = None,
    reverses_id: int | None = None,
) -> JournalEntry | None:
    """Add a balanced entry to the current transaction (the caller commits).

    Zero lines are dropped. A document whose lines are all zero (a free item at
    zero cost) gets no entry: ``None`` is returned when ``source_type`` is not
    "manual". Raises :class:`Invalid` when the entry does not balance, is empty,
    or posts to a group account.
    """
    lines = checked_lines(postings, source_type, _postable_accounts)
    if lines is None:
        return None

    entry = JournalEntry(
        number=next_number("journal_entry"),
        date=entry_date,
        memo=memo,
        source_type=source_type,
        source_number=source_number,
        reverses_id=reverses_id,
    )
    entry.lines = [
        JournalLine(
            account_id=p.account_id,
            debit=money(p.debit),
            credit=money(p.credit),
            branch_id=p.branch_id,
            memo=p.memo,
        )
        for p in lines
    ]
    db.session.add(entry)
    return entry


def checked_lines(
    postings: list[Posting], source_type: str, accounts: Callable[[set[int]], Mapping[int, Any]]
) -> list[Posting] | None:
    """The non-zero lines of a valid entry, ``None`` for a document entry with nothing to post.

    Raises :class:`Invalid` when the entry does not balance, is empty, or posts to a missing or
    group account; ``accounts(ids)`` gives the accounts that exist (with ``code`` and ``is_group``).
    """
    rounded = [(p, money(p.debit), money(p.credit)) for p in postings]
    nonzero = [(p, d, c) for p, d, c in rounded if d or c]
    lines = [p for p, _, _ in nonzero]
    if not lines and source_type != "manual":
        return None
    errors: list[str] = []
    for index, (_, d, c) in enumerate(nonzero, start=1):
        if d < 0 or c < 0:
            errors.append(f"line {index}: amounts cannot be negative")
        if d and c:
            errors.append(f"line {index}: a line is either a debit or a credit")
    debit = sum((d for _, d, _ in nonzero), ZERO)
    credit = sum((c for _, _, c in nonzero), ZERO)
    if not lines:
        errors.append("an entry needs at least one non-zero line")
    if debit != credit:
        errors.append(f"debits {debit} and credits {credit} differ by {debit - credit}")
    account_ids = {p.account_id for p in lines}
    _check_accounts_postable(account_ids, accounts(account_ids), errors)
    if errors:
        raise Invalid("The journal entry is not valid: " + "; ".join(errors), {"lines": errors})
    return lines


_ENTRIES = JournalEntry.__table__
_INSERT_ENTRY = insert(_ENTRIES).returning(_ENTRIES.c.id)
_INSERT_LINES = insert(JournalLine.__table__)


def insert_entry(
    number: str,
    entry_date: date,
    lines: list[Posting],
    *,
    memo: str | None,
    source_type: str,
    source_number: str | None,
    created_at: datetime,
) -> int:
    """Insert an entry whose ``lines`` passed :func:`checked_lines` (two statements); returns its id."""
    entry_id: int = execute(
        _INSERT_ENTRY,
        {"number": number, "date": entry_date, "memo": memo, "source_type": source_type,
         "source_number": source_number, "reverses_id": None, "created_at": created_at},
    ).scalar_one()
    execute(
        _INSERT_LINES,
        [
            {"entry_id": entry_id, "account_id": p.account_id, "debit": money(p.debit),
             "credit": money(p.credit), "branch_id": p.branch_id, "memo": p.memo}
            for p in lines
        ],
    )
    return entry_id


def _postable_accounts(account_ids: set[int]) -> dict[int, Account]:
    return {
        account.id: account
        for account in db.session.execute(
            select(Account).where(Account.id.in_(account_ids))
        ).scalars()
    }


def _check_accounts_postable(account_ids: set[int], found: Mapping[int, Any], errors: list[str]) -> None:
    for account_id in sorted(account_ids):
        account = found.get(account_id)
        if account is None:
            errors.append(f"account {account_id} does not exist")
        elif account.is_group:
            errors.append(f"account {account.code} is a group account and takes no postings")


def post_manual_entry(draft: ManualEntryDraft) -> JournalEntry:
    """Post a manual journal entry in its own transaction."""
    with atomic():
        entry = write_entry(draft.date, draft.lines, memo=draft.memo)
        assert entry is not None
    return entry


def reverse_entry(entry_id: int, reversal_date: date, memo: str | None = None) -> JournalEntry:
    """Post the mirror image of a manual entry; the original stays untouched.

    Entries produced by documents (invoices, returns, requisitions) are corrected
    through those documents, so their stock and ledger stay in step.
    """
    with atomic():
        original = db.session.get(JournalEntry, entry_id)
        if original is None:
            raise NotFound(f"Journal entry {entry_id} does not exist.")
        if original.source_type != "manual":
            raise Invalid(
                f"Entry {original.number} belongs to {original.source_number}; "
                "correct it through that document (e.g. a return invoice)."
            )
        mirrored = [
            Posting(line.account_id, debit=line.credit, credit=line.debit, branch_id=line.branch_id, memo=line.memo)
            for line in original.lines
        ]
        try:
            with db.session.begin_nested():
                reversal = write_entry(
                    reversal_date,
                    mirrored,
                    memo=memo or f"Reversal of {original.number}",
                    source_type="reversal",
                    source_number=original.number,
                    reverses_id=original.id,
                )
                assert reversal is not None
                db.session.flush()
        except IntegrityError:
            raise Conflict(f"Entry {original.number} has already been reversed.") from None
    return reversal
