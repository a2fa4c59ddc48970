"""The WooCommerce sandbox's order arithmetic and the REST v3 order and refund objects it serves."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

VAT_RATE = Decimal("0.15")
CENT = Decimal("0.01")
ZERO = Decimal("0")
#: The coupons the sandbox knows: code -> the share of each line's price it takes off.
COUPONS: dict[str, Decimal] = {"save10": Decimal("0.10")}
#: The store charges ``fee=...`` may add: the fee's name and its price (as the store shows prices).
FEE_NAME = "Gift wrap"
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
#: Statuses whose orders hold stock (WooCommerce reduces stock when an order is paid or put on hold).
STOCK_HELD = ("processing", "on-hold", "completed")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
#: The site's own time zone (``date_created`` without ``_gmt``): Asia/Riyadh.
SITE_ZONE = timezone(timedelta(hours=3))


class BadFilter(ValueError):
    """A list filter the API answers with 400 ``rest_invalid_param``."""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    """An amount as WooCommerce writes it: a string with 2 decimals."""
    return f"{cents(value):.2f}"


def gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def local(moment: datetime) -> str:
    return moment.astimezone(SITE_ZONE).strftime(TIME_FORMAT)


def split(amount: Decimal, includes_tax: bool) -> tuple[Decimal, Decimal]:
    """``(net, tax)`` of a price as the store shows it, tax at 15 % rounded to the cent (per line)."""
    if includes_tax:
        net = cents(amount / (1 + VAT_RATE))
        return net, cents(amount) - net
    return cents(amount), cents(cents(amount) * VAT_RATE)


@dataclass
class Line:
    """A product line: ``price`` is the unit price as the store shows it (with tax when the order's prices
    include tax); its amounts follow :func:`split` before and after the coupon."""

    id: int
    product_id: int
    variation_id: int
    name: str
    sku: str
    quantity: int
    price: Decimal

    def amounts(self, includes_tax: bool, coupon: Decimal) -> dict[str, Decimal]:
        shown = self.price * self.quantity
        subtotal, subtotal_tax = split(shown, includes_tax)
        total, total_tax = split(cents(shown * (1 - coupon)), includes_tax)
        return {"subtotal": subtotal, "subtotal_tax": subtotal_tax, "total": total, "total_tax": total_tax}


@dataclass
class Charge:
    """A shipping or fee line: one amount as the store shows it."""

    id: int
    name: str
    amount: Decimal

    def amounts(self, includes_tax: bool) -> dict[str, Decimal]:
        total, total_tax = split(self.amount, includes_tax)
        return {"total": total, "total_tax": total_tax}


@dataclass
class Refund:
    """A refund: per refunded item id, ``(quantity, total, total_tax)``; amount is positive."""

    id: int
    created: datetime
    amount: Decimal
    reason: str
    items: dict[int, tuple[int, Decimal, Decimal]]
    shipping: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    fees: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    restock: bool = True


@dataclass
class Order:
    """A store order; :meth:`as_json` is the object of the API and of the webhooks (built when asked)."""

    id: int
    lines: list[Line]
    customer: dict[str, Any] | None
    created: datetime
    prices_include_tax: bool = True
    coupon: str | None = None
    shipping: list[Charge] = field(default_factory=list)
    fees: list[Charge] = field(default_factory=list)
    currency: str = "SAR"
    status: str = "processing"
    modified: datetime | None = None
    completed: datetime | None = None
    paid: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    stock_reduced: bool = False

    @property
    def discount(self) -> Decimal:
        return COUPONS.get(self.coupon or "", ZERO)

    def line_amounts(self, line: Line) -> dict[str, Decimal]:
        return line.amounts(self.prices_include_tax, self.discount)

    def charge_amounts(self, charge: Charge) -> dict[str, Decimal]:
        return charge.amounts(self.prices_include_tax)

    def total(self) -> Decimal:
        parts = [self.line_amounts(line) for line in self.lines]
        parts += [self.charge_amounts(charge) for charge in self.shipping + self.fees]
        return sum((p["total"] + p["total_tax"] for p in parts), ZERO)

    def refunded_total(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), ZERO)

    def refunded_quantity(self, line_id: int) -> int:
        return sum(refund.items.get(line_id, (0, ZERO, ZERO))[0] for refund in self.refunds)

    def refunded_amounts(self, item_id: int) -> tuple[Decimal, Decimal]:
        """What was refunded of a line, shipping or fee line so far: ``(total, total_tax)``."""
        total = tax = ZERO
        for refund in self.refunds:
            for table in (refund.items, refund.shipping, refund.fees):
                if item_id in table:
                    entry = table[item_id]
                    total, tax = total + entry[-2], tax + entry[-1]
        return total, tax

    def as_json(self) -> dict[str, Any]:
        items = [self._line_json(line) for line in self.lines]
        shipping = [self._charge_json(c, "shipping") for c in self.shipping]
        fees = [self._charge_json(c, "fee") for c in self.fees]
        items_tax = sum((Decimal(i["total_tax"]) for i in items), ZERO)
        fees_tax = sum((Decimal(f["total_tax"]) for f in fees), ZERO)
        shipping_tax = sum((Decimal(s["total_tax"]) for s in shipping), ZERO)
        discount = sum((Decimal(i["subtotal"]) - Decimal(i["total"]) for i in items), ZERO)
        discount_tax = sum((Decimal(i["subtotal_tax"]) - Decimal(i["total_tax"]) for i in items), ZERO)
        buyer = self.customer or GUEST_BILLING
        modified = self.modified or self.created
        return {
            "id": self.id, "parent_id": 0, "number": str(self.id), "order_key": f"wc_order_sandbox{self.id}",
            "created_via": "checkout", "version": "9.4.0", "status": self.status, "currency": self.currency,
            "prices_include_tax": self.prices_include_tax,
            "date_created": local(self.created), "date_created_gmt": gmt(self.created),
            "date_modified": local(modified), "date_modified_gmt": gmt(modified),
            "date_completed": local(self.completed) if self.completed else None,
            "date_completed_gmt": gmt(self.completed) if self.completed else None,
            "date_paid": local(self.paid) if self.paid else None,
            "date_paid_gmt": gmt(self.paid) if self.paid else None,
            "discount_total": money(discount), "discount_tax": money(discount_tax),
            "shipping_total": money(sum((Decimal(s["total"]) for s in shipping), ZERO)),
            "shipping_tax": money(shipping_tax), "cart_tax": money(items_tax + fees_tax),
            "total": money(self.total()), "total_tax": money(items_tax + fees_tax + shipping_tax),
            "customer_id": int(self.customer["id"]) if self.customer else 0,
            "billing": _billing(buyer), "shipping": {k: v for k, v in _billing(buyer).items()
                                                    if k not in ("email", "phone")},
            "payment_method": "cod", "payment_method_title": "Cash on delivery", "transaction_id": "",
            "customer_note": "", "line_items": items,
            "tax_lines": [{"id": 1, "rate_code": "SA-VAT-1", "rate_id": 1, "label": "VAT", "compound": False,
                           "tax_total": money(items_tax + fees_tax), "shipping_tax_total": money(shipping_tax),
                           "rate_percent": 15, "meta_data": []}],
            "shipping_lines": shipping, "fee_lines": fees,
            "coupon_lines": [{"id": 1, "code": self.coupon, "discount": money(discount),
                              "discount_tax": money(discount_tax), "meta_data": []}] if self.coupon else [],
            "refunds": [{"id": r.id, "reason": r.reason, "total": money(-r.amount)} for r in self.refunds[::-1]],
            "meta_data": [],
        }

    def _line_json(self, line: Line) -> dict[str, Any]:
        a = self.line_amounts(line)
        return {
            "id": line.id, "name": line.name, "product_id": line.product_id, "variation_id": line.variation_id,
            "quantity": line.quantity, "tax_class": "",
            "subtotal": money(a["subtotal"]), "subtotal_tax": money(a["subtotal_tax"]),
            "total": money(a["total"]), "total_tax": money(a["total_tax"]),
            "taxes": [{"id": 1, "total": money(a["total_tax"]), "subtotal": money(a["subtotal_tax"])}],
            "meta_data": [], "sku": line.sku, "price": float(a["total"] / line.quantity),
            "image": {"id": "", "src": ""}, "parent_name": None,
        }

    def _charge_json(self, charge: Charge, kind: str) -> dict[str, Any]:
        a = self.charge_amounts(charge)
        data: dict[str, Any] = {"id": charge.id, "total": money(a["total"]), "total_tax": money(a["total_tax"]),
                                "taxes": [{"id": 1, "total": money(a["total_tax"]), "subtotal": ""}],
                                "meta_data": []}
        if kind == "shipping":
            data.update(method_title=charge.name, method_id="flat_rate", instance_id="1")
        else:
            data.update(name=charge.name, tax_class="", tax_status="taxable", amount=money(a["total"]))
        return data

    def refund_json(self, refund: Refund) -> dict[str, Any]:
        """``GET /orders/{id}/refunds/{rid}``: quantities and amounts negative, each line naming its item."""
        by_id = {line.id: line for line in self.lines}
        charges = {charge.id: charge for charge in self.shipping + self.fees}

        def item(line_id: int, quantity: int, total: Decimal, tax: Decimal) -> dict[str, Any]:
            line = by_id[line_id]
            return {"id": refund.id * 100 + line_id % 100, "name": line.name, "product_id": line.product_id,
                    "variation_id": line.variation_id, "quantity": -quantity, "tax_class": "",
                    "subtotal": money(-total), "subtotal_tax": money(-tax), "total": money(-total),
                    "total_tax": money(-tax), "taxes": [{"id": 1, "total": money(-tax), "subtotal": money(-tax)}],
                    "sku": line.sku, "price": float(-total / quantity), "refund_total": float(total + tax),
                    "meta_data": [_refunded(line_id)]}

        def charge(charge_id: int, total: Decimal, tax: Decimal, kind: str) -> dict[str, Any]:
            base = {"id": refund.id * 100 + charge_id % 100, "total": money(-total), "total_tax": money(-tax),
                    "taxes": [{"id": 1, "total": money(-tax), "subtotal": ""}], "meta_data": [_refunded(charge_id)]}
            key = "method_title" if kind == "shipping" else "name"
            return {**base, key: charges[charge_id].name}

        return {
            "id": refund.id, "date_created": local(refund.created), "date_created_gmt": gmt(refund.created),
            "amount": money(refund.amount), "reason": refund.reason, "refunded_by": 1, "refunded_payment": False,
            "meta_data": [],
            "line_items": [item(i, q, t, x) for i, (q, t, x) in refund.items.items()],
            "shipping_lines": [charge(i, t, x, "shipping") for i, (t, x) in refund.shipping.items()],
            "fee_lines": [charge(i, t, x, "fee") for i, (t, x) in refund.fees.items()],
            "tax_lines": [],
        }


GUEST_BILLING = {"first_name": "Guest", "last_name": "Buyer", "email": "guest@example.com",
                 "phone": "966500000009"}


def _billing(buyer: Mapping[str, Any]) -> dict[str, Any]:
    return {"first_name": buyer.get("first_name", ""), "last_name": buyer.get("last_name", ""), "company": "",
            "address_1": "King Fahd Road", "address_2": "", "city": "Riyadh", "state": "", "postcode": "12211",
            "country": "SA", "email": buyer.get("email", ""), "phone": buyer.get("phone", "")}


def _refunded(item_id: int) -> dict[str, Any]:
    return {"id": 9000 + item_id, "key": "_refunded_item_id", "value": str(item_id)}


def parse_time(value: str, name: str, *, gmt_default: bool) -> datetime:
    """An ISO 8601 query time; zone-less is GMT with ``dates_are_gmt``, else the site's time."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadFilter(f"Invalid parameter(s): {name}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC if gmt_default else SITE_ZONE)
    return moment
