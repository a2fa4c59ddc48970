"""The sync log with retries (V1), orders that need attention and their re-processing (O5, O6), an order's story (V2)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from core.extensions import db
from core.integration import queries
from core.integration.manual import reprocess_order
from core.jobs import enqueue
from core.models import StoreConnection, StoreOrder, SyncLogEntry
from core.models.store_documents import STATES
from core.models.sync import LOG_STATUSES
from core.services.errors import ServiceError
from core.web.auth import role_required
from core.web.pages import paginate
from core.web.reasons import order_reason
from core.web.redirects import safe_next

blueprint = Blueprint("sync", __name__, url_prefix="/sync")

STATUS_LABELS = {
    "received": _l("received"),
    "booked": _l("booked"),
    "done": _l("done"),
    "skipped": _l("skipped"),
    "needs_attention": _l("needs attention"),
    "failed": _l("failed"),
    "pending": _l("pending"),
    "processed": _l("processed"),  # webhook deliveries
    "ignored": _l("ignored"),
    "waiting": _l("waiting"),  # a delivery waiting for its store's activation, a refund for its order (O11)
    "cancelled": _l("cancelled"),
    "returned": _l("returned"),
    "partly_returned": _l("partly returned"),
}
ORDER_STATES = STATES

#: (words found in a reason, what to do) — the first that matches is shown.
ADVICE = (
    ("foreign_currency", _l("The ERP books orders only in the company's currency: record this order by hand "
                            "(converted to the company's currency) or cancel it in the store. Re-processing keeps "
                            "it held.")),
    ("has no sku", _l("Give the product an SKU in the store (the same code as the ERP's product), "
                      "then re-process the order.")),
    ("settings are incomplete", _l("Open the store's settings and choose the default client, the warehouse and "
                                   "the branch, then re-process the order.")),
    ("differs from the erp", _l("Compare the order's lines, discounts, shipping and tax in the store with the "
                                "components listed; correct the order or the products' prices, then re-process.")),
    ("amounts cannot be booked", _l("Correct the amounts named in the reason in the store, then re-process.")),
    ("store fees are booked against", _l("Open that product in the catalog and turn its stock tracking off (a store "
                                         "fee never moves stock), then re-process the order.")),
    ("insufficient", _l("Receive the missing quantity into the store's warehouse (purchase, inbound requisition or "
                        "adjustment), then re-process.")),
    ("stock", _l("Receive the missing quantity into the store's warehouse, then re-process.")),
)
DEFAULT_ADVICE = _l("Fix the cause named in the reason (in the store or in the ERP), then re-process the order.")


def advice(reason: str | None) -> str:
    """What a person should do about an order held for ``reason``, in plain words."""
    text = (reason or "").lower()
    for words, what in ADVICE:
        if words in text:
            return str(what)
    return str(DEFAULT_ADVICE)


def int_or_none(value: Any) -> int | None:
    """Select coercion: the empty choice is ``None``."""
    if value is None or value == "" or value == "None":
        return None
    return int(value)


def invoice_url(invoice_id: int | None) -> str | None:
    """The sales-invoice page, when the sales pages are installed."""
    if invoice_id is None or "sales.invoice" not in current_app.view_functions:
        return None
    return url_for("sales.invoice", invoice_id=invoice_id)


def document_url(doc: dict[str, Any]) -> str | None:
    if doc.get("type") == "invoice":
        return invoice_url(doc.get("id"))
    return None


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status or ""))


blueprint.context_processor(lambda: {
    "invoice_url": invoice_url, "document_url": document_url, "status_label": status_label, "advice": advice,
    "order_reason": order_reason,
})


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""


class LogFilters(FlaskForm):
    class Meta:
        csrf = False

    store = SelectField(_l("Store"), coerce=int_or_none)
    status = SelectField(_l("Status"), default="")
    kind = SelectField(_l("Kind"), default="")
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("The end date is before the start date."))


class OrderFilters(FlaskForm):
    class Meta:
        csrf = False

    store = SelectField(_l("Store"), coerce=int_or_none)
    state = SelectField(_l("State"), default="")
    number = StringField(_l("Order number"), validators=[Optional(), Length(max=100)])


def _store_choices() -> list[SelectChoice]:
    stores = db.session.execute(select(StoreConnection.id, StoreConnection.name).order_by(StoreConnection.name)).all()
    return [SelectChoice("", _("All stores"))] + [SelectChoice(str(row.id), row.name) for row in stores]


def _store_names() -> dict[int, str]:
    return dict(db.session.execute(select(StoreConnection.id, StoreConnection.name)).all())


def _safe_next(default: str) -> str:
    return safe_next(request.form.get("next"), default)


# -- the sync log (V1) -----------------------------------------------------------------------------------------


@blueprint.get("/")
@role_required("viewer")
def log():  # noqa: ANN201
    form = LogFilters(formdata=request.args)
    form.store.choices = _store_choices()
    form.status.choices = [SelectChoice("", _("All statuses"))] + [
        SelectChoice(status, status_label(status)) for status in LOG_STATUSES
    ]
    kinds = sorted(set(db.session.execute(select(SyncLogEntry.kind).distinct()).scalars()))
    wanted_kind = request.args.get("kind") or ""
    if wanted_kind and wanted_kind not in kinds:
        kinds.append(wanted_kind)
    form.kind.choices = [SelectChoice("", _("All kinds"))] + [SelectChoice(kind, _(kind)) for kind in kinds]
    valid = form.validate() if request.args else True
    filters: dict[str, Any] = {}
    if valid:
        filters = {
            "store_id": form.store.data,
            "status": form.status.data or None,
            "kind": form.kind.data or None,
            "date_from": form.date_from.data,
            "date_to": form.date_to.data,
        }
    page = paginate(queries.sync_log_statement(**filters))
    orders = _orders_for(page.items)
    return render_template("sync/log.html", form=form, page=page, stores=_store_names(), orders=orders,
                           action_form=ActionForm(), valid=valid)


def _orders_for(entries: Any) -> dict[tuple[int, str], int]:
    """Store-order ids by (store, external id) for the log entries that name an order."""
    keys = {(e.store_id, e.external_id) for e in entries if e.kind == "order" and e.external_id and e.store_id}
    if not keys:
        return {}
    rows = db.session.execute(
        select(StoreOrder.id, StoreOrder.store_id, StoreOrder.external_id, StoreOrder.number).where(
            StoreOrder.store_id.in_({k[0] for k in keys}),
            (StoreOrder.external_id.in_({k[1] for k in keys})) | (StoreOrder.number.in_({k[1] for k in keys})),
        )
    ).all()
    found: dict[tuple[int, str], int] = {}
    for row in rows:
        found[(row.store_id, row.external_id)] = row.id
        found.setdefault((row.store_id, row.number), row.id)
    return found


@blueprint.post("/log/<int:entry_id>/retry")
@role_required("accountant")
def retry(entry_id: int):  # noqa: ANN201
    if not ActionForm().validate_on_submit():
        abort(400)
    entry = db.session.get(SyncLogEntry, entry_id)
    if entry is None:
        abort(404)
    back = _safe_next(url_for("sync.log"))
    job = (entry.retry or {}).get("job")
    if not job:
        flash(_("This entry has nothing to retry."), "warning")
        return redirect(back)
    args = list((entry.retry or {}).get("args") or [])
    try:
        enqueue(str(job), *args)
    except Exception:  # a queue that cannot be reached must not end on an error page
        current_app.logger.exception("retry of sync-log entry %s could not be queued", entry_id)
        db.session.rollback()
        flash(_("The retry could not be queued. Check that the job queue is running, then try again."), "error")
        return redirect(back)
    flash(_("Queued again: the result appears in the log as a new entry."), "info")
    return redirect(back)


# -- orders that need attention (O5, O6) and store orders ----------------------------------------------------


@blueprint.get("/attention")
@role_required("viewer")
def attention():  # noqa: ANN201
    page = paginate(queries.store_orders_statement(state="needs_attention"))
    return render_template("sync/attention.html", page=page, stores=_store_names(), action_form=ActionForm(),
                           waiting=queries.waiting_refunds())


@blueprint.get("/orders")
@role_required("viewer")
def orders():  # noqa: ANN201
    form = OrderFilters(formdata=request.args)
    form.store.choices = _store_choices()
    form.state.choices = [SelectChoice("", _("All states"))] + [
        SelectChoice(state, status_label(state)) for state in ORDER_STATES
    ]
    valid = form.validate() if request.args else True
    filters: dict[str, Any] = {}
    if valid:
        filters = {"store_id": form.store.data, "state": form.state.data or None,
                   "number": (form.number.data or "").strip() or None}
    page = paginate(queries.store_orders_statement(**filters))
    return render_template("sync/orders.html", form=form, page=page, stores=_store_names())


@blueprint.get("/orders/<int:order_id>")
@role_required("viewer")
def order(order_id: int):  # noqa: ANN201
    record = db.session.get(StoreOrder, order_id)
    if record is None:
        abort(404)
    story = queries.order_story(record)
    store = db.session.get(StoreConnection, record.store_id)
    return render_template("sync/order.html", story=story, order=record, store=store, action_form=ActionForm())


@blueprint.post("/orders/<int:order_id>/reprocess")
@role_required("accountant")
def reprocess(order_id: int):  # noqa: ANN201
    if not ActionForm().validate_on_submit():
        abort(400)
    record = db.session.get(StoreOrder, order_id)
    if record is None:
        abort(404)
    back = _safe_next(url_for("sync.order", order_id=order_id))
    number = record.number
    try:
        result = reprocess_order(order_id)
    except ServiceError as error:
        db.session.rollback()
        flash(_("Order %(number)s could not be re-processed: %(reason)s", number=number, reason=error.message),
              "error")
        return redirect(back)
    if result.outcome in ("booked", "already_booked"):
        flash(_("Order %(number)s is booked as invoice %(invoice)s.", number=number,
                invoice=result.invoice_number or ""), "info")
    elif result.outcome == "needs_attention":
        flash(_("Order %(number)s still needs attention: %(reason)s", number=number, reason=result.reason or ""),
              "warning")
    else:
        flash(_("Order %(number)s was not booked: %(reason)s", number=number, reason=result.reason or ""),
              "warning")
    return redirect(back)
