"""Accounting pages: chart of accounts, journal, account ledger, trial balance, manual entries."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import DateField, DecimalField, Form, FormField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.extensions import db
from core.models import (
    Account,
    InboundRequisition,
    JournalEntry,
    JournalLine,
    PaymentVoucher,
    ReturnInvoice,
    SalesInvoice,
)
from core.models.accounts import DEBIT_NORMAL_TYPES
from core.money import ZERO
from core.services.errors import ServiceError
from core.services.journal import ManualEntryDraft, Posting, post_manual_entry
from core.services.reports import ledger_page, trial_balance
from core.web import pages
from core.web.auth import role_required

blueprint = Blueprint("accounting", __name__, url_prefix="/accounting")
blueprint.context_processor(pages.template_helpers)

ENTRY_ROWS = 6


# --- chart of accounts ------------------------------------------------------------------


@dataclass
class AccountNode:
    account: Account
    depth: int
    balance: Decimal = ZERO
    children: list[AccountNode] = field(default_factory=list)


@blueprint.get("/")
@blueprint.get("/accounts")
@role_required("viewer")
def accounts():  # noqa: ANN201
    """The chart of accounts as a tree; balances on each account's normal side, groups summed."""
    sums = {
        account_id: Decimal(debit) - Decimal(credit)
        for account_id, debit, credit in db.session.execute(
            select(
                JournalLine.account_id,
                func.coalesce(func.sum(JournalLine.debit), 0),
                func.coalesce(func.sum(JournalLine.credit), 0),
            ).group_by(JournalLine.account_id)
        )
    }
    rows = db.session.execute(select(Account).order_by(Account.code)).scalars().all()
    children: dict[int | None, list[Account]] = defaultdict(list)
    for account in rows:
        children[account.parent_id].append(account)

    def build(account: Account, depth: int) -> AccountNode:
        node = AccountNode(account, depth)
        sign = 1 if account.type in DEBIT_NORMAL_TYPES else -1
        node.balance = sign * sums.get(account.id, ZERO)
        for child in children.get(account.id, []):
            child_node = build(child, depth + 1)
            child_sign = 1 if child.type in DEBIT_NORMAL_TYPES else -1
            node.balance += sign * child_sign * child_node.balance
            node.children.append(child_node)
        node.balance = node.balance.quantize(Decimal("0.01"))
        return node

    known = {a.id for a in rows}
    roots = [build(a, 0) for a in rows if a.parent_id is None or a.parent_id not in known]
    flat: list[AccountNode] = []

    def flatten(node: AccountNode) -> None:
        flat.append(node)
        for child in node.children:
            flatten(child)

    for root in roots:
        flatten(root)
    return render_template("accounting/accounts.html", nodes=flat)


# --- journal ---------------------------------------------------------------------------


@blueprint.get("/journal")
@role_required("viewer")
def journal():  # noqa: ANN201
    """Journal entries, newest first, a page at a time."""
    filters = JournalFilters(request.args)
    statement = (
        select(JournalEntry)
        .options(selectinload(JournalEntry.lines))
        .order_by(JournalEntry.date.desc(), JournalEntry.id.desc())
    )
    if filters.validate():
        if filters.source_type.data:
            statement = statement.where(JournalEntry.source_type == filters.source_type.data)
        if filters.date_from.data:
            statement = statement.where(JournalEntry.date >= filters.date_from.data)
        if filters.date_to.data:
            statement = statement.where(JournalEntry.date <= filters.date_to.data)
        if filters.q.data:
            text = filters.q.data.strip()
            statement = statement.where(
                JournalEntry.number.icontains(text, autoescape=True)
                | JournalEntry.source_number.icontains(text, autoescape=True)
                | JournalEntry.memo.icontains(text, autoescape=True)
            )
    return render_template("accounting/journal.html", page=pages.paginate(statement), filters=filters)


class JournalFilters(Form):
    q = StringField(_l("Number or memo"), validators=[Optional(), Length(max=100)])
    source_type = SelectField(
        _l("Source"),
        choices=pages.choices(
            ("", _l("All")),
            ("manual", _l("Manual entry")),
            ("sales_invoice", _l("Sales invoice")),
            ("payment_voucher", _l("Payment voucher")),
            ("return_invoice", _l("Return invoice")),
            ("inbound_requisition", _l("Inbound requisition")),
            ("opening_balance", _l("Opening balance")),
            ("reversal", _l("Reversal")),
            ("stock_revaluation", _l("Stock revaluation")),
        ),
        validators=[Optional()],
    )
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


@blueprint.get("/journal/<int:entry_id>")
@role_required("viewer")
def entry(entry_id: int):  # noqa: ANN201
    """One journal entry with its lines and the document that produced it."""
    journal_entry = db.session.get(JournalEntry, entry_id) or abort(404)
    totals = (
        sum((line.debit for line in journal_entry.lines), ZERO),
        sum((line.credit for line in journal_entry.lines), ZERO),
    )
    reversal = db.session.execute(
        select(JournalEntry).where(JournalEntry.reverses_id == journal_entry.id)
    ).scalar_one_or_none()
    reversed_entry = db.session.get(JournalEntry, journal_entry.reverses_id) if journal_entry.reverses_id else None
    return render_template(
        "accounting/entry.html", entry=journal_entry, totals=totals, source_url=source_url(journal_entry),
        reversal=reversal, reversed_entry=reversed_entry,
    )


def source_url(journal_entry: JournalEntry) -> str | None:
    """The page of the document that produced ``journal_entry``, when there is one."""
    number = journal_entry.source_number
    if not number:
        return None
    if journal_entry.source_type == "sales_invoice":
        found = _id_by_number(SalesInvoice, number)
        return url_for("sales.invoice", invoice_id=found) if found else None
    if journal_entry.source_type == "return_invoice":
        found = _id_by_number(ReturnInvoice, number)
        return url_for("sales.return_invoice", return_id=found) if found else None
    if journal_entry.source_type in ("inbound_requisition", "opening_balance"):
        found = _id_by_number(InboundRequisition, number)
        return url_for("catalog.requisition", requisition_id=found) if found else None
    if journal_entry.source_type == "payment_voucher":
        voucher = db.session.execute(
            select(PaymentVoucher).where(PaymentVoucher.number == number)
        ).scalar_one_or_none()
        if voucher is not None and voucher.invoice_id:
            return url_for("sales.invoice", invoice_id=voucher.invoice_id)
        if voucher is not None and voucher.return_invoice_id:
            return url_for("sales.return_invoice", return_id=voucher.return_invoice_id)
    if journal_entry.source_type == "reversal" and journal_entry.reverses_id:
        return url_for("accounting.entry", entry_id=journal_entry.reverses_id)
    return None


def _id_by_number(model: Any, number: str) -> int | None:
    return db.session.execute(select(model.id).where(model.number == number)).scalar_one_or_none()


# --- manual entries ----------------------------------------------------------------------


class EntryLineForm(Form):
    account_id = SelectField(_l("Account"), coerce=pages.optional_id, validate_choice=False)
    debit = DecimalField(_l("Debit"), places=2, validators=[Optional(), NumberRange(min=0)])
    credit = DecimalField(_l("Credit"), places=2, validators=[Optional(), NumberRange(min=0)])
    memo = StringField(_l("Memo"), validators=[Optional(), Length(max=500)])


class ManualEntryForm(FlaskForm):
    date = DateField(_l("Date"), validators=[DataRequired()], default=date.today)
    memo = StringField(_l("Memo"), validators=[Optional(), Length(max=500)])
    lines = pages.Rows(FormField(EntryLineForm), min_entries=ENTRY_ROWS, max_entries=ENTRY_ROWS)


@blueprint.route("/journal/new", methods=["GET", "POST"])
@role_required("accountant")
def new_entry():  # noqa: ANN201
    """A manual journal entry: debits must equal credits."""
    form = ManualEntryForm()
    choices = [pages.choice_none()] + [
        pages.choice(a.id, f"{a.code} · {pages.label(a)}")
        for a in db.session.execute(
            select(Account).where(Account.is_group.is_(False)).order_by(Account.code)
        ).scalars()
    ]
    for row in form.lines:
        row.form.account_id.choices = choices
    problems: list[str] = []
    if form.validate_on_submit():
        postings = _postings(form)
        if postings is not None:
            try:
                posted = post_manual_entry(
                    ManualEntryDraft(form.date.data, postings, memo=(form.memo.data or "").strip() or None)
                )
            except ServiceError as error:
                problems = pages.show_service_error(form, error)
            else:
                flash(_("Journal entry %(number)s is posted.", number=posted.number), "info")
                return redirect(url_for("accounting.entry", entry_id=posted.id))
    return render_template("accounting/entry_form.html", form=form, problems=problems)


def _postings(form: ManualEntryForm) -> list[Posting] | None:
    """The filled rows as postings; None (with errors on the rows) when a row is incomplete."""
    postings = []
    valid = True
    for row in form.lines:
        line = row.form
        debit, credit = line.debit.data or ZERO, line.credit.data or ZERO
        if line.account_id.data is None:
            if debit or credit:
                line.account_id.errors = [_("Choose an account for this amount.")]
                valid = False
            continue
        if not debit and not credit:
            line.debit.errors = [_("Enter a debit or a credit.")]
            valid = False
            continue
        if debit and credit:
            line.credit.errors = [_("A line is either a debit or a credit.")]
            valid = False
            continue
        postings.append(Posting(line.account_id.data, debit=debit, credit=credit, memo=line.memo.data or None))
    if valid and not postings:
        form.lines[0].form.account_id.errors = [_("Enter at least two lines.")]
        valid = False
    return postings if valid else None


# --- reports ------------------------------------------------------------------------------


class LedgerFilters(Form):
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


#: Postings per page of the ledger page.
LEDGER_PAGE = 100


@blueprint.get("/accounts/<int:account_id>/ledger")
@role_required("viewer")
def ledger(account_id: int):  # noqa: ANN201
    """An account's postings between two dates with the running balance."""
    account = db.session.get(Account, account_id) or abort(404)
    filters = LedgerFilters(request.args)
    valid = filters.validate()
    date_from = filters.date_from.data if valid else None
    date_to = filters.date_to.data if valid else None
    number = pages.page_number()
    ledger = ledger_page(account, date_from, date_to, limit=LEDGER_PAGE, offset=(number - 1) * LEDGER_PAGE)
    return render_template(
        "accounting/ledger.html", account=account, filters=filters, opening=ledger.opening,
        closing=ledger.closing, page=pages.Page(ledger.rows, number, LEDGER_PAGE, ledger.count),
        totals=(ledger.total_debit, ledger.total_credit),
        normal_side=_("debit") if account.type in DEBIT_NORMAL_TYPES else _("credit"),
    )


class TrialBalanceFilters(Form):
    as_of = DateField(_l("As of"), validators=[Optional()])


@blueprint.get("/trial-balance", endpoint="trial_balance")
@role_required("viewer")
def trial_balance_page():  # noqa: ANN201
    """Debits, credits and the balance of every account with postings, up to a date."""
    filters = TrialBalanceFilters(request.args)
    as_of = filters.as_of.data if filters.validate() else None
    report = trial_balance(as_of)
    balance_debit = sum((max(r.balance, ZERO) for r in report.rows), ZERO)
    balance_credit = sum((max(-r.balance, ZERO) for r in report.rows), ZERO)
    return render_template(
        "accounting/trial_balance.html", filters=filters, report=report, as_of=as_of,
        balance_debit=balance_debit, balance_credit=balance_credit,
    )
