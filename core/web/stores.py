"""Store connections: the list, the wizard (C1–C4), location (C2), orders sent by hand (O2), product sync (P4), reconciling (O12)."""
from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import fields as ma_fields
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.extensions import db
from core.integration import connections
from core.integration.locations import (
    LocationsUnreadable,
    NotAStoreLocation,
    StoreLocations,
    choose_location,
    store_locations,
)
from core.integration.manual import send_orders
from core.integration.product_sync import start_product_sync
from core.integration.queries import stores_statement
from core.integration.reconcile import findings, last_reconciliation, queue_reconciliation
from core.integration.settings import missing_for_booking
from core.models import (
    Account,
    Branch,
    Client,
    ProductSyncRun,
    StoreConnection,
    StoreOrder,
    Warehouse,
    WebhookDelivery,
)
from core.plugins import registry
from core.services.errors import ServiceError
from core.services.transaction import atomic
from core.web.auth import can, role_required
from core.web.pages import label, show_service_error
from core.web.reasons import product_reason
from core.web.sync import int_or_none, invoice_url, status_label

blueprint = Blueprint("stores", __name__, url_prefix="/stores")
blueprint.context_processor(lambda: {"invoice_url": invoice_url})
blueprint.context_processor(lambda: {"product_reason": product_reason})

#: Session keys: the key to show once, and the key kept (not shown) until the store is activated.
SHOW_KEY = "stores.show_key"
ACTIVATION_KEY = "stores.activation_key"
#: How many order numbers one "Send order to ERP" accepts.
MAX_NUMBERS = 50
#: How many clients the default-client list offers.
CLIENT_CHOICES = 500

STEPS = (
    ("platform", _l("Platform")),
    ("key", _l("Connection key")),
    ("credentials", _l("Credentials")),
    ("activate", _l("Activate")),
    ("settings", _l("Settings")),
)

OUTCOMES = {
    "booked": _l("Booked"),
    "already_booked": _l("Already booked"),
    "needs_attention": _l("Needs attention"),
    "skipped": _l("Skipped"),
    "not_found": _l("Not found"),
    "failed": _l("Failed"),
}

#: What a reconciliation run did with the orders and refunds it found (``ReconcileReport`` outcomes).
RECONCILE_OUTCOMES = {
    "booked": _l("booked"),
    "already_booked": _l("already booked"),
    "unchanged": _l("unchanged"),
    "skipped": _l("skipped"),
    "needs_attention": _l("needs attention"),
}


# -- forms ------------------------------------------------------------------------------------


class NewStoreForm(FlaskForm):
    platform = SelectField(_l("Platform"), validators=[DataRequired(_l("Choose the store's platform."))])
    name = StringField(
        _l("Store name"),
        validators=[DataRequired(_l("Give the store a name.")), Length(max=200, message=_l("At most 200 characters."))],
    )


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""


class ActivateForm(FlaskForm):
    key = StringField(_l("Connection key"), validators=[Optional(), Length(max=200)])


class LocationForm(FlaskForm):
    """The store location linked to the store's warehouse (C2)."""

    location_id = SelectField(_l("Store location"), validators=[DataRequired(_l("Choose one of the store's locations."))])


def _statuses(value: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", value or "") if part.strip()]


class SettingsForm(FlaskForm):
    default_client_id = SelectField(_l("Default client (guest orders)"), coerce=int_or_none, validate_choice=True)
    warehouse_id = SelectField(_l("Warehouse"), coerce=int_or_none)
    branch_id = SelectField(_l("Branch"), coerce=int_or_none)
    create_financial_invoice = BooleanField(_l("Create a financial invoice when an order is sent (Paid, with payment)"))
    update_inventory = BooleanField(_l("Update the store's inventory from the ERP"))
    product_sync = BooleanField(_l("Push new ERP products to this store"))
    completed_statuses = StringField(_l("Completed order statuses"), validators=[Length(max=500)])
    sales_account_id = SelectField(_l("Sales account"), coerce=int_or_none)

    def validate_warehouse_id(self, field: SelectField) -> None:
        if field.data is None:
            raise ValidationError(_("Choose the one warehouse all of this store's stock goes through."))

    def validate_completed_statuses(self, field: StringField) -> None:
        for status in _statuses(field.data):
            if len(status) > 50:
                raise ValidationError(_("A status has at most 50 characters: %(status)s", status=status[:60]))


class SendOrdersForm(FlaskForm):
    numbers = TextAreaField(
        _l("Order numbers"),
        validators=[DataRequired(_l("Enter at least one order number.")), Length(max=5000)],
    )

    def validate_numbers(self, field: TextAreaField) -> None:
        numbers = split_numbers(field.data)
        if not numbers:
            raise ValidationError(_("Enter at least one order number."))
        if len(numbers) > MAX_NUMBERS:
            raise ValidationError(_("Send at most %(n)s orders at a time.", n=MAX_NUMBERS))
        if any(len(number) > 100 for number in numbers):
            raise ValidationError(_("An order number has at most 100 characters."))


def split_numbers(text: str | None) -> list[str]:
    """Order numbers separated by new lines, commas, semicolons or spaces; each once, in order."""
    return list(dict.fromkeys(part for part in re.split(r"[\s,;]+", text or "") if part))


def credentials_form(store: StoreConnection, formdata: Any = None) -> tuple[FlaskForm, list[str]]:
    """A form with one input per field of the platform's credentials schema (secrets as passwords)."""
    plugin = registry().platform(store.platform)
    schema_class = getattr(plugin, "credentials_schema", None)
    secret_fields = set(getattr(plugin, "secret_fields", ()))
    schema_fields = schema_class().fields if schema_class is not None else {}
    masked = connections.masked_credentials(store) if store.credentials_encrypted else {}

    class CredentialsForm(FlaskForm):
        pass

    names = []
    for name, schema_field in schema_fields.items():
        if schema_field.dump_only or schema_field.metadata.get("form") is False:  # kept by the plugin, not edited
            continue
        key = schema_field.data_key or name
        label = _(schema_field.metadata.get("label") or key.replace("_", " ").capitalize())  # core/web/labels.py
        current = masked.get(key)
        validators = [Optional(), Length(max=2000)]
        if isinstance(schema_field, ma_fields.Boolean):
            # nothing saved yet: the schema's own default (a box the plugin defaults to on starts ticked)
            default = current if current is not None else schema_field.load_default is True
            field = BooleanField(label, default=bool(default))
        elif key in secret_fields:
            placeholder = current or ""
            hint = _("Leave empty to keep the saved value.") if current else None
            field = PasswordField(label, validators=validators, render_kw={"placeholder": placeholder,
                                                                           "autocomplete": "off"},
                                  description=hint or "")
        else:
            field = StringField(label, validators=validators, default=current if current is not None else None)
        setattr(CredentialsForm, key, field)
        names.append(key)
    form = CredentialsForm(formdata=formdata, prefix="cred")
    for name, schema_field in schema_fields.items():
        key = schema_field.data_key or name
        if key in names:
            form[key].flags.required = bool(schema_field.required) and not (key in secret_fields and masked.get(key))
    return form, names


def settings_form(store: StoreConnection, formdata: Any = None) -> SettingsForm:
    settings = store.settings or {}
    statuses = settings.get("completed_statuses")
    form = SettingsForm(
        formdata=formdata,
        data={
            "default_client_id": settings.get("default_client_id"),
            "warehouse_id": settings.get("warehouse_id"),
            "branch_id": settings.get("branch_id"),
            "create_financial_invoice": settings.get("create_financial_invoice", True),
            "update_inventory": settings.get("update_inventory", False),
            "product_sync": settings.get("product_sync", False),
            "completed_statuses": ", ".join(statuses) if statuses else "",
            "sales_account_id": settings.get("sales_account_id"),
        },
    )
    none = [SelectChoice("", _("— choose —"))]
    clients = db.session.execute(select(Client.id, Client.name).order_by(Client.name, Client.id).limit(CLIENT_CHOICES)).all()
    client_choices = [SelectChoice(str(row.id), row.name) for row in clients]
    chosen = settings.get("default_client_id")
    if chosen and chosen not in {row.id for row in clients}:
        client = db.session.get(Client, chosen)
        if client is not None:
            client_choices.append(SelectChoice(str(client.id), client.name))
    form.default_client_id.choices = none + client_choices
    form.branch_id.choices = none + [
        SelectChoice(str(row.id), f"{row.code} · {row.name}")
        for row in db.session.execute(select(Branch).order_by(Branch.code)).scalars()
    ]
    form.warehouse_id.choices = none + [
        SelectChoice(str(row.id), f"{row.code} · {row.name}")
        for row in db.session.execute(select(Warehouse).order_by(Warehouse.code)).scalars()
    ]
    form.sales_account_id.choices = [SelectChoice("", _("— the platform's sales account, else the company's —"))] + [
        SelectChoice(str(row.id), f"{row.code} · {label(row)}")
        for row in db.session.execute(
            select(Account).where(Account.type == "revenue", Account.is_group.is_(False)).order_by(Account.code)
        ).scalars()
    ]
    if not warehouse_choosable(store):
        del form.warehouse_id  # chosen once the store is connected (C4)
    return form


def warehouse_choosable(store: StoreConnection) -> bool:
    return store.activated_at is not None or store.status == "active"


# -- helpers ------------------------------------------------------------------------------------


def _store_or_404(store_id: int) -> StoreConnection:
    store = db.session.get(StoreConnection, store_id)
    if store is None:
        abort(404)
    return store


def _remember_key(store_id: int, key: str) -> None:
    for name in (SHOW_KEY, ACTIVATION_KEY):
        kept = dict(session.get(name) or {})
        kept[str(store_id)] = key
        session[name] = kept


def _pop_shown_key(store_id: int) -> str | None:
    kept = dict(session.get(SHOW_KEY) or {})
    key = kept.pop(str(store_id), None)
    if key is not None:
        session[SHOW_KEY] = kept
    return key


def _activation_key(store_id: int) -> str | None:
    return (session.get(ACTIVATION_KEY) or {}).get(str(store_id))


def _forget_activation_key(store_id: int) -> None:
    kept = dict(session.get(ACTIVATION_KEY) or {})
    if kept.pop(str(store_id), None) is not None:
        session[ACTIVATION_KEY] = kept


def _current_step(store: StoreConnection) -> str:
    if not store.credentials_encrypted:
        return "credentials"
    if store.status != "active":
        return "activate"
    return "settings"


def _plugin(store: StoreConnection) -> Any:
    return registry().platform(store.platform)


def _locations(store: StoreConnection, form: LocationForm | None) -> tuple[LocationForm | None, str | None]:
    """The location form of a connected store whose platform lists locations (else ``None``), or why the
    store's locations could not be read."""
    if store.status != "active" or _plugin(store) is None:
        return None, None
    try:
        found = store_locations(store.id)
    except LocationsUnreadable as error:
        return None, error.cause
    if found is None or not found.locations:
        return None, None
    return _location_form(found, form), None


def _location_form(found: StoreLocations, form: LocationForm | None) -> LocationForm:
    form = form or LocationForm(data={"location_id": found.current})
    form.location_id.choices = [
        SelectChoice(location.external_id, _("%(name)s (default)", name=location.name) if location.is_default
                     else location.name)
        for location in found.locations
    ]
    return form


def _reconciles(store: StoreConnection) -> bool:
    """Whether the store's platform can reconcile (list the orders it changed, O12)."""
    return "reconcile" in (getattr(_plugin(store), "capabilities", None) or ())


def _reconciliation(store: StoreConnection) -> dict[str, Any] | None:
    """The store's last reconciliation (its sync-log entry and what it found) and its cursor, for a platform
    that reconciles; else ``None``."""
    if not _reconciles(store):
        return None
    entry = last_reconciliation(store.id)
    return {"entry": entry, "status": status_label(entry.status) if entry is not None else None,
            "findings": findings(entry.reason) if entry is not None else None,
            "through": store.reconciled_through, "outcomes": RECONCILE_OUTCOMES}


def _detail(store: StoreConnection, *, shown_key: str | None = None, credentials: FlaskForm | None = None,
            activate_form: ActivateForm | None = None, settings: SettingsForm | None = None,
            duplicate: connections.StoreAlreadyConnected | None = None, location: LocationForm | None = None,
            status: int = 200) -> tuple[str, int]:
    plugin = _plugin(store)
    location_form, locations_error = _locations(store, location)
    if credentials is None:
        credentials, _names = credentials_form(store)
    needs_key = bool(getattr(plugin, "registers_webhooks", False)) and _activation_key(store.id) is None
    return render_template(
        "stores/detail.html",
        store=store,
        plugin=plugin,
        platform_title=getattr(plugin, "title", "") or store.platform,
        platform_enabled=registry().platform(store.platform) is not None,
        steps=STEPS,
        current=_current_step(store),
        shown_key=shown_key,
        webhook_url=connections.webhook_url(shown_key) if shown_key else None,
        masked_webhook_url=connections.webhook_url(store.key_prefix + "…"),
        credentials_form=credentials,
        activate_form=activate_form or ActivateForm(),
        needs_key=needs_key,
        settings_form=settings or settings_form(store),
        show_warehouse=warehouse_choosable(store),
        missing=missing_for_booking(store.settings or {}),
        action_form=ActionForm(),
        duplicate=duplicate,
        token_expires=connections.token_expiry(store),
        location_form=location_form,
        locations_error=locations_error,
        reconciliation=_reconciliation(store),
        waiting=db.session.execute(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.store_id == store.id, WebhookDelivery.status == "waiting")).scalar_one(),
    ), 409 if duplicate is not None else status


# -- the list and the wizard ----------------------------------------------------------------------


@blueprint.get("/")
@role_required("viewer")
def index():  # noqa: ANN201
    stores = db.session.execute(stores_statement()).scalars().all()
    titles = {info.name: info.title for info in registry().describe()}
    return render_template("stores/index.html", stores=stores, titles=titles)


@blueprint.route("/new", methods=["GET", "POST"])
@role_required("admin")
def new():  # noqa: ANN201
    form = NewStoreForm()
    platforms = registry().platforms()
    form.platform.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(p.name, p.title or p.name) for p in platforms
    ]
    if form.validate_on_submit():
        try:
            store, key = connections.create_store(form.platform.data, form.name.data.strip())
        except ServiceError as error:
            form.form_errors.extend(show_service_error(form, error))
        else:
            _remember_key(store.id, key)
            flash(_("The store was added. Copy its connection key now: it is shown only once."), "info")
            return redirect(url_for("stores.detail", store_id=store.id))
    return render_template("stores/new.html", form=form, platforms=platforms)


@blueprint.get("/<int:store_id>")
@role_required("admin")
def detail(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    return _detail(store, shown_key=_pop_shown_key(store_id))


@blueprint.post("/<int:store_id>/regenerate-key")
@role_required("admin")
def regenerate_key(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    key = connections.rotate_key(store.id)
    _remember_key(store.id, key)
    message = _("A new connection key was generated. The old key and its webhook address no longer work.")
    if store.status == "active" and getattr(_plugin(store), "registers_webhooks", False):
        message += " " + _("Activate the integration again so the store sends its webhooks to the new address.")
    else:
        message += " " + _("Paste the new key in the store where it asks for it.")
    flash(message, "warning")
    return redirect(url_for("stores.detail", store_id=store.id))


@blueprint.post("/<int:store_id>/credentials")
@role_required("admin")
def save_credentials(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    form, names = credentials_form(store, formdata=request.form)
    if form.validate_on_submit():
        values = {}
        for name in names:
            data = form[name].data
            if isinstance(data, bool) or (data is not None and str(data).strip() != ""):
                values[name] = data.strip() if isinstance(data, str) else data
        try:
            connections.set_credentials(store.id, values)
        except connections.StoreAlreadyConnected as error:
            db.session.rollback()
            return _detail(_store_or_404(store_id), credentials=form, duplicate=error)
        except ServiceError as error:
            db.session.rollback()
            form.form_errors.extend(show_service_error(form, error))
        else:
            flash(_("The credentials are saved (encrypted). Next: activate the integration."), "info")
            return redirect(url_for("stores.detail", store_id=store.id))
    return _detail(_store_or_404(store_id), credentials=form)


@blueprint.post("/<int:store_id>/activate")
@role_required("admin")
def activate(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    form = ActivateForm()
    if form.validate_on_submit():
        key = (form.key.data or "").strip() or _activation_key(store.id)
        try:
            connections.activate(store.id, key)
        except connections.StoreAlreadyConnected as error:
            db.session.rollback()
            return _detail(_store_or_404(store_id), activate_form=form, duplicate=error)
        except ServiceError as error:
            db.session.rollback()
            if "key" in error.fields and not form.key.data:
                form.key.errors.append(_("Paste the store's current connection key (or regenerate it)."))
            elif "key" in error.fields:
                form.key.errors.append(_("This is not the store's current connection key."))
            elif "store_ref" in error.fields:
                form.form_errors.append(_("The store did not tell its own id: enter the store reference with "
                                          "the credentials (step 3), then activate again."))
            else:
                form.form_errors.append(error.message)
        else:
            _forget_activation_key(store.id)
            flash(_("The integration is active. Now choose the store's warehouse and the other settings."), "info")
            return redirect(url_for("stores.detail", store_id=store.id) + "#settings")
    return _detail(_store_or_404(store_id), activate_form=form)


@blueprint.post("/<int:store_id>/deactivate")
@role_required("admin")
def deactivate(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        connections.deactivate(store.id)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("The integration is deactivated: the store's webhooks are refused until you activate it again."),
              "warning")
    return redirect(url_for("stores.detail", store_id=store.id))


@blueprint.post("/<int:store_id>/location")
@role_required("admin")
def save_location(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    form = LocationForm(formdata=request.form)
    chosen = (request.form.get("location_id") or "").strip()
    form.location_id.choices = [SelectChoice(chosen, chosen)] if chosen else []  # checked against the store below
    if form.validate_on_submit():
        try:
            choose_location(store.id, chosen)
        except NotAStoreLocation:
            db.session.rollback()
            flash(_("Choose one of the store's locations."), "error")
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("The store location is saved: the warehouse's stock is read from it and sent to it."), "info")
        return redirect(url_for("stores.detail", store_id=store.id) + "#location")
    return _detail(_store_or_404(store_id), location=form, status=400)


@blueprint.post("/<int:store_id>/settings")
@role_required("admin")
def save_settings(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    form = settings_form(store, formdata=request.form)
    if form.validate_on_submit():
        values = {
            "default_client_id": form.default_client_id.data,
            "branch_id": form.branch_id.data,
            "create_financial_invoice": form.create_financial_invoice.data,
            "update_inventory": form.update_inventory.data,
            "product_sync": form.product_sync.data,
            "completed_statuses": _statuses(form.completed_statuses.data) or None,
            "sales_account_id": form.sales_account_id.data,
        }
        if "warehouse_id" in form:
            values["warehouse_id"] = form.warehouse_id.data
        try:
            connections.update_settings(store.id, values)
        except ServiceError as error:
            db.session.rollback()
            form.form_errors.extend(show_service_error(form, error))
        else:
            flash(_("The store's settings are saved."), "info")
            return redirect(url_for("stores.detail", store_id=store.id) + "#settings")
    return _detail(_store_or_404(store_id), settings=form)


# -- reconcile now (O12) ----------------------------------------------------------------------------


@blueprint.post("/<int:store_id>/reconcile")
@role_required("accountant")
def reconcile_now(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not _reconciles(store):
        flash(_("This store's platform cannot list its orders, so it cannot be reconciled."), "error")
    elif store.status != "active":
        flash(_("Only an active store is reconciled: activate the integration first."), "error")
    else:
        try:
            queue_reconciliation(store.id)
        except Exception:  # the job queue cannot be reached: say so rather than show an error page
            current_app.logger.exception("reconciliation of store %s could not be queued", store.id)
            db.session.rollback()
            flash(_("The reconciliation could not be queued. Check that the job queue is running, then try again."),
                  "error")
        else:
            flash(_("The reconciliation is queued: orders the store changed since the last run are booked as their "
                    "webhooks would have been. Its result shows here once it has run."), "info")
    if not can("admin"):  # the store page is for admins; accountants follow the run in the sync log
        return redirect(url_for("sync.log", store=store.id, kind="reconcile"))
    return redirect(url_for("stores.detail", store_id=store.id) + "#reconciliation")


# -- send orders by hand (O2) ----------------------------------------------------------------------


@blueprint.route("/<int:store_id>/send-orders", methods=["GET", "POST"])
@role_required("accountant")
def send(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    form = SendOrdersForm()
    results = None
    if form.validate_on_submit():
        try:
            booked = send_orders(store.id, split_numbers(form.numbers.data))
        except ServiceError as error:
            db.session.rollback()
            form.numbers.errors.append(error.message)
        else:
            orders = {
                row.number: row.id
                for row in db.session.execute(
                    select(StoreOrder.number, StoreOrder.id).where(
                        StoreOrder.store_id == store.id, StoreOrder.number.in_([r.number for r in booked] or [""])
                    )
                )
            }
            results = [(result, orders.get(result.number)) for result in booked]
    return render_template("stores/send_orders.html", store=store, form=form, results=results, outcomes=OUTCOMES)


# -- sync all products (P4) ----------------------------------------------------------------------------


def _latest_run(store_id: int) -> ProductSyncRun | None:
    return db.session.execute(
        select(ProductSyncRun).where(ProductSyncRun.store_id == store_id).order_by(ProductSyncRun.id.desc()).limit(1)
    ).scalar_one_or_none()


def progress_of(run: ProductSyncRun) -> dict[str, Any]:
    done = run.status in ("done", "failed")
    if done:
        percent = 100
    elif run.total:
        percent = min(99, int(run.processed * 100 / run.total))
    else:
        percent = 0
    if run.status == "queued":
        text = _("Waiting to start…")
    elif run.status == "running":
        text = _("%(processed)s of %(total)s products", processed=run.processed, total=run.total or "?")
    elif run.status == "failed":
        text = _("The sync stopped: the store could not be reached. Retry it from the sync log.")
    else:
        text = _("Done: %(created)s created, %(updated)s updated, %(skipped)s skipped, %(failed)s failed",
                 created=run.created, updated=run.updated, skipped=run.skipped, failed=run.failed)
    return {"percent": percent, "done": done, "text": text, "reload": done, "status": run.status,
            "processed": run.processed, "total": run.total}


@blueprint.get("/<int:store_id>/product-sync")
@role_required("viewer")
def product_sync(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    run = None
    if request.args.get("run", "").isdigit():
        run = db.session.get(ProductSyncRun, int(request.args["run"]))
        if run is not None and run.store_id != store.id:
            run = None
    run = run or _latest_run(store.id)
    return render_template("stores/product_sync.html", store=store, run=run, form=ActionForm(),
                           progress=progress_of(run) if run else None)


@blueprint.post("/<int:store_id>/product-sync")
@role_required("accountant")
def start_sync(store_id: int):  # noqa: ANN201
    store = _store_or_404(store_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    running = _latest_run(store.id)
    if running is not None and running.status in ("queued", "running"):
        flash(_("A sync of this store is already running; follow it below."), "warning")
        return redirect(url_for("stores.product_sync", store_id=store.id, run=running.id))
    try:
        run_id = start_product_sync(store.id).id
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("stores.product_sync", store_id=store.id))
    except Exception:  # the job queue cannot be reached: say so rather than show an error page
        current_app.logger.exception("product sync of store %s could not be queued", store.id)
        db.session.rollback()
        stuck = _latest_run(store.id)
        if stuck is not None and stuck.status == "queued":
            with atomic():
                stuck.status = "failed"
        flash(_("The sync could not be queued. Check that the job queue is running, then try again."), "error")
        return redirect(url_for("stores.product_sync", store_id=store.id))
    flash(_("The product sync has started."), "info")
    return redirect(url_for("stores.product_sync", store_id=store.id, run=run_id))


@blueprint.get("/product-syncs/<int:run_id>/progress.json")
@role_required("viewer")
def sync_progress(run_id: int):  # noqa: ANN201
    run = db.session.get(ProductSyncRun, run_id)
    if run is None:
        return jsonify({"percent": 0, "done": True, "text": _("There is no such sync."), "reload": False}), 404
    return jsonify(progress_of(run))
