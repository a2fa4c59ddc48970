"""Salla payloads (orders, products, categories, tokens) validated into the core's store data objects."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from core.money import ZERO, money
from core.platform import schemas as core
from core.platform.data import CategoryData, OrderData, ProductData, RefundData

DEFAULT_API_BASE = "https://api.salla.dev/admin/v2"
RIYADH = timezone(timedelta(hours=3))
CANCELLED_SLUG = "canceled"


class SallaCredentialsSchema(Schema):
    """What a Salla store connection needs.

    ``access_token`` may be empty at first: in Salla's easy mode the tokens arrive in the
    ``app.store.authorize`` webhook, which is verified with the ``webhook_secret`` entered before.
    """

    class Meta:
        unknown = RAISE

    access_token = fields.String(load_default=None, allow_none=True)
    refresh_token = fields.String(load_default=None, allow_none=True)
    webhook_secret = fields.String(required=True, validate=validate.Length(min=1))
    api_base = fields.Url(load_default=DEFAULT_API_BASE, require_tld=False, schemes={"http", "https"})
    store_ref = fields.String(load_default=None, allow_none=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)
    #: When the access token expires (unix time, from ``app.store.authorize``): shown on the store page, not edited.
    token_expires_at = fields.Integer(load_default=None, allow_none=True, metadata={"form": False})


# ---------------------------------------------------------------- fields


class Amount(fields.Field):
    """A Salla amount: ``{"amount": 12.5, "currency": "SAR"}``, a bare number or a numeric string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal | None:
        if isinstance(value, dict):
            value = value.get("amount")
        if value == "" and self.allow_none:
            return None
        if value is None or isinstance(value, bool):
            raise ValidationError("Not a valid amount.")
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError("Not a valid amount.") from None
        if not result.is_finite() or abs(result) > core.MAX_AMOUNT:
            raise ValidationError("Not a valid amount.")
        return money(result)


class ExternalId(fields.Field):
    """A Salla id (a JSON number, sometimes a string), kept as a non-empty string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
            raise ValidationError("Not a valid id.")
        return str(value).strip()


def _text(**options: Any) -> fields.String:
    return fields.String(load_default=None, allow_none=True, **options)


# ---------------------------------------------------------------- Salla shapes


class _Salla(Schema):
    class Meta:
        unknown = EXCLUDE


class _Tax(_Salla):
    amount = Amount(required=True)


class _Status(_Salla):
    slug = _text()
    original = fields.Dict(load_default=None, allow_none=True)
    parent = fields.Dict(load_default=None, allow_none=True)


class _ItemAmounts(_Salla):
    price_without_tax = Amount(required=True)
    total_discount = Amount(load_default=ZERO)
    tax = fields.Nested(_Tax, load_default=None, allow_none=True)


class _Ref(_Salla):
    id = ExternalId(required=True)


class _Item(_Salla):
    id = ExternalId(required=True)
    name = fields.String(required=True)
    sku = _text()
    quantity = fields.Decimal(required=True, allow_nan=False)
    amounts = fields.Nested(_ItemAmounts, required=True)
    product = fields.Nested(_Ref, load_default=None, allow_none=True)
    product_id = ExternalId(load_default=None, allow_none=True)


class _Discount(_Salla):
    discount = Amount(required=True)


class _Amounts(_Salla):
    shipping_cost = Amount(load_default=ZERO)
    cash_on_delivery = Amount(load_default=ZERO)
    tax = fields.Nested(_Tax, load_default=None, allow_none=True)
    discounts = fields.List(fields.Nested(_Discount), load_default=list)
    total = Amount(required=True)


class _Customer(_Salla):
    id = ExternalId(load_default=None, allow_none=True)
    name = _text()
    first_name = _text()
    last_name = _text()
    email = _text()
    mobile = fields.Raw(load_default=None, allow_none=True)
    mobile_code = _text()


class _Date(_Salla):
    date = fields.String(required=True)
    timezone = fields.String(load_default="Asia/Riyadh")


class _Order(_Salla):
    id = ExternalId(required=True)
    reference_id = ExternalId(required=True)
    status = fields.Nested(_Status, required=True)
    currency = fields.String(required=True)
    amounts = fields.Nested(_Amounts, required=True)
    items = fields.List(fields.Nested(_Item), required=True)
    customer = fields.Nested(_Customer, load_default=None, allow_none=True)
    date = fields.Nested(_Date, load_default=None, allow_none=True)
    #: Not documented on Salla's order model; a ``{date, timezone}`` object or ``"Y-m-d H:M:S"`` when present.
    updated_at = fields.Raw(load_default=None, allow_none=True)


class _Product(_Salla):
    id = ExternalId(required=True)
    sku = _text()
    name = fields.String(required=True)
    price = Amount(load_default=ZERO)
    cost_price = Amount(load_default=None, allow_none=True)
    gtin = _text()
    mpn = _text()
    quantity = fields.Decimal(load_default=None, allow_none=True, allow_nan=False)
    unlimited_quantity = fields.Boolean(load_default=False, allow_none=True)
    categories = fields.List(fields.Nested(_Ref), load_default=list)


class _Category(_Salla):
    id = ExternalId(required=True)
    name = fields.String(required=True)
    parent_id = fields.Raw(load_default=None, allow_none=True)
    items = fields.List(fields.Nested(lambda: _Category()), load_default=list)


class _Authorize(_Salla):
    access_token = fields.String(required=True, validate=validate.Length(min=1))
    refresh_token = _text()
    #: When the access token expires (unix time).
    expires = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**53))


# ---------------------------------------------------------------- mapping to the core


def order_data(payload: Any, *, cancelled: bool = False, sent_at: datetime | None = None) -> OrderData:
    """Validate a Salla order model into :class:`OrderData`.

    Salla prices exclude VAT (``price_without_tax``), so ``prices_include_vat`` is false. The
    line discounts are Salla's per-item shares of the order discount (``total_discount``), so
    ``order_discount`` is only what ``amounts.discounts`` holds beyond them (zero for Salla's own
    orders). The cash-on-delivery fee is added to the shipping fee; the core taxes shipping while
    Salla does not tax that fee, so with a COD fee the core's VAT and total exceed Salla's by
    round(15 % × (shipping + COD)) − round(15 % × shipping).

    The order's version (O11) is its ``updated_at`` when the payload has one, else ``sent_at``:
    the webhook envelope's ``created_at``, the time of the event.
    """
    order = _Order().load(payload)
    slug = _status_slug(order["status"])
    lines = [_line(item) for item in order["items"]]
    amounts = order["amounts"]
    discounts = sum((d["discount"] for d in amounts["discounts"]), ZERO)
    on_lines = sum((line["discount"] for line in lines), ZERO)
    tax = amounts["tax"]
    return core.OrderSchema().load({
        "external_id": order["id"],
        "number": order["reference_id"],
        "status": slug,
        "currency": order["currency"],
        "prices_include_vat": False,
        "lines": lines,
        "total": amounts["total"],
        "customer": _customer(order["customer"]),
        "shipping": amounts["shipping_cost"] + amounts["cash_on_delivery"],
        "order_discount": max(ZERO, discounts - on_lines),
        "tax_total": None if tax is None else tax["amount"],
        "created_at": _order_date(order["date"]),
        "cancelled": cancelled or slug == CANCELLED_SLUG,
        "modified_at": _updated_at(order["updated_at"]) or (None if sent_at is None else sent_at.isoformat()),
    })


def refund_data(payload: Any, created_at: datetime | None = None) -> RefundData:
    """``order.refunded`` refunds the whole order (shipping included): one refund per order."""
    order_id = _Ref().load(payload)["id"]
    return core.RefundSchema().load({
        "external_id": f"{order_id}:refund",
        "order_external_id": order_id,
        "whole_order": True,
        "include_shipping": True,
        "created_at": None if created_at is None else created_at.isoformat(),
    })


def product_data(payload: Any) -> ProductData:
    """Validate a Salla product model; ``""`` SKUs become ``None``, unlimited stock has no quantity."""
    product = _Product().load(payload)
    unlimited = bool(product["unlimited_quantity"])
    return core.ProductSchema().load({
        "external_id": product["id"],
        "sku": _blank_to_none(product["sku"]),
        "name": product["name"],
        "price": product["price"],
        "cost": product["cost_price"],
        "barcode": _blank_to_none(product["gtin"]) or _blank_to_none(product["mpn"]),
        "quantity": None if unlimited else product["quantity"],
        "category_external_ids": [c["id"] for c in product["categories"]],
        "stock_ref": product["id"],
    })


def category_data(payload: Any) -> Iterator[CategoryData]:
    """A Salla category and, depth first, the sub-categories listed in its ``items``."""
    yield from _categories(_Category().load(payload), None)


def authorize_credentials(payload: Any, merchant: str) -> dict[str, Any]:
    """Credentials from ``app.store.authorize`` (easy mode): the tokens and the merchant id."""
    tokens = _Authorize().load(payload)
    values = {"access_token": tokens["access_token"], "store_ref": merchant}
    if tokens["refresh_token"]:
        values["refresh_token"] = tokens["refresh_token"]
    if tokens["expires"] is not None:
        values["token_expires_at"] = tokens["expires"]
    return values


# ---------------------------------------------------------------- helpers


def _status_slug(status: dict[str, Any]) -> str:
    """The base status of custom statuses (``original``/``parent``), else the status's slug."""
    for base in (status["original"], status["parent"]):
        if base and base.get("slug"):
            return str(base["slug"])
    if not status["slug"]:
        raise ValidationError({"status": {"slug": ["Missing data for required field."]}})
    return status["slug"]


def _line(item: dict[str, Any]) -> dict[str, Any]:
    amounts = item["amounts"]
    product_id = item["product"]["id"] if item["product"] else item["product_id"]
    return {
        "external_id": item["id"],
        "sku": _blank_to_none(item["sku"]),
        "name": item["name"],
        "quantity": item["quantity"],
        "unit_price": amounts["price_without_tax"],
        "discount": amounts["total_discount"],
        "tax": None if amounts["tax"] is None else amounts["tax"]["amount"],
        "product_external_id": product_id,
    }


def _customer(customer: dict[str, Any] | None) -> dict[str, Any] | None:
    """Both Salla shapes: ``first_name``/``last_name`` with ``mobile_code`` + numeric ``mobile``,
    or ``name`` with a full ``mobile`` string. No customer at all is a guest."""
    if not customer:
        return None
    phone = _phone(customer["mobile"], customer["mobile_code"])
    email = _blank_to_none(customer["email"])
    name = _blank_to_none(customer["name"]) or _blank_to_none(
        " ".join(p for p in (customer["first_name"], customer["last_name"]) if p))
    if not (customer["id"] or name or email or phone):
        return None
    return {"external_id": customer["id"], "name": name or email or phone or f"Salla customer {customer['id']}",
            "email": email, "phone": phone}


def _phone(mobile: Any, code: str | None) -> str | None:
    number = _blank_to_none(None if mobile is None else str(mobile))
    if number is None or number.startswith("+") or not code:
        return number
    return f"{code.strip()}{number}"


def _updated_at(value: Any) -> str | None:
    """An order's ``updated_at`` (a date object or ``"Y-m-d H:M:S"`` in Riyadh time), when readable."""
    if isinstance(value, dict) and isinstance(value.get("date"), str):
        try:
            return _order_date(value)
        except ValidationError:
            return None
    if isinstance(value, str):
        try:
            return datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=RIYADH).isoformat()
        except ValueError:
            return None
    return None


def _order_date(date: dict[str, Any] | None) -> str | None:
    if date is None:
        return None
    try:
        moment = datetime.strptime(date["date"][:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValidationError({"date": {"date": ["Not a valid date."]}}) from None
    try:
        zone: Any = ZoneInfo(date["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        zone = RIYADH
    return moment.replace(tzinfo=zone).isoformat()


def _categories(category: dict[str, Any], parent: str | None) -> Iterator[CategoryData]:
    own_parent = str(category["parent_id"]) if category["parent_id"] not in (None, 0, "0", "") else parent
    yield core.CategorySchema().load(
        {"external_id": category["id"], "name": category["name"], "parent_external_id": own_parent})
    for child in category["items"]:
        yield from _categories(child, category["id"])


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value else None
