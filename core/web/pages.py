"""Helpers the accounting, sales and catalog pages share: pages of rows, form errors, names."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import validate
from marshmallow.exceptions import ValidationError as MarshmallowError
from sqlalchemy import Select, func, select
from wtforms import Form
from wtforms.fields import Field, FieldList, FormField
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

try:  # WTForms >= 3.3
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None  # type: ignore[assignment,misc]

from core.extensions import db
from core.services.errors import ServiceError
from core.web.i18n import is_rtl

PER_PAGE = 50

#: Field messages the services use, marked for translation.
SERVICE_MESSAGES = {
    "already exists": _l("already exists"),
    "must be greater than 0": _l("must be greater than 0"),
    "cannot be negative": _l("cannot be negative"),
    "at least one line": _l("at least one line"),
    "must be a group account": _l("must be a group account"),
}


@dataclass
class Page:
    """One page of rows, with what the ``pager`` macro needs."""

    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.per_page - 1) // self.per_page)

    def url(self, number: int) -> str:
        """This page's address with the same filters and another page number."""
        args = {k: v for k, v in request.args.items() if k != "page"}
        return url_for(request.endpoint or "", **(request.view_args or {}), **args, page=number)


def page_number() -> int:
    number = request.args.get("page", type=int) or 1
    return max(number, 1)


def paginate(statement: Select[Any], per_page: int = PER_PAGE) -> Page:
    """The current page (``?page=``) of the rows ``statement`` selects."""
    number = page_number()
    total = db.session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    rows = db.session.execute(statement.limit(per_page).offset((number - 1) * per_page)).scalars().all()
    return Page(rows, number, per_page, total)


def paginate_list(items: Sequence[Any], per_page: int = PER_PAGE) -> Page:
    """The current page of an already computed list (reports)."""
    number = page_number()
    start = (number - 1) * per_page
    return Page(items[start : start + per_page], number, per_page, len(items))


def show_service_error(form: Form, error: ServiceError, aliases: dict[str, str] | None = None) -> list[str]:
    """Put the service's field messages next to the form's fields.

    ``aliases`` renames service fields to form fields (``{"product_id": "product"}``); dotted
    names such as ``lines.2.quantity`` reach into field lists. Returns the messages that belong
    to no field (the page shows them above the form); the error's own message when none does.
    """
    aliases = aliases or {}
    unplaced: list[str] = []
    placed = False
    for name, messages in error.fields.items():
        texts = [_translate(m) for m in (messages if isinstance(messages, list | tuple) else [messages])]
        target = _find_field(form, str(name), aliases)
        if target is None or isinstance(target, FieldList | FormField):
            unplaced.extend(texts)
            continue
        target.errors = [*_errors_list(target), *texts]
        placed = True
    if not placed and not unplaced:
        unplaced.append(error.message)
    return unplaced


def _translate(message: Any) -> str:
    text = str(message)
    return str(SERVICE_MESSAGES.get(text, text))


def _errors_list(field: Field) -> list[str]:
    errors = field.errors
    return list(errors) if isinstance(errors, list | tuple) else []


def _find_field(form: Form, name: str, aliases: dict[str, str]) -> Field | None:
    current: Any = form
    for part in name.split("."):
        part = aliases.get(part, part)
        if isinstance(current, FieldList):
            if not part.isdigit() or int(part) >= len(current.entries):
                return None
            current = current.entries[int(part)]
            continue
        if isinstance(current, FormField):
            current = current.form
        try:
            current = current[part]
        except (KeyError, TypeError):
            return None
    return current if isinstance(current, Field) else None


class Rows(FieldList):
    """A fixed number of line rows (``min_entries``); rows missing from the posted form stay empty.

    WTForms 3.3 renumbers the posted rows and would fill the remaining ones from the same form
    data, so a form posting rows 0, 2 and 3 would get row 3 twice.
    """

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        wanted, self.min_entries = self.min_entries, 0
        try:
            super().process(formdata, data, extra_filters)
        finally:
            self.min_entries = wanted
        while len(self.entries) < self.min_entries:
            self._add_entry(None)


def blank_to_none(value: Any) -> Any:
    """WTForms filter: an empty text box means "none" (unique columns must not hold "")."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def valid_email(_form: Form, field: Field) -> None:
    """WTForms validator: the same e-mail check as the API's (marshmallow)."""
    if field.data:
        try:
            validate.Email()(field.data)
        except MarshmallowError:
            raise ValidationError(_("Enter a valid email address.")) from None


def label(row: Any) -> str:
    """A row's name in the page's language (``name_ar`` in Arabic when it has one)."""
    if row is None:
        return ""
    if is_rtl():
        arabic = getattr(row, "name_ar", None)
        if arabic:
            return str(arabic)
    return str(getattr(row, "name_en", None) or getattr(row, "name", ""))


def kind_label(kind: str | None) -> str:
    """Document and movement kinds as people say them."""
    return str(KINDS.get(kind or "", kind or ""))


KINDS = {
    "manual": _l("Manual entry"),
    "sales_invoice": _l("Sales invoice"),
    "return_invoice": _l("Return invoice"),
    "payment_voucher": _l("Payment voucher"),
    "inbound_requisition": _l("Inbound requisition"),
    "opening_balance": _l("Opening balance"),
    "reversal": _l("Reversal"),
    "stock_revaluation": _l("Stock revaluation"),
    "sale": _l("Sale"),
    "return": _l("Return"),
    "adjustment": _l("Adjustment"),
    "approved": _l("Approved"),
    "paid": _l("Paid"),
    "received": _l("Received"),
    "refunded": _l("Refunded"),
    "asset": _l("Asset"),
    "liability": _l("Liability"),
    "equity": _l("Equity"),
    "revenue": _l("Revenue"),
    "expense": _l("Expense"),
}


def template_helpers() -> dict[str, Any]:
    """Context for the pages of these blueprints."""
    return {"label": label, "kind_label": kind_label}


def optional_id(value: Any) -> int | None:
    """Coerce a select's value to a row id: "" means none."""
    if value in (None, "", "None"):
        return None
    return int(value)


def choice(value: Any, text: Any) -> Any:
    """One option of a select (WTForms 3.3 wants ``SelectChoice``; older versions take a pair)."""
    return SelectChoice(str(value), text) if SelectChoice is not None else (str(value), text)


def choices(*pairs: tuple[Any, Any]) -> list[Any]:
    return [choice(value, text) for value, text in pairs]


def choice_none() -> Any:
    return choice("", _("— none —"))
