"""Manual entries, immutability of posted rows, reversals (core/services/journal.py)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.extensions import db
from core.models import Account, ImmutableRowError, JournalEntry, JournalLine, StockMovement
from core.services.chart import account_by_key
from core.services.errors import Conflict, Invalid, NotFound
from core.services.journal import ManualEntryDraft, Posting, post_manual_entry, reverse_entry
from core.services.reports import trial_balance
from tests.builders import balance, count, entry_lines

D = Decimal
ZERO = D("0.00")


def test_a_balanced_manual_entry_is_posted_with_its_lines(build):
    entry = build.manual_entry([("cash", "250.00", "0"), ("bank", "0", "100.00"), ("sales", "0", "150.00")])
    assert (entry.number, entry.source_type, entry.reverses_id) == ("JE-000001", "manual", None)
    assert entry_lines(entry.id) == {
        "cash": (D("250.00"), ZERO),
        "bank": (ZERO, D("100.00")),
        "sales": (ZERO, D("150.00")),
    }
    assert (balance("cash"), balance("bank"), balance("sales")) == (D("250.00"), D("-100.00"), D("-150.00"))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([("cash", "100.00", "0"), ("bank", "0", "99.99")], "differ by 0.01"),
        ([("cash", "10", "10"), ("bank", "0", "0")], "either a debit or a credit"),
        ([("cash", "-5", "0"), ("bank", "0", "-5")], "cannot be negative"),
        ([("cash", "0", "0")], "at least one non-zero line"),
    ],
)
def test_unbalanced_or_malformed_entries_are_refused(build, lines, message):
    with pytest.raises(Invalid) as error:
        build.manual_entry(lines)
    assert message in error.value.message
    assert (count(JournalEntry), count(JournalLine)) == (0, 0)


def test_group_accounts_take_no_postings(build):
    group = db.session.execute(db.select(Account).where(Account.code == "11")).scalar_one()
    with pytest.raises(Invalid) as error:
        post_manual_entry(ManualEntryDraft(date(2026, 1, 1), [
            Posting(group.id, debit=D("1")), Posting(account_by_key("bank").id, credit=D("1")),
        ]))
    assert "group account" in error.value.message
    assert count(JournalEntry) == 0


def test_posted_entries_cannot_be_updated(build):
    entry = build.manual_entry([("cash", "10", "0"), ("bank", "0", "10")])
    entry.memo = "rewritten"
    with pytest.raises(ImmutableRowError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(JournalEntry, entry.id).memo is None


def test_posted_lines_cannot_be_updated_or_deleted(build):
    entry = build.manual_entry([("cash", "10", "0"), ("bank", "0", "10")])
    line = entry.lines[0]
    line.debit = D("1000")
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(JournalLine, line.id))
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    assert balance("cash") == D("10.00")
    assert count(JournalLine) == 2


def test_posted_entries_cannot_be_deleted(build):
    entry = build.manual_entry([("cash", "10", "0"), ("bank", "0", "10")])
    db.session.delete(entry)
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    assert count(JournalEntry) == 1


def test_stock_movements_cannot_be_updated_or_deleted(build):
    warehouse, product = build.warehouse(), build.product()
    build.stock(product, warehouse, "2", "5")
    movement = db.session.execute(db.select(StockMovement)).scalar_one()
    movement.quantity = D("200")
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.execute(db.select(StockMovement)).scalar_one())
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    assert db.session.execute(db.select(StockMovement.quantity)).scalar_one() == D("2.000")


def test_a_reversal_mirrors_the_entry_and_nets_every_account_to_zero(build):
    original = build.manual_entry([("cash", "250.00", "0"), ("bank", "0", "100.00"), ("sales", "0", "150.00")])
    reversal = reverse_entry(original.id, date(2026, 2, 1))
    assert (reversal.source_type, reversal.source_number, reversal.reverses_id) == (
        "reversal", original.number, original.id
    )
    assert reversal.memo == f"Reversal of {original.number}"
    assert entry_lines(reversal.id) == {
        "cash": (ZERO, D("250.00")),
        "bank": (D("100.00"), ZERO),
        "sales": (D("150.00"), ZERO),
    }
    for key in ("cash", "bank", "sales"):
        assert balance(key) == ZERO
    assert trial_balance().difference == 0
    assert entry_lines(original.id)["cash"] == (D("250.00"), ZERO)  # the original is untouched


def test_an_entry_is_reversed_once_only(build):
    original = build.manual_entry([("cash", "10", "0"), ("bank", "0", "10")])
    reverse_entry(original.id, date(2026, 2, 1))
    with pytest.raises(Conflict) as error:
        reverse_entry(original.id, date(2026, 2, 2))
    assert "already been reversed" in error.value.message
    assert count(JournalEntry) == 2
    assert (balance("cash"), balance("bank")) == (ZERO, ZERO)


def test_document_entries_and_reversals_are_not_reversed_by_hand(build):
    warehouse, branch, client, product = build.sale_setup()
    invoice = build.invoice(client, branch, warehouse, [(product, "1", "10")])
    with pytest.raises(Invalid) as error:
        reverse_entry(invoice.journal_entry_id, date(2026, 2, 1))
    assert invoice.number in error.value.message
    original = build.manual_entry([("cash", "10", "0"), ("bank", "0", "10")])
    reversal = reverse_entry(original.id, date(2026, 2, 1))
    with pytest.raises(Invalid):
        reverse_entry(reversal.id, date(2026, 2, 2))
    assert count(JournalEntry) == 4  # inbound, invoice, manual, reversal


def test_reversing_an_unknown_entry_is_not_found(ctx):
    with pytest.raises(NotFound):
        reverse_entry(999999, date(2026, 1, 1))
