"""Catalog and stock pages: products, categories, warehouses, branches, stock, inbound requisitions."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    Form,
    FormField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.extensions import db
from core.models import (
    Branch,
    Category,
    InboundRequisition,
    Product,
    StockLevel,
    Warehouse,
)
from core.money import ZERO
from core.services.errors import ServiceError
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.master_data import create_record
from core.services.reports import stock_card_page, stock_levels
from core.web import pages
from core.web.auth import role_required

blueprint = Blueprint("catalog", __name__, url_prefix="/catalog")
blueprint.context_processor(pages.template_helpers)

#: Line rows on the inbound requisition form.
INBOUND_ROWS = 5


# --- products -----------------------------------------------------------------------------


class ProductSearch(Form):
    q = StringField(_l("Name, SKU or barcode"), validators=[Optional(), Length(max=300)])


@blueprint.get("/")
@blueprint.get("/products")
@role_required("viewer")
def products():  # noqa: ANN201
    """Products by SKU, searchable by name, SKU or barcode in one box."""
    search = ProductSearch(request.args)
    statement = select(Product).options(selectinload(Product.category)).order_by(Product.code, Product.id)
    if search.validate() and search.q.data:
        text = search.q.data.strip()
        statement = statement.where(
            or_(
                Product.name.icontains(text, autoescape=True),
                Product.name_ar.icontains(text, autoescape=True),
                Product.code.icontains(text, autoescape=True),
                Product.barcode.icontains(text, autoescape=True),
            )
        )
    page = pages.paginate(statement)
    ids = [p.id for p in page.items]
    on_hand = dict(
        db.session.execute(
            select(StockLevel.product_id, func.sum(StockLevel.quantity))
            .where(StockLevel.product_id.in_(ids))
            .group_by(StockLevel.product_id)
        ).all()
    ) if ids else {}
    return render_template("catalog/products.html", page=page, search=search, on_hand=on_hand)


class ProductForm(FlaskForm):
    code = StringField(
        _l("Code (SKU)"), validators=[DataRequired(), Length(max=100)], filters=[pages.blank_to_none]
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)], filters=[pages.blank_to_none])
    name_ar = StringField(
        _l("Name in Arabic"), validators=[Optional(), Length(max=300)], filters=[pages.blank_to_none]
    )
    barcode = StringField(_l("Barcode"), validators=[Optional(), Length(max=100)], filters=[pages.blank_to_none])
    category_id = SelectField(_l("Category"), coerce=pages.optional_id, validate_choice=False)
    purchase_price = DecimalField(
        _l("Purchase price"), places=2, default=ZERO, validators=[Optional(), NumberRange(min=0)]
    )
    sale_price = DecimalField(_l("Sale price"), places=2, default=ZERO, validators=[Optional(), NumberRange(min=0)])
    stock_tracked = BooleanField(_l("Track stock"), default=True)


@blueprint.route("/products/new", methods=["GET", "POST"])
@role_required("accountant")
def new_product():  # noqa: ANN201
    form = ProductForm()
    form.category_id.choices = _category_choices()
    problems: list[str] = []
    if form.validate_on_submit():
        fields = {
            name: form[name].data for name in ("code", "name", "name_ar", "barcode", "category_id", "stock_tracked")
        }
        fields["purchase_price"] = form.purchase_price.data or ZERO
        fields["sale_price"] = form.sale_price.data or ZERO
        try:
            created = create_record(Product, fields)
        except ServiceError as error:
            problems = pages.show_service_error(form, error)
        else:
            flash(_("Product %(code)s is saved.", code=created.code), "info")
            return redirect(url_for("catalog.product", product_id=created.id))
    return render_template("catalog/product_form.html", form=form, problems=problems)


#: Movements per page of a product's stock card.
CARD_PAGE = 100


class CardFilter(Form):
    warehouse_id = SelectField(_l("Warehouse"), coerce=pages.optional_id, validate_choice=False)


@blueprint.get("/products/<int:product_id>")
@role_required("viewer")
def product(product_id: int):  # noqa: ANN201
    """A product, its stock on hand per warehouse, and its stock card with the running quantity."""
    item = db.session.get(Product, product_id) or abort(404)
    warehouses = _warehouses()
    levels = stock_levels(product_id=item.id)
    card_filter = CardFilter(request.args)
    card_filter.warehouse_id.choices = [pages.choice("", _("All warehouses"))] + [pages.choice(w.id, pages.label(w)) for w in warehouses]
    try:
        warehouse_id = pages.optional_id(request.args.get("warehouse_id"))
    except ValueError:
        warehouse_id = None
    number = pages.page_number()
    card, count = stock_card_page(item.id, warehouse_id, limit=CARD_PAGE, offset=(number - 1) * CARD_PAGE)
    return render_template(
        "catalog/product.html", product=item, levels=levels, warehouses={w.id: w for w in warehouses},
        card=pages.Page(card, number, CARD_PAGE, count), card_filter=card_filter,
        total_quantity=sum((level.quantity for level in levels), Decimal("0")),
        total_value=sum((level.value for level in levels), ZERO),
    )


# --- categories ---------------------------------------------------------------------------


@blueprint.get("/categories")
@role_required("viewer")
def categories():  # noqa: ANN201
    """The category tree."""
    rows = db.session.execute(select(Category).order_by(Category.name, Category.id)).scalars().all()
    children: dict[int | None, list[Category]] = defaultdict(list)
    known = {c.id for c in rows}
    for category in rows:
        children[category.parent_id if category.parent_id in known else None].append(category)
    counts = dict(
        db.session.execute(
            select(Product.category_id, func.count(Product.id)).group_by(Product.category_id)
        ).all()
    )
    return render_template("catalog/categories.html", children=children, counts=counts, total=len(rows))


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], filters=[pages.blank_to_none])
    name_ar = StringField(
        _l("Name in Arabic"), validators=[Optional(), Length(max=200)], filters=[pages.blank_to_none]
    )
    parent_id = SelectField(_l("Parent category"), coerce=pages.optional_id, validate_choice=False)


@blueprint.route("/categories/new", methods=["GET", "POST"])
@role_required("accountant")
def new_category():  # noqa: ANN201
    form = CategoryForm()
    form.parent_id.choices = _category_choices()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            created = create_record(
                Category, {"name": form.name.data, "name_ar": form.name_ar.data, "parent_id": form.parent_id.data}
            )
        except ServiceError as error:
            problems = pages.show_service_error(form, error)
        else:
            flash(_("Category %(name)s is saved.", name=created.name), "info")
            return redirect(url_for("catalog.categories"))
    return render_template("catalog/category_form.html", form=form, problems=problems)


def _category_choices() -> list[Any]:
    """Categories as indented options, each under its parent."""
    rows = db.session.execute(select(Category).order_by(Category.name, Category.id)).scalars().all()
    children: dict[int | None, list[Category]] = defaultdict(list)
    known = {c.id for c in rows}
    for category in rows:
        children[category.parent_id if category.parent_id in known else None].append(category)
    choices = [pages.choice_none()]

    def walk(parent: int | None, depth: int) -> None:
        for category in children.get(parent, []):
            choices.append(pages.choice(category.id, "\u00a0\u00a0" * depth + pages.label(category)))
            if depth < 20:
                walk(category.id, depth + 1)

    walk(None, 0)
    return choices


# --- warehouses and branches ----------------------------------------------------------


class PlaceForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=30)], filters=[pages.blank_to_none])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], filters=[pages.blank_to_none])
    name_ar = StringField(
        _l("Name in Arabic"), validators=[Optional(), Length(max=200)], filters=[pages.blank_to_none]
    )


@blueprint.get("/warehouses")
@role_required("viewer")
def warehouses():  # noqa: ANN201
    rows = _warehouses()
    totals = {
        warehouse_id: (quantity, value)
        for warehouse_id, quantity, value in db.session.execute(
            select(StockLevel.warehouse_id, func.sum(StockLevel.quantity), func.sum(StockLevel.value))
            .group_by(StockLevel.warehouse_id)
        ).all()
    }
    return render_template("catalog/warehouses.html", rows=rows, totals=totals)


@blueprint.route("/warehouses/new", methods=["GET", "POST"])
@role_required("accountant")
def new_warehouse():  # noqa: ANN201
    return _place_form(Warehouse, "catalog.warehouses", _l("New warehouse"), _l("Warehouse %(code)s is saved."))


@blueprint.get("/branches")
@role_required("viewer")
def branches():  # noqa: ANN201
    rows = db.session.execute(select(Branch).order_by(Branch.code)).scalars().all()
    return render_template("catalog/branches.html", rows=rows)


@blueprint.route("/branches/new", methods=["GET", "POST"])
@role_required("accountant")
def new_branch():  # noqa: ANN201
    return _place_form(Branch, "catalog.branches", _l("New branch"), _l("Branch %(code)s is saved."))


def _place_form(model: type, back: str, title: Any, saved: Any):  # noqa: ANN202
    form = PlaceForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            created = create_record(
                model, {"code": form.code.data, "name": form.name.data, "name_ar": form.name_ar.data}
            )
        except ServiceError as error:
            problems = pages.show_service_error(form, error)
        else:
            flash(str(saved) % {"code": created.code}, "info")
            return redirect(url_for(back))
    return render_template("catalog/place_form.html", form=form, problems=problems, title=title, back=back)


def _warehouses() -> list[Warehouse]:
    return list(db.session.execute(select(Warehouse).order_by(Warehouse.code)).scalars())


# --- stock ------------------------------------------------------------------------------


class StockFilter(Form):
    warehouse_id = SelectField(_l("Warehouse"), coerce=pages.optional_id, validate_choice=False)


@blueprint.get("/stock")
@role_required("viewer")
def stock():  # noqa: ANN201
    """Stock on hand per product and warehouse, optionally for one warehouse."""
    warehouses = _warehouses()
    stock_filter = StockFilter(request.args)
    stock_filter.warehouse_id.choices = [pages.choice("", _("All warehouses"))] + [pages.choice(w.id, pages.label(w)) for w in warehouses]
    try:
        warehouse_id = pages.optional_id(request.args.get("warehouse_id"))
    except ValueError:
        warehouse_id = None
    levels = stock_levels(warehouse_id=warehouse_id)
    page = pages.paginate_list(levels, per_page=100)
    ids = {level.product_id for level in page.items}
    products_by_id = {
        p.id: p for p in db.session.execute(select(Product).where(Product.id.in_(ids))).scalars()
    } if ids else {}
    return render_template(
        "catalog/stock.html", page=page, stock_filter=stock_filter, warehouses={w.id: w for w in warehouses},
        products=products_by_id, total_value=sum((level.value for level in levels), ZERO),
    )


# --- inbound requisitions ---------------------------------------------------------------


@blueprint.get("/inbound")
@role_required("viewer")
def requisitions():  # noqa: ANN201
    """Inbound requisitions and opening balances, newest first."""
    statement = select(InboundRequisition).order_by(
        InboundRequisition.date.desc(), InboundRequisition.id.desc()
    )
    kind = request.args.get("kind")
    if kind in ("inbound_requisition", "opening_balance"):
        statement = statement.where(InboundRequisition.kind == kind)
    return render_template(
        "catalog/requisitions.html", page=pages.paginate(statement),
        warehouses={w.id: w for w in _warehouses()}, kind=kind,
    )


@blueprint.get("/inbound/<int:requisition_id>")
@role_required("viewer")
def requisition(requisition_id: int):  # noqa: ANN201
    found = db.session.get(InboundRequisition, requisition_id) or abort(404)
    return render_template(
        "catalog/requisition.html", requisition=found, warehouse=db.session.get(Warehouse, found.warehouse_id),
        branch=db.session.get(Branch, found.branch_id) if found.branch_id else None,
    )


class InboundLineForm(Form):
    product = StringField(_l("Product (SKU or barcode)"), validators=[Optional(), Length(max=100)])
    quantity = DecimalField(_l("Quantity"), places=3, validators=[Optional()])
    unit_cost = DecimalField(_l("Unit cost"), places=4, validators=[Optional()])


class InboundForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=pages.choices(("inbound_requisition", _l("Inbound requisition")), ("opening_balance", _l("Opening balance"))),
    )
    date = DateField(_l("Date"), validators=[DataRequired()], default=date.today)
    warehouse_id = SelectField(_l("Warehouse"), coerce=pages.optional_id, validate_choice=False)
    branch_id = SelectField(_l("Branch"), coerce=pages.optional_id, validate_choice=False)
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=100)], filters=[pages.blank_to_none])
    memo = StringField(_l("Memo"), validators=[Optional(), Length(max=500)], filters=[pages.blank_to_none])
    lines = pages.Rows(FormField(InboundLineForm), min_entries=INBOUND_ROWS, max_entries=INBOUND_ROWS)


@blueprint.route("/inbound/new", methods=["GET", "POST"])
@role_required("accountant")
def new_requisition():  # noqa: ANN201
    """Bring stock in at a cost (moving average), posted through the inbound service."""
    form = InboundForm()
    warehouses = _warehouses()
    form.warehouse_id.choices = [pages.choice(w.id, f"{w.code} · {pages.label(w)}") for w in warehouses]
    form.branch_id.choices = [pages.choice_none()] + [
        pages.choice(b.id, f"{b.code} · {pages.label(b)}")
        for b in db.session.execute(select(Branch).order_by(Branch.code)).scalars()
    ]
    problems: list[str] = []
    if not warehouses:
        problems.append(_("Create a warehouse first."))
    if form.validate_on_submit() and warehouses:
        if form.warehouse_id.data is None:
            form.warehouse_id.errors = [_("Choose a warehouse.")]
        else:
            filled = _inbound_lines(form)
            if filled is not None:
                rows, lines = filled
                draft = InboundDraft(
                    warehouse_id=form.warehouse_id.data, lines=lines, kind=form.kind.data, date=form.date.data,
                    branch_id=form.branch_id.data, memo=form.memo.data, reference=form.reference.data,
                )
                try:
                    posted = post_inbound(draft)
                except ServiceError as error:
                    _renumber_lines(error, rows)
                    problems = pages.show_service_error(form, error, {"product_id": "product"})
                else:
                    flash(_("%(number)s is posted: %(count)s lines.", number=posted.number, count=len(lines)), "info")
                    return redirect(url_for("catalog.requisition", requisition_id=posted.id))
    return render_template("catalog/requisition_form.html", form=form, problems=problems)


def _inbound_lines(form: InboundForm) -> tuple[list[int], list[InboundLineDraft]] | None:
    """The filled rows (their positions and drafts); None, with errors next to the rows, when one is not usable."""
    rows: list[int] = []
    lines = []
    valid = True
    for position, row in enumerate(form.lines):
        line = row.form
        text = (line.product.data or "").strip()
        if not text:
            if line.quantity.data is not None or line.unit_cost.data is not None:
                line.product.errors = [_("Enter the product's SKU or barcode.")]
                valid = False
            continue
        found = db.session.execute(
            select(Product).where(or_(Product.code == text, Product.barcode == text))
        ).scalars().first()
        if found is None:
            line.product.errors = [_("No product has the SKU or barcode %(code)s.", code=text)]
            valid = False
        if line.quantity.data is None:
            line.quantity.errors = [_("Enter a quantity.")]
            valid = False
        if line.unit_cost.data is None:
            line.unit_cost.errors = [_("Enter the unit cost.")]
            valid = False
        if found is not None and valid:
            rows.append(position)
            lines.append(InboundLineDraft(found.id, line.quantity.data, line.unit_cost.data))
    if valid and not lines:
        form.lines[0].form.product.errors = [_("Enter at least one line.")]
        valid = False
    return (rows, lines) if valid else None


def _renumber_lines(error: ServiceError, rows: list[int]) -> None:
    """Point the service's ``lines.<n>.<field>`` errors (n counts drafts) at the form's rows."""
    renumbered: dict[str, Any] = {}
    for name, messages in error.fields.items():
        parts = str(name).split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(rows):
            parts[1] = str(rows[int(parts[1])])
        renumbered[".".join(parts)] = messages
    error.fields = renumbered
