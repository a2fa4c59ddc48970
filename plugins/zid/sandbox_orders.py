"""The Zid sandbox's order arithmetic and the order, reverse-order and product objects it serves."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

VAT_RATE = Decimal("0.15")
#: Zid prints order amounts with 14 decimals ("86.95652173913043").
FOURTEEN = Decimal("0.00000000000001")
CENT = Decimal("0.01")
ZERO = Decimal("0")
#: The coupons the sandbox knows: code -> the net amount it takes off the lines.
COUPONS: dict[str, Decimal] = {"SAVE10": Decimal("10.00")}
#: order_status.code -> Arabic name, after Zid's order statuses.
STATUSES: dict[str, str] = {
    "new": "جديد", "preparing": "جاري التجهيز", "ready": "جاهز", "indelivery": "جاري التوصيل",
    "delivered": "تم التوصيل", "canceled": "ملغي", "refunded": "مسترجع", "reversed": "مرتجع",
    "reverse_in_progress": "جاري الاسترجاع",
}
#: Foreign currencies the sandbox can sell in: code -> exchange rate as Zid shows it (meaning not documented).
EXCHANGE_RATES: dict[str, str] = {"KWD": "12.2"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Zid's times are the store's local time, Asia/Riyadh (UTC+3), without a zone.
RIYADH = timezone(timedelta(hours=3))


class BadFilter(ValueError):
    """A list filter the API answers with 422."""


def fourteen(value: Decimal) -> str:
    """An amount as Zid writes it in orders: a string with 14 decimals."""
    return str(value.quantize(FOURTEEN, rounding=ROUND_HALF_UP))


def net_of(gross: Decimal) -> Decimal:
    """The net unit price of a VAT-inclusive price, to 14 decimals."""
    return (gross / (1 + VAT_RATE)).quantize(FOURTEEN, rounding=ROUND_HALF_UP)


def stamp(moment: datetime) -> str:
    """A Zid time: store-local (Asia/Riyadh), no zone."""
    return moment.strftime(TIME_FORMAT)


@dataclass(frozen=True)
class OrderAmounts:
    """An order's money, all net except ``vat`` and ``total``."""

    lines_net: Decimal
    coupon_net: Decimal
    shipping_net: Decimal
    taxable: Decimal
    vat: Decimal
    total: Decimal


def order_amounts(lines: list[tuple[Decimal, int]], coupon_net: Decimal = ZERO,
                  shipping_net: Decimal = ZERO) -> OrderAmounts:
    """The design's coupon/VAT math from ``(net unit price, quantity)`` lines.

    lines_net = Σ qty × net_price; the coupon (a positive net amount, at most lines_net) comes off
    the lines; taxable = lines_net − coupon + shipping_net; vat = round(taxable × 0.15, 2);
    total = taxable + vat (shown with 14 decimals).
    """
    lines_net = sum((price * quantity for price, quantity in lines), ZERO)
    coupon = min(coupon_net, lines_net)
    taxable = lines_net - coupon + shipping_net
    vat = (taxable * VAT_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
    return OrderAmounts(lines_net, coupon, shipping_net, taxable, vat, taxable + vat)


@dataclass
class OrderLine:
    """One product line of an order."""

    order_product_id: int
    product: dict[str, Any]
    quantity: int
    net_price: Decimal

    def as_json(self) -> dict[str, Any]:
        gross = (self.net_price * (1 + VAT_RATE)).quantize(FOURTEEN, rounding=ROUND_HALF_UP)
        name = self.product["name"]
        return {
            "id": self.product["id"], "order_product_id": self.order_product_id,
            "parent_id": self.product.get("parent_id"), "name": name.get("ar") or name.get("en"),
            "sku": self.product.get("sku") or None, "barcode": self.product.get("barcode"),
            "quantity": self.quantity, "price": fourteen(gross), "net_price": fourteen(self.net_price),
            "tax_percentage": float(VAT_RATE), "tax_amount": fourteen(gross - self.net_price),
            "total": fourteen(gross * self.quantity), "is_taxable": True,
        }


@dataclass
class Order:
    """A store order; :meth:`as_json` is the object of the API and of the webhooks."""

    id: int
    code: str
    store_id: int
    lines: list[OrderLine]
    customer: dict[str, Any]
    guest: bool
    created_at: str
    coupon: str | None = None
    shipping_net: Decimal = ZERO
    currency: str = "SAR"
    status: str = "new"
    payment_status: str = "paid"
    updated_at: str = ""
    #: When the order became ``delivered`` (kept afterwards, as Zid's ``delivered_at``).
    delivered_at: str | None = None
    histories: list[dict[str, Any]] = field(default_factory=list)
    restocked: bool = False

    def amounts(self) -> OrderAmounts:
        return order_amounts([(line.net_price, line.quantity) for line in self.lines],
                             COUPONS.get(self.coupon or "", ZERO), self.shipping_net)

    def as_json(self) -> dict[str, Any]:
        amounts = self.amounts()
        rate = EXCHANGE_RATES.get(self.currency)
        return {
            "id": self.id, "code": self.code, "invoice_number": f"INV-{self.id}", "store_id": self.store_id,
            "order_url": f"https://sandbox.zid.store/orders/{self.code}",
            "order_status": {"name": STATUSES[self.status], "code": self.status},
            "payment_status": self.payment_status, "currency_code": self.currency,
            "currency": {"order_currency": {"code": self.currency, "exchange_rate": rate},
                         "order_store_currency": {"code": "SAR", "exchange_rate": None}},
            "customer": dict(self.customer), "is_guest_customer": 1 if self.guest else 0,
            "order_total": fourteen(amounts.total), "order_total_string": f"{amounts.total:.2f} {self.currency}",
            "payment": {"method": {"name": "Zid Pay", "code": "zidpay", "type": "zidpay"},
                        "invoice": _invoice(amounts, self.currency)},
            "coupon": _coupon(self.coupon, amounts.coupon_net),
            "shipping": {"method": {"id": 1, "name": "Aramex", "code": "aramex"},
                         "address": {"city": {"id": 1, "name": "Riyadh"},
                                     "country": {"id": 184, "name": "Saudi Arabia", "code": "SA"}}},
            "products": [line.as_json() for line in self.lines],
            "created_at": self.created_at, "updated_at": self.updated_at, "delivered_at": self.delivered_at,
            "histories": [dict(entry) for entry in self.histories],
        }


def _invoice(amounts: OrderAmounts, currency: str) -> list[dict[str, Any]]:
    rows = [("sub_totals_before_vat", amounts.lines_net, "Subtotal before VAT")]
    if amounts.coupon_net:
        rows.append(("coupon", -amounts.coupon_net, "Coupon"))
    rows += [("shipping", amounts.shipping_net, "Shipping"), ("taxable_amount", amounts.taxable, "Taxable amount"),
             ("vat", amounts.vat, "VAT (%15)"), ("total", amounts.total, "Total")]
    return [{"code": code, "value": fourteen(value), "value_string": f"{value:.2f} {currency}", "title": title}
            for code, value, title in rows]


def _coupon(code: str | None, net: Decimal) -> dict[str, Any] | None:
    if not code or not net:
        return None
    return {"id": 3, "code": code, "name": f"Coupon {code}", "discount": fourteen(-net)}


def reverse_json(reverse_id: str, order: Order, returned: list[tuple[OrderLine, int]], is_partial: bool,
                 created_at: str) -> dict[str, Any]:
    """A reverse order (a return) of ``returned`` (line, quantity) pairs of ``order``."""
    net = sum((line.net_price * quantity for line, quantity in returned), ZERO)
    total = net + (net * VAT_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "id": reverse_id, "order_id": order.id, "is_partial": is_partial,
        "reverse_total": fourteen(total), "refund_total": fourteen(total),
        "refund": {"amount": fourteen(total), "payment_method": "zid_bank_transfer"},
        "products": [{"order_product_id": line.order_product_id, "product_uuid": line.product["id"],
                      "quantity": line.quantity, "reversed_quantity": quantity} for line, quantity in returned],
        "created_at": created_at,
    }


def _when(value: str, name: str) -> datetime:
    """A time from a query parameter: ISO 8601 or ``YYYY-MM-DD[ HH:MM:SS]``; zone-less is Riyadh time."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise BadFilter(f"The {name} is not a valid date.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=RIYADH)


def order_matches(order: dict[str, Any], args: Mapping[str, str]) -> bool:
    """Whether an order passes the list's filters (``search_term``, ``date_from``/``date_to``, ``updated_at_from``,
    ``order_status``)."""
    term = args.get("search_term")
    if term and term not in (str(order["id"]), order["code"], order["invoice_number"]):
        return False
    created = _when(order["created_at"], "created_at")
    if args.get("date_from") and created < _when(args["date_from"], "date_from"):
        return False
    if args.get("date_to"):
        end = _when(args["date_to"], "date_to")
        if len(args["date_to"].strip()) == 10:
            end += timedelta(days=1)
            if created >= end:
                return False
        elif created > end:
            return False
    if args.get("updated_at_from") and _when(order["updated_at"], "updated_at") < _when(
            args["updated_at_from"], "updated_at_from"):
        return False
    status = args.get("order_status")
    return not status or order["order_status"]["code"] == status
