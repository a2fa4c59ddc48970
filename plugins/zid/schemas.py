"""Zid payloads (credentials, orders, products, categories, reverse orders) validated into the core's store data."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from core.platform import schemas as core
from core.platform.data import ZERO, CategoryData, OrderData, ProductData, RefundData

DEFAULT_API_BASE = "https://api.zid.sa"
#: Zid's dates carry no zone: they are the store's local time, Asia/Riyadh (UTC+3, no daylight saving).
RIYADH = timezone(timedelta(hours=3))
CANCELLED_CODES = frozenset({"canceled", "cancelled"})
#: Order statuses after which the whole order has been given back (R1).
REFUNDED_CODES = frozenset({"refunded"})
REVERSED_CODES = frozenset({"reversed", "reverse_in_progress", "partially_reversed"})
#: Zid gives products saved without an SKU a generated one (``Z.1234567``): not a code of the merchant's (O6).
GENERATED_SKU_PREFIX = "Z."
#: ``payment.invoice`` entries that lower the order (negative values, VAT excluded).
DISCOUNT_CODES = ("coupon", "loyalty_redemption")
#: The VAT rate assumed when an order names none but charged VAT (Saudi Arabia's).
DEFAULT_VAT_RATE = Decimal("0.15")
#: How far from a whole halala a 14-decimal price may be and still be read as that halala amount.
PRICE_NOISE = Decimal("0.00001")


class ZidCredentialsSchema(Schema):
    """What a Zid store connection needs: the partner token, the manager token and the store id."""

    class Meta:
        unknown = RAISE

    #: The partner (app) token, sent as ``Authorization: Bearer …``.
    authorization = fields.String(required=True, validate=validate.Length(min=1))
    #: The store manager's token, sent as ``X-Manager-Token`` and ``Access-Token``.
    access_token = fields.String(required=True, validate=validate.Length(min=1))
    store_id = fields.String(required=True, validate=validate.Regexp(r"^\d+$", error="Zid store ids are digits."))
    api_base = fields.Url(load_default=DEFAULT_API_BASE, require_tld=False, schemes={"http", "https"})
    #: The Zid inventory location linked to the store's warehouse (default: Zid's default location).
    location_id = fields.String(load_default=None, allow_none=True)
    #: Sent as ``original_id`` when subscribing webhooks.
    app_id = fields.String(load_default="mizan", validate=validate.Length(min=1, max=100))
    refresh_token = fields.String(load_default=None, allow_none=True)
    #: Whether the product ``price`` the merchant enters in Zid includes VAT (P1).
    product_prices_include_vat = fields.Boolean(load_default=True)
    webhook_username = fields.String(load_default=None, allow_none=True)
    webhook_password = fields.String(load_default=None, allow_none=True)


# ---------------------------------------------------------------- fields


class Amount(fields.Field):
    """A Zid amount: a string with 14 decimals (``"86.95652173913043"``) or a number, as an exact Decimal."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal | None:
        if (value is None or value == "") and self.allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError("Not a valid amount.")
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError("Not a valid amount.") from None
        if not result.is_finite() or abs(result) > core.MAX_AMOUNT:
            raise ValidationError("Not a valid amount.")
        return result


class ExternalId(fields.Field):
    """A Zid id (a number or a UUID string), kept as a non-empty string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
            raise ValidationError("Not a valid id.")
        return str(value).strip()


def _text(**options: Any) -> fields.Raw:
    return fields.Raw(load_default=None, allow_none=True, **options)


class _Zid(Schema):
    class Meta:
        unknown = EXCLUDE


# ---------------------------------------------------------------- order shapes


class _Status(_Zid):
    code = fields.String(required=True, validate=validate.Length(min=1))


class _Currency(_Zid):
    code = fields.String(load_default=None, allow_none=True)


class _Currencies(_Zid):
    order_currency = fields.Nested(_Currency, load_default=None, allow_none=True)


class _Customer(_Zid):
    id = _text()
    name = _text()
    email = _text()
    mobile = _text()


class _InvoiceEntry(_Zid):
    code = fields.String(required=True)
    value = Amount(load_default=None, allow_none=True)
    title = _text()


class _Payment(_Zid):
    invoice = fields.List(fields.Nested(_InvoiceEntry), load_default=list)


class _Line(_Zid):
    id = ExternalId(load_default=None, allow_none=True)
    order_product_id = ExternalId(required=True)
    name = fields.String(required=True)
    sku = _text()
    quantity = fields.Decimal(required=True, allow_nan=False)
    price = Amount(required=True)
    net_price = Amount(load_default=None, allow_none=True)
    tax_percentage = Amount(load_default=None, allow_none=True)


class _Order(_Zid):
    id = ExternalId(required=True)
    code = _text()
    invoice_number = _text()
    order_status = fields.Nested(_Status, required=True)
    payment_status = _text()
    currency_code = _text()
    currency = fields.Nested(_Currencies, load_default=None, allow_none=True)
    customer = fields.Nested(_Customer, load_default=None, allow_none=True)
    is_guest_customer = fields.Raw(load_default=0, allow_none=True)
    order_total = Amount(required=True)
    payment = fields.Nested(_Payment, load_default=None, allow_none=True)
    products = fields.List(fields.Nested(_Line), required=True)
    created_at = _text()
    updated_at = _text()


# ---------------------------------------------------------------- product, category, reverse-order shapes


class _Stock(_Zid):
    location = fields.Raw(load_default=None, allow_none=True)
    available_quantity = fields.Decimal(load_default=None, allow_none=True, allow_nan=False)
    is_infinite = fields.Boolean(load_default=False, allow_none=True)


class _CategoryRef(_Zid):
    id = ExternalId(required=True)


class _Product(_Zid):
    id = ExternalId(required=True)
    sku = _text()
    barcode = _text()
    name = fields.Raw(required=True)
    price = Amount(load_default=ZERO, allow_none=True)
    cost = Amount(load_default=None, allow_none=True)
    quantity = fields.Decimal(load_default=None, allow_none=True, allow_nan=False)
    is_infinite = fields.Boolean(load_default=False, allow_none=True)
    categories = fields.List(fields.Nested(_CategoryRef), load_default=list, allow_none=True)
    stocks = fields.List(fields.Nested(_Stock), load_default=list, allow_none=True)
    variants = fields.List(fields.Dict(), load_default=list, allow_none=True)


class _Category(_Zid):
    id = ExternalId(required=True)
    name = fields.Raw(load_default=None, allow_none=True)
    names = fields.Raw(load_default=None, allow_none=True)
    sub_categories = fields.List(fields.Dict(), load_default=list, allow_none=True)


class _ReverseLine(_Zid):
    order_product_id = ExternalId(required=True)
    quantity = fields.Decimal(load_default=None, allow_none=True, allow_nan=False)
    reversed_quantity = fields.Decimal(load_default=None, allow_none=True, allow_nan=False)


class _ReverseOrder(_Zid):
    id = ExternalId(required=True)
    order_id = ExternalId(load_default=None, allow_none=True)
    is_partial = fields.Boolean(load_default=False, allow_none=True)
    products = fields.List(fields.Nested(_ReverseLine), load_default=list, allow_none=True)
    created_at = _text()


# ---------------------------------------------------------------- mapping to the core


def order_data(payload: Any) -> OrderData:
    """Validate a Zid order (bare, or inside an ``{"event", "data"|"payload"}`` envelope) into OrderData.

    Prices are Zid's gross line ``price`` (VAT included, ``prices_include_vat`` true); the coupon and
    shipping, which Zid's invoice gives VAT excluded, are converted to gross at the order's VAT rate.
    Zid computes VAT once on the taxable amount; the core per line: the totals differ by a few
    halalas at most, which the core books as rounding (O5).
    """
    order = _Order().load(unwrap(payload))
    status = order["order_status"]["code"]
    invoice = {entry["code"]: entry for entry in (order["payment"] or {}).get("invoice", [])}
    rate = vat_rate(order["products"], invoice)
    return core.OrderSchema().load({
        "external_id": order["id"],
        "number": order["id"],
        "status": status,
        "currency": _currency(order),
        "prices_include_vat": True,
        "lines": [_line(line) for line in order["products"]],
        "total": order["order_total"],
        "customer": _customer(order["customer"], order["is_guest_customer"]),
        "shipping": _gross(_invoice_value(invoice, "shipping"), rate),
        "order_discount": _gross(sum((abs(_invoice_value(invoice, code)) for code in DISCOUNT_CODES), ZERO), rate),
        "tax_total": _invoice_value(invoice, "vat") if "vat" in invoice else None,
        "created_at": zid_time(order["created_at"]),
        "cancelled": status in CANCELLED_CODES,
        "modified_at": zid_time(order["updated_at"]),
    })


def unwrap(payload: Any) -> Any:
    """The object inside an envelope ``{"event": …, "data"|"payload": {…}}``, else the payload itself."""
    if isinstance(payload, dict) and "event" in payload:
        for key in ("data", "payload"):
            if isinstance(payload.get(key), dict):
                return payload[key]
    if isinstance(payload, dict) and isinstance(payload.get("order"), dict) and "id" not in payload:
        return payload["order"]
    return payload


def order_refunded(payload: Any) -> bool:
    """Whether the order's status (or payment status) says the whole order was refunded."""
    order = unwrap(payload)
    if not isinstance(order, dict):
        return False
    status = order.get("order_status") if isinstance(order.get("order_status"), dict) else {}
    return status.get("code") in REFUNDED_CODES or order.get("payment_status") == "refunded"


def order_reversed(payload: Any) -> bool:
    """Whether the order's status says goods came back (a reverse order, whole or partial)."""
    order = unwrap(payload)
    status = order.get("order_status") if isinstance(order, dict) else None
    return isinstance(status, dict) and status.get("code") in REVERSED_CODES


def reverse_refund(payload: Any, order_id: str) -> RefundData:
    """A reverse order (a return): its lines by ``order_product_id`` when partial, else the whole order."""
    reverse = _ReverseOrder().load(payload)
    lines = [{"line_external_id": line["order_product_id"],
              "quantity": line["reversed_quantity"] or line["quantity"]}
             for line in reverse["products"] or [] if (line["reversed_quantity"] or line["quantity"])]
    partial = bool(reverse["is_partial"]) and bool(lines)
    return core.RefundSchema().load({
        "external_id": f"reverse:{reverse['id']}",
        "order_external_id": reverse["order_id"] or order_id,
        "lines": lines if partial else [],
        "whole_order": not partial,
        "created_at": zid_time(reverse["created_at"]),
    })


def whole_refund(order_id: str, kind: str) -> RefundData:
    """The whole order given back, named by how Zid says it (``refunded`` or ``reversed``)."""
    return core.RefundSchema().load({"external_id": f"{kind}:{order_id}", "order_external_id": order_id,
                                     "whole_order": True})


def product_data(payload: Any, location_id: str | None = None) -> list[ProductData]:
    """A Zid product as ERP products: its variants (with the parent's categories) when it has any, else itself."""
    product = _Product().load(unwrap(payload))
    categories = [c["id"] for c in product["categories"] or []]
    variants = [v for v in product["variants"] or [] if isinstance(v, dict)]
    if not variants:
        return [_product(product, categories, location_id)]
    parent_name = _name(product["name"])
    return [_product(_Product().load({**variant, "name": _name(variant.get("name")) or parent_name}),
                     categories, location_id)
            for variant in variants]


def category_data(payload: Any, parent: str | None = None) -> Iterator[CategoryData]:
    """A Zid category and, depth first, its ``sub_categories`` (each naming its parent)."""
    category = _Category().load(payload)
    name = _name(category["name"]) or _name(category["names"]) or f"Zid category {category['id']}"
    yield core.CategorySchema().load(
        {"external_id": category["id"], "name": name[:200], "parent_external_id": parent})
    for child in category["sub_categories"] or []:
        yield from category_data(child, category["id"])


def zid_time(value: Any) -> str | None:
    """A Zid time (``"2026-11-28 10:15:03"``, Riyadh time; or ISO with a zone) as an aware ISO string."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise ValidationError(f"Not a Zid time: {value!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=RIYADH)).isoformat()


def vat_rate(lines: list[dict[str, Any]], invoice: dict[str, dict[str, Any]]) -> Decimal:
    """The order's VAT rate: the lines' highest ``tax_percentage`` (0 when no product is taxable), else 0 when
    the VAT entry is 0, else the VAT entry's title ("VAT (%15)"), else 15 %."""
    rates = [line["tax_percentage"] for line in lines if line.get("tax_percentage") is not None]
    if rates:
        rate = max(rates)  # 0 when no product is taxable: coupon and shipping are then as Zid gives them
        return rate / 100 if rate > 1 else rate
    if "vat" in invoice and not _invoice_value(invoice, "vat"):
        return ZERO
    title = str((invoice.get("vat") or {}).get("title") or "")
    found = re.search(r"(\d+(?:\.\d+)?)\s*%|%\s*(\d+(?:\.\d+)?)", title)
    if found:
        return Decimal(found.group(1) or found.group(2)) / 100
    return DEFAULT_VAT_RATE


def unit_price(value: Decimal) -> Decimal:
    """A line's gross price: Zid derives it from its net price (``45.00000000000001``, ``200.00000086523``), so a
    price within a thousandth of a halala of a halala amount is that amount; any other is kept exact."""
    cents = value.quantize(Decimal("0.01"))
    return cents if abs(value - cents) < PRICE_NOISE else value


def normalize_sku(value: Any) -> str | None:
    """An SKU the merchant gave, or ``None`` for a blank one or a Zid-generated ``Z.…`` one (O6)."""
    text = _blank_to_none(value)
    return None if text is None or text.startswith(GENERATED_SKU_PREFIX) else text


def saudi_phone(value: Any) -> str | None:
    """A mobile number in international form: Zid sends ``966500000001`` (no ``+``) or local ``05…``."""
    text = _blank_to_none(value)
    if text is None:
        return None
    digits = re.sub(r"[\s\-()]", "", text)
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("05") and len(digits) == 10:
        return "+966" + digits[1:]
    if digits.startswith("5") and len(digits) == 9:
        return "+966" + digits
    return "+" + digits if digits.isdigit() else text


# ---------------------------------------------------------------- helpers


def _line(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "external_id": line["order_product_id"],
        "sku": normalize_sku(line["sku"]),
        "name": line["name"],
        "quantity": line["quantity"],
        "unit_price": unit_price(line["price"]),
        "product_external_id": line["id"],
    }


def _currency(order: dict[str, Any]) -> str | None:
    code = _blank_to_none(order["currency_code"])
    if code is None and order["currency"] and order["currency"].get("order_currency"):
        code = order["currency"]["order_currency"].get("code")
    return code.upper() if isinstance(code, str) else code


def _customer(customer: dict[str, Any] | None, guest: Any) -> dict[str, Any] | None:
    """The buyer; a guest (``is_guest_customer``) or an order without a buyer books to the default client."""
    if not customer or _truthy(guest):
        return None
    phone = saudi_phone(customer["mobile"])
    email = _blank_to_none(customer["email"])
    external_id = None if customer["id"] in (0, "0") else _blank_to_none(customer["id"])
    name = _blank_to_none(customer["name"]) or email or phone
    if not (external_id or name):
        return None
    return {"external_id": external_id, "name": (name or f"Zid customer {external_id}")[:200],
            "email": email, "phone": phone}


def _invoice_value(invoice: dict[str, dict[str, Any]], code: str) -> Decimal:
    value = (invoice.get(code) or {}).get("value")
    return value if value is not None else ZERO


def _gross(net: Decimal, rate: Decimal) -> Decimal:
    return (net * (1 + rate)).quantize(Decimal("0.01")) if net else ZERO


def _product(product: dict[str, Any], categories: list[str], location_id: str | None) -> ProductData:
    quantity = None if product["is_infinite"] else _quantity(product, location_id)
    return core.ProductSchema().load({
        "external_id": product["id"],
        "sku": normalize_sku(product["sku"]),
        "name": (_name(product["name"]) or f"Zid product {product['id']}")[:300],
        "price": product["price"] or ZERO,
        "cost": product["cost"],
        "barcode": _blank_to_none(product["barcode"]),
        "quantity": quantity,
        "category_external_ids": categories,
        "stock_ref": product["id"],
    })


def _quantity(product: dict[str, Any], location_id: str | None) -> Decimal | None:
    """The linked location's available quantity; else ``quantity`` (Zid's default location); else the first stock."""
    stocks = product["stocks"] or []
    if location_id and stocks:
        found = [s for s in stocks if _location_id(s["location"]) == str(location_id)]
        return (found[0]["available_quantity"] or ZERO) if found else ZERO
    if product["quantity"] is not None:
        return product["quantity"]
    return stocks[0]["available_quantity"] if stocks else None


def _location_id(location: Any) -> str | None:
    if isinstance(location, dict):
        return str(location.get("id")) if location.get("id") is not None else None
    return str(location) if location is not None else None


def _name(value: Any) -> str | None:
    """A name: the Arabic one of ``{"ar", "en"}`` first, else the English one, or a plain string."""
    if isinstance(value, dict):
        return _blank_to_none(value.get("ar")) or _blank_to_none(value.get("en"))
    return _blank_to_none(value)


def _truthy(value: Any) -> bool:
    return value not in (None, 0, "0", False, "", "false")


def _blank_to_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None
