"""Sales pages: invoices (with a printable copy), return invoices and clients."""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import DateField, EmailField, Form, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from core.extensions import db
from core.models import (
    Account,
    Branch,
    Client,
    PaymentVoucher,
    ReturnInvoice,
    SalesInvoice,
    StoreOrder,
    Warehouse,
)
from core.services.company import company_settings
from core.services.errors import ServiceError
from core.services.master_data import create_record
from core.web import pages
from core.web.auth import role_required

blueprint = Blueprint("sales", __name__, url_prefix="/sales")
blueprint.context_processor(pages.template_helpers)

#: What came back of an invoice, shown beside (or, when all of it did, instead of) its status.
RETURN_STATES = {"returned": _l("Returned"), "partly_returned": _l("Partly returned")}


def returned_totals(invoice_ids: Iterable[int]) -> dict[int, Decimal]:
    """The total of the return invoices (VAT included) of each invoice that has any."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(ReturnInvoice.invoice_id, func.sum(ReturnInvoice.total))
        .where(ReturnInvoice.invoice_id.in_(ids)).group_by(ReturnInvoice.invoice_id)
    ).all()
    return {invoice_id: Decimal(total) for invoice_id, total in rows}


def return_state(total: Decimal, returned: Decimal) -> str | None:
    """``returned`` when the returns cover the whole total, ``partly_returned`` when some came back."""
    if returned <= 0:
        return None
    return "returned" if returned >= total else "partly_returned"


def return_summary(invoice: SalesInvoice, returned: Decimal | None) -> dict[str, object]:
    """What the pages show of an invoice's returns: the returned total, the net amount, the state."""
    amount = Decimal(returned or 0)
    state = return_state(invoice.total, amount)
    return {"returned": amount, "net": invoice.total - amount, "state": state,
            "state_label": RETURN_STATES.get(state or "")}


# --- sales invoices ---------------------------------------------------------------------


class InvoiceFilters(Form):
    client = StringField(_l("Client"), validators=[Optional(), Length(max=200)])
    client_id = IntegerField(validators=[Optional()])
    status = SelectField(
        _l("Status"), choices=pages.choices(("", _l("All")), ("approved", _l("Approved")), ("paid", _l("Paid"))),
        validators=[Optional()],
    )
    number = StringField(_l("Number or reference"), validators=[Optional(), Length(max=100)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


@blueprint.get("/")
@blueprint.get("/invoices")
@role_required("viewer")
def invoices():  # noqa: ANN201
    """Sales invoices, newest first, filtered by client, status, number and date."""
    filters = InvoiceFilters(request.args)
    statement = (
        select(SalesInvoice)
        .join(Client, Client.id == SalesInvoice.client_id)
        .options(selectinload(SalesInvoice.client))
        .order_by(SalesInvoice.date.desc(), SalesInvoice.id.desc())
    )
    client = None
    if filters.validate():
        if filters.client_id.data:
            client = db.session.get(Client, filters.client_id.data)
            statement = statement.where(SalesInvoice.client_id == filters.client_id.data)
        if filters.client.data:
            statement = statement.where(_client_matches(filters.client.data))
        if filters.status.data:
            statement = statement.where(SalesInvoice.status == filters.status.data)
        if filters.number.data:
            text = filters.number.data.strip()
            statement = statement.where(
                SalesInvoice.number.icontains(text, autoescape=True)
                | SalesInvoice.reference.icontains(text, autoescape=True)
            )
        if filters.date_from.data:
            statement = statement.where(SalesInvoice.date >= filters.date_from.data)
        if filters.date_to.data:
            statement = statement.where(SalesInvoice.date <= filters.date_to.data)
    page = pages.paginate(statement)
    returned = returned_totals(invoice.id for invoice in page.items)
    summaries = {invoice.id: return_summary(invoice, returned.get(invoice.id)) for invoice in page.items}
    return render_template(
        "sales/invoices.html", page=page, filters=filters, client=client, returns=summaries
    )


def _client_matches(text: str):  # noqa: ANN202
    text = text.strip()
    return or_(
        Client.name.icontains(text, autoescape=True),
        Client.email.icontains(text, autoescape=True),
        Client.phone.icontains(text, autoescape=True),
    )


@blueprint.get("/invoices/<int:invoice_id>")
@role_required("viewer")
def invoice(invoice_id: int):  # noqa: ANN201
    """One invoice: lines, the VAT breakdown, payments, returns, its entry and its store order."""
    sales_invoice = db.session.get(SalesInvoice, invoice_id) or abort(404)
    returns = db.session.execute(
        select(ReturnInvoice).where(ReturnInvoice.invoice_id == sales_invoice.id).order_by(ReturnInvoice.id)
    ).scalars().all()
    return render_template(
        "sales/invoice.html", invoice=sales_invoice, returns=returns, **_invoice_context(sales_invoice)
    )


@blueprint.get("/invoices/<int:invoice_id>/print")
@role_required("viewer")
def invoice_print(invoice_id: int):  # noqa: ANN201
    """A clean A4 copy of the invoice, in the page's language and direction."""
    sales_invoice = db.session.get(SalesInvoice, invoice_id) or abort(404)
    return render_template(
        "sales/invoice_print.html", invoice=sales_invoice, company=company_settings(),
        **_invoice_context(sales_invoice),
    )


def _invoice_context(sales_invoice: SalesInvoice) -> dict[str, object]:
    payments = db.session.execute(
        select(PaymentVoucher, Account)
        .join(Account, Account.id == PaymentVoucher.account_id)
        .where(PaymentVoucher.invoice_id == sales_invoice.id)
        .order_by(PaymentVoucher.id)
    ).all()
    return {
        "branch": db.session.get(Branch, sales_invoice.branch_id),
        "warehouse": db.session.get(Warehouse, sales_invoice.warehouse_id),
        "payments": payments,
        "store_order_url": store_order_url(sales_invoice.id),
        "gross": sales_invoice.lines_net + sales_invoice.discount_net,
        "return_summary": return_summary(sales_invoice, returned_totals([sales_invoice.id]).get(sales_invoice.id)),
    }


def store_order_url(invoice_id: int) -> str | None:
    """The integration page of the store order this invoice books, once that page exists."""
    if "sync.order" not in current_app.view_functions:
        return None
    order_id = db.session.execute(
        select(StoreOrder.id).where(StoreOrder.invoice_id == invoice_id)
    ).scalar_one_or_none()
    return url_for("sync.order", order_id=order_id) if order_id is not None else None


# --- return invoices --------------------------------------------------------------------


class ReturnFilters(Form):
    number = StringField(_l("Number or reference"), validators=[Optional(), Length(max=100)])
    client = StringField(_l("Client"), validators=[Optional(), Length(max=200)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


@blueprint.get("/returns")
@role_required("viewer")
def returns():  # noqa: ANN201
    """Return invoices (credit notes), newest first."""
    filters = ReturnFilters(request.args)
    statement: Select[tuple[ReturnInvoice]] = (
        select(ReturnInvoice)
        .join(Client, Client.id == ReturnInvoice.client_id)
        .options(selectinload(ReturnInvoice.invoice))
        .order_by(ReturnInvoice.date.desc(), ReturnInvoice.id.desc())
    )
    if filters.validate():
        if filters.number.data:
            text = filters.number.data.strip()
            statement = statement.where(
                ReturnInvoice.number.icontains(text, autoescape=True)
                | ReturnInvoice.reference.icontains(text, autoescape=True)
            )
        if filters.client.data:
            statement = statement.where(_client_matches(filters.client.data))
        if filters.date_from.data:
            statement = statement.where(ReturnInvoice.date >= filters.date_from.data)
        if filters.date_to.data:
            statement = statement.where(ReturnInvoice.date <= filters.date_to.data)
    page = pages.paginate(statement)
    clients = _clients_by_id({r.client_id for r in page.items})
    return render_template("sales/returns.html", page=page, filters=filters, clients=clients)


def _clients_by_id(ids: set[int]) -> dict[int, Client]:
    if not ids:
        return {}
    return {c.id: c for c in db.session.execute(select(Client).where(Client.id.in_(ids))).scalars()}


@blueprint.get("/returns/<int:return_id>")
@role_required("viewer")
def return_invoice(return_id: int):  # noqa: ANN201
    """One return invoice: what came back, its VAT, the refund and the entry."""
    credit_note = db.session.get(ReturnInvoice, return_id) or abort(404)
    refunds = db.session.execute(
        select(PaymentVoucher, Account)
        .join(Account, Account.id == PaymentVoucher.account_id)
        .where(PaymentVoucher.return_invoice_id == credit_note.id)
        .order_by(PaymentVoucher.id)
    ).all()
    return render_template(
        "sales/return.html", credit_note=credit_note, refunds=refunds,
        client=db.session.get(Client, credit_note.client_id),
        warehouse=db.session.get(Warehouse, credit_note.warehouse_id),
    )


# --- clients ------------------------------------------------------------------------------


class ClientSearch(Form):
    q = StringField(_l("Name, email or phone"), validators=[Optional(), Length(max=200)])


@blueprint.get("/clients")
@role_required("viewer")
def clients():  # noqa: ANN201
    """Clients, by name, searchable by name, email or phone."""
    search = ClientSearch(request.args)
    statement = select(Client).order_by(Client.name, Client.id)
    if search.validate() and search.q.data:
        statement = statement.where(_client_matches(search.q.data))
    return render_template("sales/clients.html", page=pages.paginate(statement), search=search)


class ClientForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], filters=[pages.blank_to_none])
    email = EmailField(
        _l("Email"), validators=[Optional(), pages.valid_email, Length(max=254)], filters=[pages.blank_to_none]
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)], filters=[pages.blank_to_none])
    vat_number = StringField(
        _l("VAT number"), validators=[Optional(), Length(max=30)], filters=[pages.blank_to_none]
    )


@blueprint.route("/clients/new", methods=["GET", "POST"])
@role_required("accountant")
def new_client():  # noqa: ANN201
    form = ClientForm()
    problems: list[str] = []
    if form.validate_on_submit():
        fields = {name: form[name].data for name in ("name", "email", "phone", "vat_number")}
        try:
            created = create_record(Client, fields)
        except ServiceError as error:
            problems = pages.show_service_error(form, error)
        else:
            flash(_("Client %(name)s is saved.", name=created.name), "info")
            return redirect(url_for("sales.clients", q=created.name))
    return render_template(
        "sales/client_form.html", form=form, problems=problems
    )
