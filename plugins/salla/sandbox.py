"""In-memory Salla store: the Merchant API parts a connector calls, plus signed webhooks (SPEC §7)."""
from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx
from flask import Flask, Response, g, jsonify, request

from core.money import ZERO, money
from core.services.pricing import allocate
from core.testing.sandbox import (
    LeakyBucket,
    RecordedRequest,
    RequestLog,
    SandboxServer,
    TickingClock,
    serve_until_interrupted,
)
from core.testing.sandbox_page import PageOrder, PageProduct, add_control_page

API_PREFIX = "/admin/v2"
CONTROL_PREFIX = "/_sandbox"
CURRENCY = "SAR"
VAT_RATE = Decimal("0.15")
VAT_PERCENT = "15.00"
PER_PAGE_DEFAULT = 15
RIYADH = timezone(timedelta(hours=3))
#: The store's clock (see :class:`TickingClock`); the drivers make it tick while capturing webhooks.
CLOCK = TickingClock(RIYADH)
PRODUCT_TYPES = {"product", "service", "booking", "digital", "food", "codes", "group_products"}
QUANTITY_MODES = {"overwrite", "increment", "decrement"}
PRODUCT_FIELDS = {"name", "price", "sale_price", "cost_price", "sku", "mpn", "gtin", "status",
                  "categories", "quantity", "product_type"}

# slug -> (status id, Arabic display name), after Salla's "List Order Statuses"
ORDER_STATUSES: dict[str, tuple[int, str]] = {
    "payment_pending": (566146469, "بانتظار الدفع"),
    "waiting_for_payment_confirmation": (566146470, "بانتظار تأكيد الدفع"),
    "payment_failed": (566146471, "فشل الدفع"),
    "under_review": (566146472, "بإنتظار المراجعة"),
    "in_progress": (566146473, "قيد التنفيذ"),
    "completed": (566146474, "تم التنفيذ"),
    "delivering": (566146475, "جاري التوصيل"),
    "delivered": (566146476, "تم التوصيل"),
    "shipped": (566146477, "تم الشحن"),
    "canceled": (566146478, "ملغي"),
    "restored": (566146479, "مسترجع"),
    "restoring": (566146480, "قيد الإسترجاع"),
}
RESTOCKING_STATUSES = {"canceled", "restored"}


# ---------------------------------------------------------------- amounts


@dataclass(frozen=True)
class LineAmounts:
    """One order line's money, all ex-VAT except ``tax``."""

    unit_price: Decimal
    total: Decimal
    discount: Decimal
    tax: Decimal


@dataclass(frozen=True)
class OrderAmounts:
    """An order's money as the sandbox books it (see :func:`order_amounts`)."""

    lines: list[LineAmounts]
    sub_total: Decimal
    discount: Decimal
    shipping: Decimal
    shipping_tax: Decimal
    cod: Decimal
    tax: Decimal
    total: Decimal


def order_amounts(
    lines: Sequence[tuple[Decimal, int]], *, shipping: Decimal = ZERO,
    discount: Decimal = ZERO, cod: Decimal = ZERO,
) -> OrderAmounts:
    """Compute an order's amounts from ``(unit price ex-VAT, quantity)`` lines.

    Every step is rounded half-up to 0.01 (:func:`core.money.money`):

    1. line ``total`` = unit price × quantity (``items[].amounts.total``, before discount;
       ``price_without_tax`` is the unit price);
    2. ``sub_total`` = Σ line totals;
    3. the order discount (``amounts.discounts[0].discount``, ex-VAT, ≤ sub_total) is spread over
       the lines pro rata to their totals, largest remainders first, so no share is negative or
       above its line (``items[].amounts.total_discount``; the shares add up to the discount exactly);
    4. line tax = 15 % × (line total − line discount) (``items[].amounts.tax.amount``);
    5. shipping tax = 15 % × shipping cost; the cash-on-delivery fee carries no tax;
    6. ``tax`` = Σ line taxes + shipping tax (``amounts.tax.amount``);
    7. ``total`` = sub_total − discount + shipping + cash_on_delivery + tax.
    """
    shipping, discount, cod = money(shipping), money(discount), money(cod)
    totals = [money(money(price) * qty) for price, qty in lines]
    sub_total = money(sum(totals, ZERO))
    if discount < 0 or discount > sub_total:
        raise ValueError(f"discount {discount} must lie between 0 and the sub-total {sub_total}")
    shares = allocate(discount, totals)
    line_amounts = [
        LineAmounts(money(price), line_total, share, money((line_total - share) * VAT_RATE))
        for (price, _qty), line_total, share in zip(lines, totals, shares, strict=True)
    ]
    shipping_tax = money(shipping * VAT_RATE)
    tax = sum((line.tax for line in line_amounts), ZERO) + shipping_tax
    total = sub_total - discount + shipping + cod + tax
    return OrderAmounts(line_amounts, sub_total, discount, shipping, shipping_tax, cod, tax, total)


def _number(value: Decimal) -> int | float:
    """Money as Salla prints it: a JSON number, whole amounts without decimals."""
    return int(value) if value == value.to_integral_value() else float(value)


def _amount(value: Decimal) -> dict[str, Any]:
    return {"amount": _number(money(value)), "currency": CURRENCY}


def _decimal(value: Any, name: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({name: ["must be a number"]}) from None
    if not result.is_finite() or result < 0:
        raise ValidationError({name: ["must be a number not below 0"]})
    return result


def _now() -> datetime:
    return CLOCK.read()



def _date_object(moment: datetime) -> dict[str, Any]:
    return {"date": moment.strftime("%Y-%m-%d %H:%M:%S.000000"), "timezone_type": 3,
            "timezone": "Asia/Riyadh"}


def webhook_timestamp(moment: datetime) -> str:
    """The envelope's ``created_at``: ``Sun Jun 26 2022 12:21:48 GMT+0300``."""
    return f"{moment:%a %b %d %Y %H:%M:%S} GMT+0300"


def sign(secret: str, body: bytes) -> str:
    """``X-Salla-Signature``: lowercase hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- state


class ValidationError(Exception):
    """A request Salla would answer with 422 ``alert.invalid_fields``."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


class NotFound(Exception):
    """A resource the store does not have (404 ``not_found``)."""


@dataclass
class Product:
    """A simple (variant-less) store product; prices are ex-VAT."""

    id: int
    sku: str
    name: str
    price: Decimal
    sale_price: Decimal = ZERO
    cost_price: Decimal | None = None
    mpn: str | None = None
    gtin: str | None = None
    type: str = "product"
    status: str = "sale"
    category_ids: list[int] = field(default_factory=list)
    sold_quantity: int = 0
    updated_at: str = ""

    @property
    def selling_price(self) -> Decimal:
        """What a customer pays per unit before VAT: the sale price when set, else the price."""
        return self.sale_price if self.sale_price > 0 else self.price


@dataclass
class Delivery:
    """One webhook the sandbox sent (or tried to)."""

    event: str
    body: bytes
    headers: dict[str, str]
    url: str
    status: int | None = None
    error: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class SallaSandbox:
    """An in-memory Salla store with its Merchant API (``.app``) and a webhook sender.

    All state sits behind one lock; webhooks are sent outside it, so a receiver may call the
    API back while handling a delivery. Orders decrement the default branch's stock; an order
    that becomes ``canceled`` or ``restored`` (refunded) puts its stock back once.
    """

    def __init__(
        self, *, merchant_id: int = 1305146709, access_token: str = "sandbox-access-token",
        refresh_token: str = "sandbox-refresh-token", webhook_secret: str = "sandbox-webhook-secret",
        rate_limit: int = 120, leak_per_second: float = 1.0, per_page_max: int = 60,
        store_name: str = "Mizan Sandbox Store", security_strategy: str = "Signature",
    ) -> None:
        self.merchant_id = merchant_id
        #: How deliveries prove themselves: ``Signature`` (HMAC of the body) or ``Token`` (the secret in ``Authorization``).
        self.security_strategy = security_strategy
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.webhook_secret = webhook_secret
        self.per_page_max = per_page_max
        self.store_name = store_name
        self.webhook_target: str | None = None
        self.bucket = LeakyBucket(rate_limit, leak_per_second)
        self.log = RequestLog()
        self.deliveries: list[Delivery] = []
        #: While a list (see :meth:`capturing`), webhooks are appended to it as ``(url, headers, body)``, not sent.
        self.captured: list[tuple[str, dict[str, str], bytes]] | None = None
        self.unmatched_quantity_updates: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._ids = {kind: itertools.count(start) for kind, start in (
            ("branch", 200000001), ("activity", 300000001), ("category", 400000001),
            ("customer", 500000001), ("product", 600000001), ("item", 800000001),
            ("order", 900000001), ("reference", 10001), ("token", 1))}
        self.branches: dict[int, dict[str, Any]] = {}
        self.categories: dict[int, dict[str, Any]] = {}
        self.products: dict[int, Product] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.histories: dict[int, list[dict[str, Any]]] = {}
        self._stock: dict[tuple[int, int], int] = {}
        self._order_lines: dict[int, list[tuple[int, int, int]]] = {}
        self._restocked: set[int] = set()
        self.default_branch_id = self.add_branch("الفرع الرئيسي", is_default=True)["id"]
        self.add_branch("فرع جدة")
        self.app = self._build_app()

    # ------------------------------------------------------------ Python API: store

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A server for ``.app``; use it as a context manager (``with sandbox.serve() as s``)."""
        return SandboxServer(self.app, host=host, port=port)

    def resume_numbering(self, offset: int) -> None:
        """Move the order-side ids on by ``offset`` (e.g. the clock), so a restarted sandbox
        never hands out an order id a previous run used (the ERP would call it already booked)."""
        with self._lock:
            for kind in ("activity", "customer", "item", "order", "reference"):
                self._ids[kind] = itertools.count(next(self._ids[kind]) + offset)

    def _next(self, kind: str) -> int:
        return next(self._ids[kind])

    def add_branch(self, name: str, *, is_default: bool = False) -> dict[str, Any]:
        with self._lock:
            branch = {"id": self._next("branch"), "name": name, "type": "branch",
                      "status": "active", "is_default": is_default}
            self.branches[branch["id"]] = branch
            return dict(branch)

    def add_category(self, name: str, *, parent_id: int = 0) -> dict[str, Any]:
        with self._lock:
            category = {"id": self._next("category"), "name": name, "parent_id": parent_id,
                        "status": "active", "sort_order": len(self.categories)}
            self.categories[category["id"]] = category
            return dict(category)

    def add_product(
        self, sku: str, name: str, price: Decimal | str | float, quantity: int = 0, *,
        sale_price: Decimal | str | float = ZERO, cost_price: Decimal | str | float | None = None,
        mpn: str | None = None, gtin: str | None = None, categories: Sequence[int] = (),
        status: str = "sale", branch: int | None = None, send: bool = False,
    ) -> dict[str, Any]:
        """Add a product (``sku`` may be ""); ``send`` also delivers ``product.created``."""
        with self._lock:
            if sku and self._find_sku(sku) is not None:
                raise ValidationError({"sku": [f"SKU {sku!r} is already taken"]})
            unknown = [c for c in categories if c not in self.categories]
            if unknown:
                raise ValidationError({"categories": [f"unknown category ids {unknown}"]})
            product = Product(
                id=self._next("product"), sku=sku, name=name, price=money(price),
                sale_price=money(sale_price),
                cost_price=None if cost_price is None else money(cost_price),
                mpn=mpn, gtin=gtin, status=status, category_ids=list(categories),
                updated_at=_now().strftime("%Y-%m-%d %H:%M:%S"))
            self.products[product.id] = product
            self._stock[(product.id, branch or self.default_branch_id)] = int(quantity)
            data = self.product_json(product.id)
        if send:
            self.send("product.created", data)
        return data

    def update_product(self, product_id: int, *, send: bool = True, **changes: Any) -> dict[str, Any]:
        """Change product fields (name, price, sale_price, cost_price, sku, mpn, gtin, status,
        categories, quantity → default branch). ``send`` delivers ``product.updated`` and, when a
        price changed, ``product.price.updated``."""
        with self._lock:
            price_changed = self._apply_product_changes(self._product(product_id), changes)
            data = self.product_json(product_id)
            price_data = self._price_event_data(self._product(product_id))
        if send:
            self.send("product.updated", data)
            if price_changed:
                self.send("product.price.updated", price_data)
        return data

    def quantity(self, sku: str | int, branch: int | None = None) -> int:
        """Stock of a product (by SKU or id) in ``branch``, or over all branches."""
        with self._lock:
            product = self._product_by_key(sku)
            if branch is not None:
                return self._stock.get((product.id, branch), 0)
            return sum(q for (pid, _b), q in self._stock.items() if pid == product.id)

    def set_quantity(self, sku: str | int, quantity: int, branch: int | None = None) -> None:
        with self._lock:
            product = self._product_by_key(sku)
            self._stock[(product.id, branch or self.default_branch_id)] = int(quantity)

    # ------------------------------------------------------------ Python API: orders

    def create_order(
        self, items: Sequence[tuple[Any, ...]], *, customer: dict[str, Any] | None = None,
        shipping: Decimal | str | float = ZERO, discount: Decimal | str | float = ZERO,
        cod: Decimal | str | float = ZERO, status: str = "under_review",
        payment_method: str | None = None, coupon: str = "SANDBOX", send: bool = True,
    ) -> dict[str, Any]:
        """Place an order and (``send``) deliver ``order.created``; returns the order model.

        ``items`` are ``(sku or product id, quantity)`` or ``(key, quantity, unit price ex-VAT)``.
        Amounts follow :func:`order_amounts`. ``customer`` keys override a demo customer; without
        an ``id`` a new customer id is given.
        """
        if status not in ORDER_STATUSES:
            raise ValidationError({"status": [f"unknown status slug {status!r}"]})
        with self._lock:
            rows = []
            for item in items:
                product = self._product_by_key(item[0])
                price = money(item[2]) if len(item) > 2 else product.selling_price
                rows.append((product, int(item[1]), price))
            if not rows:
                raise ValidationError({"items": ["an order needs at least one item"]})
            amounts = order_amounts([(price, qty) for _p, qty, price in rows], shipping=money(shipping),
                                    discount=money(discount), cod=money(cod))
            order_id = self._next("order")
            order = self._order_model(order_id, rows, amounts, status, customer, coupon,
                                      payment_method or ("cod" if money(cod) > 0 else "mada"))
            self.orders[order_id] = order
            self._order_lines[order_id] = [(p.id, qty, self.default_branch_id) for p, qty, _ in rows]
            for product, qty, _price in rows:
                key = (product.id, self.default_branch_id)
                self._stock[key] = self._stock.get(key, 0) - qty
                product.sold_quantity += qty
            data = json.loads(json.dumps(order))
        if send:
            self.send("order.created", data)
        return data

    def set_order_status(self, order_id: int, slug: str, *, send: bool = True,
                         note: str = "") -> dict[str, Any]:
        """Move an order to ``slug`` and (``send``) deliver ``order.status.updated`` — plus
        ``order.cancelled`` (whole order) when the slug is ``canceled``. Returns the order."""
        if slug not in ORDER_STATUSES:
            raise ValidationError({"slug": [f"unknown status slug {slug!r}"]})
        with self._lock:
            order = self._set_status(order_id, slug)
            status_event = self._status_event_data(order, note)
        if send:
            self.send("order.status.updated", status_event)
            if slug == "canceled":
                self.send("order.cancelled", order)
        return order

    def refund_order(self, order_id: int, *, send: bool = True) -> dict[str, Any]:
        """Refund the whole order: status ``restored``, stock back, ``order.refunded`` sent."""
        with self._lock:
            order = self._set_status(order_id, "restored")
        if send:
            self.send("order.refunded", order)
        return order

    def add_history(self, order_id: int, note: str) -> dict[str, Any]:
        """Append ``note`` to the order's history (``POST /orders/{id}/histories``); the entry."""
        with self._lock:
            order = self.order(order_id)
            status = order["status"]
            entry = {"id": self._next("activity"), "status": status["name"],
                     "customized": {**status["customized"], "type": "original", "slug": status["slug"],
                                    "original": {"id": status["id"], "name": status["name"]}, "parent": {}},
                     "note": note, "created_at": _date_object(_now())}
            self.histories.setdefault(order_id, []).append(entry)
            return dict(entry)

    def notes(self, order_id: int) -> list[str]:
        """The notes in the order's history, oldest first."""
        with self._lock:
            return [h["note"] for h in self.histories.get(order_id, [])]

    def order(self, order_id: int) -> dict[str, Any]:
        with self._lock:
            if order_id not in self.orders:
                raise NotFound(f"order {order_id}")
            return json.loads(json.dumps(self.orders[order_id]))

    # ------------------------------------------------------------ Python API: auth and webhooks

    def authorize(self, *, send: bool = True, rotate: bool = False) -> dict[str, Any]:
        """The ``app.store.authorize`` data (easy-mode tokens); ``rotate`` issues new tokens
        first, after which the old access token answers 401."""
        with self._lock:
            if rotate:
                serial = self._next("token")
                self.access_token = f"sandbox-access-token-{serial}"
                self.refresh_token = f"sandbox-refresh-token-{serial}"
            data = {"access_token": self.access_token, "refresh_token": self.refresh_token,
                    "expires": int(time.time()) + 14 * 24 * 3600,
                    "scope": "settings.read branches.read categories.read products.read_write "
                             "orders.read_write webhooks.read_write offline_access"}
        if send:
            self.send("app.store.authorize", data)
        return data

    def set_webhook_target(self, url: str | None) -> None:
        self.webhook_target = url

    def build_delivery(self, event: str, data: Any,
                       created_at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers Salla would POST for ``event`` (signature included)."""
        envelope = {"event": event, "merchant": self.merchant_id,
                    "created_at": webhook_timestamp(created_at or _now()), "data": data}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Salla-Webhook-Sandbox",
                   "X-Salla-Security-Strategy": self.security_strategy}
        if self.security_strategy == "Token":
            headers["Authorization"] = self.webhook_secret
        else:
            headers["X-Salla-Signature"] = sign(self.webhook_secret, body)
        return body, headers

    def send(self, event: str, data: Any) -> httpx.Response:
        """Sign and POST a webhook to the target; the delivery is kept in ``.deliveries``."""
        body, headers = self.build_delivery(event, data)
        return self.deliver(event, body, headers)

    def deliver(self, event: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST a prepared (maybe tampered) body and headers to the webhook target."""
        if not self.webhook_target:
            raise RuntimeError("no webhook target: call set_webhook_target(url) first")
        delivery = Delivery(event, body, dict(headers), self.webhook_target)
        with self._lock:
            self.deliveries.append(delivery)
            if self.captured is not None:
                self.captured.append((self.webhook_target, dict(headers), body))
                delivery.status = 200
                return httpx.Response(200, request=httpx.Request("POST", self.webhook_target))
        try:
            response = httpx.post(self.webhook_target, content=body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            raise
        delivery.status = response.status_code
        return response

    def redeliver(self, delivery: Delivery | None = None) -> httpx.Response:
        """Send a past delivery (default: the last) again, byte for byte — a Salla retry."""
        original = delivery or self.deliveries[-1]
        return self.deliver(original.event, original.body, original.headers)

    # ------------------------------------------------------------ models

    def product_json(self, product_id: int) -> dict[str, Any]:
        """The product model of ``GET /products/{id}`` and the ``product.*`` webhooks."""
        with self._lock:
            p = self._product(product_id)
            quantity = sum(q for (pid, _b), q in self._stock.items() if pid == p.id)
            tax = money(p.price * VAT_RATE)
            return {
                "id": p.id, "sku": p.sku, "mpn": p.mpn, "gtin": p.gtin, "type": p.type,
                "name": p.name, "description": "",
                "urls": {"customer": f"https://salla.sa/sandbox/p{p.id}",
                         "admin": f"https://s.salla.sa/products/{p.id}"},
                "price": _amount(p.price), "taxed_price": _amount(p.price + tax),
                "pre_tax_price": _amount(p.price), "tax": _amount(tax),
                "regular_price": _amount(p.price), "sale_price": _amount(p.sale_price),
                "cost_price": None if p.cost_price is None else _number(p.cost_price),
                "quantity": quantity, "unlimited_quantity": False, "status": p.status,
                "is_available": p.status == "sale" and quantity > 0,
                "sold_quantity": p.sold_quantity, "weight": 0, "weight_type": "kg",
                "with_tax": True, "managed_by_branches": len(self.branches) > 1,
                "options": [], "skus": [],
                "categories": [{"id": c, "name": self.categories[c]["name"]} for c in p.category_ids],
                "brand": None, "tags": [], "updated_at": p.updated_at,
            }

    def _price_event_data(self, p: Product) -> dict[str, Any]:
        tax = money(p.price * VAT_RATE)
        return {"id": p.id, "sku": p.sku, "mpn": p.mpn, "gtin": p.gtin,
                "cost": None if p.cost_price is None else _number(p.cost_price),
                "price": _number(p.price),
                "sale_price": {"amount": _number(p.sale_price), "expired_at": None},
                "tax": _number(tax), "taxed_price": _number(p.price + tax),
                "regular_price": _number(p.price), "currency": CURRENCY, "with_tax": True}

    def _order_model(self, order_id: int, rows: list[tuple[Product, int, Decimal]],
                     amounts: OrderAmounts, status: str, customer: dict[str, Any] | None,
                     coupon: str, payment_method: str) -> dict[str, Any]:
        moment = _now()
        buyer = {"id": 500000000, "first_name": "Sara", "last_name": "Al-Qahtani",
                 "mobile": 555123456, "mobile_code": "+966", "email": "sara@example.com",
                 "gender": "female", "city": "Riyadh", "country": "السعودية", "country_code": "SA",
                 "avatar": "", "updated_at": _date_object(moment)}
        if customer is not None:
            buyer = {**buyer, "id": self._next("customer"), **customer}
        buyer["urls"] = {"customer": "https://salla.sa/sandbox/profile",
                         "admin": f"https://s.salla.sa/customers/{buyer['id']}"}
        discounts = [] if amounts.discount == 0 else [{
            "title": "Sandbox coupon", "type": "fixed", "code": coupon,
            "discount": f"{amounts.discount:.2f}", "discounted_shipping": 0}]
        items = []
        for (product, qty, _price), line in zip(rows, amounts.lines, strict=True):
            items.append({
                "id": self._next("item"), "name": product.name, "sku": product.sku,
                "quantity": qty, "currency": CURRENCY, "weight": 0,
                "amounts": {"price_without_tax": _amount(line.unit_price),
                            "total_discount": _amount(line.discount),
                            "tax": {"percent": VAT_PERCENT, "amount": _amount(line.tax)},
                            "total": _amount(line.total)},
                "notes": "",
                "product": {"id": product.id, "type": product.type, "sku": product.sku,
                            "name": product.name, "price": _amount(product.price),
                            "sale_price": _amount(product.sale_price),
                            "mpn": product.mpn, "gtin": product.gtin},
                "options": [], "codes": [], "files": [],
            })
        return {
            "id": order_id, "reference_id": self._next("reference"),
            "urls": {"customer": f"https://salla.sa/sandbox/order/{order_id}",
                     "admin": f"https://s.salla.sa/orders/order/{order_id}"},
            "date": _date_object(moment), "source": "store",
            "status": self._status_object(status),
            "payment_method": payment_method, "currency": CURRENCY,
            "can_cancel": True, "is_pending_payment": status == "payment_pending",
            "amounts": {
                "sub_total": _amount(amounts.sub_total),
                "shipping_cost": _amount(amounts.shipping),
                "cash_on_delivery": _amount(amounts.cod),
                "tax": {"percent": VAT_PERCENT, "amount": _amount(amounts.tax)},
                "discounts": discounts, "total": _amount(amounts.total)},
            "customer": buyer,
            "shipping": {
                "id": 1000001, "company": "Sandbox Express",
                "receiver": {"name": f"{buyer['first_name']} {buyer['last_name']}",
                             "email": buyer["email"], "phone": f"{buyer['mobile_code']}{buyer['mobile']}"},
                "address": {"country": "السعودية", "country_code": "SA", "city": buyer["city"],
                            "shipping_address": "King Fahd Rd", "street_number": "1",
                            "block": "Olaya", "postal_code": "12211",
                            "geo_coordinates": {"lat": 24.7, "lng": 46.68}},
                "pickup_address": None, "shipment": None},
            "pickup_branch": {"id": self.default_branch_id},
            "items": items, "bank": None, "tags": [],
        }

    @staticmethod
    def _status_object(slug: str) -> dict[str, Any]:
        status_id, name = ORDER_STATUSES[slug]
        return {"id": status_id, "name": name, "slug": slug,
                "customized": {"id": status_id, "name": name}}

    def _set_status(self, order_id: int, slug: str) -> dict[str, Any]:
        if order_id not in self.orders:
            raise NotFound(f"order {order_id}")
        order = self.orders[order_id]
        order["status"] = self._status_object(slug)
        order["can_cancel"] = slug not in RESTOCKING_STATUSES | {"completed"}
        if slug in RESTOCKING_STATUSES and order_id not in self._restocked:
            self._restocked.add(order_id)
            for product_id, qty, branch in self._order_lines[order_id]:
                self._stock[(product_id, branch)] = self._stock.get((product_id, branch), 0) + qty
        return json.loads(json.dumps(order))

    def _status_event_data(self, order: dict[str, Any], note: str) -> dict[str, Any]:
        """``order.status.updated``'s activity wrapper: its ``id`` is the activity's, the order
        (items reduced to ``{id, product_id, name, sku, quantity, weight, amounts}``) sits in
        ``order``."""
        status = order["status"]
        slim = {**order, "items": [
            {"id": i["id"], "product_id": i["product"]["id"], "name": i["name"], "sku": i["sku"],
             "quantity": i["quantity"], "weight": i["weight"], "amounts": i["amounts"]}
            for i in order["items"]]}
        return {"id": self._next("activity"), "type": "activity", "status": status["name"],
                "customized": status["customized"], "note": note,
                "created_at": _date_object(_now()), "order": slim}

    # ------------------------------------------------------------ lookups and changes

    def _product(self, product_id: int) -> Product:
        if product_id not in self.products:
            raise NotFound(f"product {product_id}")
        return self.products[product_id]

    def _find_sku(self, sku: str) -> Product | None:
        return next((p for p in self.products.values() if sku and p.sku == sku), None)

    def _product_by_key(self, key: str | int) -> Product:
        if isinstance(key, int):
            return self._product(key)
        product = self._find_sku(key)
        if product is None:
            raise NotFound(f"product with SKU {key!r}")
        return product

    def _apply_product_changes(self, product: Product, changes: dict[str, Any]) -> bool:
        """Validate and apply API/Python product changes; True when a price changed."""
        unknown = set(changes) - PRODUCT_FIELDS
        if unknown:
            raise ValidationError({k: ["unknown field"] for k in sorted(unknown)})
        sku = changes.get("sku")
        if sku and (other := self._find_sku(sku)) is not None and other.id != product.id:
            raise ValidationError({"sku": [f"SKU {sku!r} is already taken"]})
        categories = changes.get("categories")
        if categories is not None and any(c not in self.categories for c in categories):
            raise ValidationError({"categories": ["unknown category id"]})
        before = (product.price, product.sale_price, product.cost_price)
        for name in ("price", "sale_price"):
            if changes.get(name) is not None:
                setattr(product, name, money(_decimal(changes[name], name)))
        if "cost_price" in changes:
            cost = changes["cost_price"]
            product.cost_price = None if cost in (None, "") else money(_decimal(cost, "cost_price"))
        for name in ("name", "sku", "mpn", "gtin", "status"):
            if name in changes:
                setattr(product, name, changes[name] if name != "sku" else (changes[name] or ""))
        if "product_type" in changes:
            product.type = changes["product_type"]
        if categories is not None:
            product.category_ids = list(categories)
        if changes.get("quantity") is not None:
            self._stock[(product.id, self.default_branch_id)] = int(changes["quantity"])
        product.updated_at = _now().strftime("%Y-%m-%d %H:%M:%S")
        return before != (product.price, product.sale_price, product.cost_price)

    def apply_quantity_updates(self, entries: Any) -> None:
        """Apply ``POST /products/quantities/bulk`` entries (validated first, all or nothing)."""
        if not isinstance(entries, list):
            raise ValidationError({"products": ["must be a list"]})
        with self._lock:
            planned: list[tuple[int, int, str, int]] = []
            for n, entry in enumerate(entries):
                errors = self._check_quantity_entry(entry)
                if errors:
                    raise ValidationError({f"products.{n}.{k}": v for k, v in errors.items()})
                branch = int(entry.get("branch") or self.default_branch_id)
                product = self._match_identifier(entry["identifer_type"], entry["identifer"])
                if product is None:
                    self.unmatched_quantity_updates.append(dict(entry))
                    continue
                planned.append((product.id, branch, entry.get("mode") or "overwrite",
                                int(entry["quantity"])))
            for product_id, branch, mode, qty in planned:
                current = self._stock.get((product_id, branch), 0)
                self._stock[(product_id, branch)] = {
                    "overwrite": qty, "increment": current + qty, "decrement": current - qty}[mode]

    def _check_quantity_entry(self, entry: Any) -> dict[str, list[str]]:
        if not isinstance(entry, dict):
            return {"entry": ["must be an object"]}
        errors: dict[str, list[str]] = {}
        if entry.get("identifer_type") not in {"id", "variant_id", "sku"}:
            errors["identifer_type"] = ["must be one of id, variant_id, sku"]
        if entry.get("identifer") in (None, ""):
            errors["identifer"] = ["is required"]
        quantity = entry.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            errors["quantity"] = ["must be a whole number not below 0"]
        if entry.get("mode", "overwrite") not in QUANTITY_MODES:
            errors["mode"] = ["must be one of overwrite, increment, decrement"]
        branch = entry.get("branch")
        if branch is not None and _as_int(branch) not in self.branches:
            errors["branch"] = ["unknown branch"]
        return errors

    def _match_identifier(self, kind: str, value: Any) -> Product | None:
        if kind == "sku":
            return self._find_sku(str(value))
        if kind == "id":
            return self.products.get(_as_int(value) or 0)
        return None  # the sandbox's products have no variants

    # ------------------------------------------------------------ state dump

    def state(self) -> dict[str, Any]:
        """Everything the demo UI shows: store, credentials, catalog, stock, orders, deliveries."""
        with self._lock:
            products = []
            for product_id in self.products:
                item = self.product_json(product_id)
                item["branch_quantities"] = {
                    str(b): self._stock.get((product_id, b), 0) for b in self.branches}
                products.append(item)
            return {
                "merchant": self.merchant_id, "store_name": self.store_name,
                "access_token": self.access_token, "refresh_token": self.refresh_token,
                "webhook_secret": self.webhook_secret, "webhook_target": self.webhook_target,
                "branches": list(self.branches.values()),
                "categories": list(self.categories.values()), "products": products,
                "orders": [self.order(o) for o in self.orders],
                "deliveries": [{"event": d.event, "url": d.url, "status": d.status,
                                "error": d.error} for d in self.deliveries],
                "unmatched_quantity_updates": list(self.unmatched_quantity_updates),
            }

    # ------------------------------------------------------------ HTTP

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.json.sort_keys = False  # type: ignore[attr-defined]
        app.json.ensure_ascii = False  # type: ignore[attr-defined]
        app.before_request(self._guard)
        app.after_request(self._finish)
        app.register_error_handler(ValidationError, lambda e: _error(422, "error", "alert.invalid_fields", e.fields))
        app.register_error_handler(NotFound, lambda e: _error(404, "not_found", f"{e} not found"))
        app.register_error_handler(404, lambda e: _error(404, "not_found", "Not found"))
        app.register_error_handler(405, lambda e: _error(405, "method_not_allowed", "Method not allowed"))
        routes: list[tuple[str, Callable[..., Any], list[str]]] = [
            ("/store/info", self._api_store_info, ["GET"]),
            ("/branches", self._api_branches, ["GET"]),
            ("/categories", self._api_categories, ["GET"]),
            ("/products", self._api_products, ["GET"]),
            ("/products", self._api_create_product, ["POST"]),
            ("/products/sku/<path:sku>", self._api_product_by_sku, ["GET"]),
            ("/products/quantities", self._api_quantities, ["GET"]),
            ("/products/quantities/bulk", self._api_bulk_quantities, ["POST"]),
            ("/products/<int:product_id>", self._api_product, ["GET"]),
            ("/products/<int:product_id>", self._api_update_product, ["PUT"]),
            ("/orders", self._api_orders, ["GET"]),
            ("/orders/<int:order_id>", self._api_order, ["GET"]),
            ("/orders/<int:order_id>/histories", self._api_order_histories, ["GET"]),
            ("/orders/<int:order_id>/histories", self._api_create_order_history, ["POST"]),
        ]
        for path, view, methods in routes:
            app.add_url_rule(API_PREFIX + path, f"api_{view.__name__}_{methods[0]}", view,
                             methods=methods)
        controls: list[tuple[str, Callable[..., Any], list[str]]] = [
            ("/webhook-target", self._ctl_webhook_target, ["POST"]),
            ("/authorize", self._ctl_authorize, ["POST"]),
            ("/products", self._ctl_products, ["POST"]),
            ("/products/<int:product_id>", self._ctl_update_product, ["POST"]),
            ("/orders", self._ctl_orders, ["POST"]),
            ("/orders/<int:order_id>/status", self._ctl_order_status, ["POST"]),
            ("/orders/<int:order_id>/refund", self._ctl_order_refund, ["POST"]),
            ("/throttle", self._ctl_throttle, ["POST"]),
            ("/state", self._ctl_state, ["GET"]),
        ]
        for path, view, methods in controls:
            app.add_url_rule(CONTROL_PREFIX + path, f"ctl_{view.__name__}", view, methods=methods)
        add_control_page(app, f"Salla sandbox · {self.store_name}", self._page_products, self._page_orders,
                         self._page_place_order, self._page_act, self._page_credentials,
                         self._page_give_sku, lambda: self.webhook_target, self.set_webhook_target)
        return app

    # -- the control page (core.testing.sandbox_page) -------------------------------------

    _PAGE_ACTIONS = {"under_review": [("complete", "Complete"), ("cancel", "Cancel")],
                     "completed": [("refund", "Refund")]}

    def _page_give_sku(self, key: str, sku: str) -> str:
        self.update_product(int(key), sku=sku)
        return f"Product {key} now has SKU {sku} (product.updated sent)."

    def _page_credentials(self, url: str) -> dict[str, str]:
        return {"api_base": url + API_PREFIX, "access_token": self.access_token,
                "webhook_secret": self.webhook_secret, "store_ref": str(self.merchant_id)}

    def _page_products(self) -> list[PageProduct]:
        with self._lock:
            return [PageProduct(p.sku or str(p.id), p.sku, p.name,
                                sum(q for (pid, _b), q in self._stock.items() if pid == p.id))
                    for p in self.products.values()]

    def _page_orders(self) -> list[PageOrder]:
        with self._lock:
            orders = list(self.orders.values())[::-1]
        return [PageOrder(o["id"], str(o["reference_id"]), o["status"]["slug"], str(o["amounts"]["total"]["amount"]),
                          self._PAGE_ACTIONS.get(o["status"]["slug"], [])) for o in orders]

    def _page_place_order(self, items: list[tuple[str, int]], shipping: str) -> str:
        keys = [(int(key) if key.isdigit() and not self._find_sku(key) else key, qty) for key, qty in items]
        order = self.create_order(keys, shipping=shipping or 0)
        return f"Order {order['reference_id']} placed (status under_review; complete it to book it)."

    def _page_act(self, order_id: int, action: str) -> str:
        if action == "complete":
            self.set_order_status(order_id, "completed")
        elif action == "cancel":
            self.set_order_status(order_id, "canceled")
        elif action == "refund":
            self.refund_order(order_id)
        else:
            return f"Unknown action {action}."
        return f"Order {self.order(order_id)['reference_id']}: {action} sent."

    def _guard(self) -> Response | None:
        """Bearer auth, then the leaky bucket, for every ``/admin/v2`` call."""
        if not request.path.startswith(API_PREFIX):
            return None
        expected = f"Bearer {self.access_token}"
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return _error(401, "unauthorized", "The access token is invalid")
        wait = self.bucket.take()
        if wait is not None:
            g.retry_after = wait
            return _error(429, "too_many_requests", "Too Many Attempts.")
        return None

    def _finish(self, response: Response) -> Response:
        if not request.path.startswith(API_PREFIX):
            return response
        if response.status_code != 401:
            response.headers["X-RateLimit-Limit"] = str(self.bucket.capacity)
            response.headers["X-RateLimit-Remaining"] = str(self.bucket.remaining())
            response.headers["X-RateLimit-Reset"] = str(
                math.ceil(time.time() + self.bucket.seconds_until_empty()))
        if "retry_after" in g:
            response.headers["Retry-After"] = LeakyBucket.header_value(g.retry_after)
        self.log.add(RecordedRequest(
            method=request.method, path=request.path, query=request.args.to_dict(),
            headers=dict(request.headers), json=request.get_json(silent=True),
            status=response.status_code))
        return response

    def _paginate(self, items: list[Any], build: Callable[[Any], Any] | None = None) -> Response:
        """One page of ``items`` with Salla's pagination block; ``build`` turns each item of the page
        (only of the page) into its resource."""
        per_page = _as_int(request.args.get("per_page")) or PER_PAGE_DEFAULT
        per_page = min(max(per_page, 1), self.per_page_max)
        page = max(_as_int(request.args.get("page")) or 1, 1)
        total_pages = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        if build is not None:
            chunk = [build(item) for item in chunk]
        links = {}
        if page < total_pages:
            links["next"] = _page_url(page + 1)
        if page > 1:
            links["previous"] = _page_url(page - 1)
        return _ok(chunk, pagination={
            "count": len(chunk), "total": len(items), "perPage": per_page, "currentPage": page,
            "totalPages": total_pages, "links": links})

    def _api_store_info(self) -> Response:
        return _ok({"id": self.merchant_id, "name": self.store_name, "entity": "company",
                    "email": "owner@sandbox.example", "avatar": "", "plan": "plus",
                    "status": "active", "verified": True, "currency": CURRENCY,
                    "domain": "https://salla.sa/sandbox", "type": "demo", "description": ""})

    def _api_branches(self) -> Response:
        with self._lock:
            return self._paginate([dict(b) for b in self.branches.values()])

    def _api_categories(self) -> Response:
        with self._lock:
            return self._paginate([dict(c) for c in self.categories.values()])

    def _api_products(self) -> Response:
        with self._lock:
            return self._paginate(list(self.products), self.product_json)

    def _api_product(self, product_id: int) -> Response:
        return _ok(self.product_json(product_id))

    def _api_product_by_sku(self, sku: str) -> Response:
        with self._lock:
            return _ok(self.product_json(self._product_by_key(sku).id))

    def _api_create_product(self) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError({"body": ["a JSON object is required"]})
        errors = {}
        if not str(body.get("name") or "").strip():
            errors["name"] = ["is required"]
        if body.get("price") is None:
            errors["price"] = ["is required"]
        if body.get("product_type") not in PRODUCT_TYPES:
            errors["product_type"] = [f"must be one of {', '.join(sorted(PRODUCT_TYPES))}"]
        if errors:
            raise ValidationError(errors)
        cost = body.get("cost_price")
        try:
            product = self.add_product(
                str(body.get("sku") or ""), body["name"], _decimal(body["price"], "price"),
                int(body.get("quantity") or 0),
                sale_price=_decimal(body.get("sale_price") or 0, "sale_price"),
                cost_price=None if cost in (None, "") else _decimal(cost, "cost_price"),
                mpn=body.get("mpn"), gtin=body.get("gtin"),
                categories=[int(c) for c in body.get("categories") or []], status="hidden")
        except (TypeError, ValueError) as exc:
            raise ValidationError({"body": [f"bad product: {exc}"]}) from None
        with self._lock:
            self.products[product["id"]].type = body["product_type"]
            return _ok(self.product_json(product["id"]), status=201)

    def _api_update_product(self, product_id: int) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError({"body": ["a JSON object is required"]})
        changes = {k: v for k, v in body.items() if k in PRODUCT_FIELDS}  # Salla ignores others
        try:
            return _ok(self.update_product(product_id, send=False, **changes), status=201)
        except (TypeError, ValueError) as exc:
            raise ValidationError({"body": [f"bad product: {exc}"]}) from None

    def _api_bulk_quantities(self) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError({"products": ["is required"]})
        self.apply_quantity_updates(body.get("products"))
        return _ok({"message": "queued to update, it may take several minutes"}, status=201)

    def _api_quantities(self) -> Response:
        branch = _as_int(request.args.get("branch"))
        with self._lock:
            if branch is not None and branch not in self.branches:
                raise NotFound(f"branch {branch}")
            rows = []
            for p in self.products.values():
                if branch is None:
                    qty = sum(q for (pid, _b), q in self._stock.items() if pid == p.id)
                else:
                    qty = self._stock.get((p.id, branch), 0)
                rows.append({"id": p.id, "sku": p.sku, "name": p.name, "quantity": qty,
                             "unlimited_quantity": False,
                             "branch": None if branch is None else dict(self.branches[branch])})
            return self._paginate(rows)

    def _api_orders(self) -> Response:
        """``GET /orders``, newest first: filters ``reference_id``, ``status`` (slug), and ``from_date`` /
        ``to_date`` (``YYYY-MM-DD``, the day the order was placed, store time; 422 when not a date)."""
        args = request.args
        reference = _as_int(args.get("reference_id"))
        days = {name: _day(args[name], name) for name in ("from_date", "to_date") if args.get(name)}
        with self._lock:
            orders = [self.order(o) for o in sorted(self.orders, reverse=True)]
        if reference is not None:
            orders = [o for o in orders if o["reference_id"] == reference]
        if args.get("status"):
            orders = [o for o in orders if o["status"]["slug"] == args["status"]]
        if "from_date" in days:
            orders = [o for o in orders if o["date"]["date"][:10] >= days["from_date"]]
        if "to_date" in days:
            orders = [o for o in orders if o["date"]["date"][:10] <= days["to_date"]]
        return self._paginate(orders)

    def _api_order_histories(self, order_id: int) -> Response:
        with self._lock:
            self.order(order_id)
            return self._paginate([dict(h) for h in self.histories.get(order_id, [])])

    def _api_create_order_history(self, order_id: int) -> Response:
        body = request.get_json(silent=True)
        note = body.get("note") if isinstance(body, dict) else None
        if not isinstance(note, str) or not note.strip():
            raise ValidationError({"note": ["نص التعليق مطلوب"]})
        return _ok(self.add_history(order_id, note))

    def _api_order(self, order_id: int) -> Response:
        return _ok(self.order(order_id))

    # ------------------------------------------------------------ control endpoints

    def _try_send(self, event: str, data: Any) -> dict[str, Any] | None:
        """Deliver when a target is set; report the receiver's HTTP status (or the error)."""
        if not self.webhook_target:
            return None
        try:
            return {"event": event, "status": self.send(event, data).status_code}
        except httpx.HTTPError as exc:
            return {"event": event, "status": None, "error": str(exc)}

    def _ctl_webhook_target(self) -> Response:
        url = (request.get_json(silent=True) or {}).get("url")
        self.set_webhook_target(url or None)
        return jsonify({"webhook_target": self.webhook_target})

    def _ctl_authorize(self) -> Response:
        rotate = bool((request.get_json(silent=True) or {}).get("rotate"))
        data = self.authorize(send=False, rotate=rotate)
        return jsonify({"data": data, "webhook": self._try_send("app.store.authorize", data)})

    def _ctl_products(self) -> Response:
        body = request.get_json(silent=True) or {}
        try:
            product = self.add_product(
                str(body.get("sku") or ""), str(body.get("name") or "Sandbox product"),
                _decimal(body.get("price", 0), "price"), int(body.get("quantity") or 0),
                sale_price=_decimal(body.get("sale_price") or 0, "sale_price"),
                cost_price=body.get("cost_price"), mpn=body.get("mpn"), gtin=body.get("gtin"),
                categories=[int(c) for c in body.get("categories") or []])
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise ValidationError({"body": [str(exc)]}) from None
        return jsonify({"product": product, "webhook": self._try_send("product.created", product)})

    def _ctl_update_product(self, product_id: int) -> Response:
        """Edit a product as the merchant would (e.g. its SKU) and send ``product.updated``
        (unless ``"send": false``, to play a lost webhook)."""
        body = request.get_json(silent=True)
        changes = {k: v for k, v in body.items() if k != "send"} if isinstance(body, dict) else {}
        if not changes:
            raise ValidationError({"body": ["a JSON object with the fields to change is required"]})
        try:
            product = self.update_product(product_id, send=False, **changes)
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise ValidationError({"body": [f"bad product: {exc}"]}) from None
        send = body.get("send", True)
        return jsonify({"product": product, "webhook": self._try_send("product.updated", product) if send else None})

    def _ctl_orders(self) -> Response:
        body = request.get_json(silent=True) or {}
        try:
            items = [(i["sku"] if "sku" in i else i["product_id"], i.get("quantity", 1))
                     if isinstance(i, dict) else tuple(i) for i in body.get("items") or []]
            order = self.create_order(
                items, customer=body.get("customer"), shipping=body.get("shipping", 0),
                discount=body.get("discount", 0), cod=body.get("cod", 0),
                status=body.get("status", "under_review"), send=False)
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise ValidationError({"body": [f"bad order: {exc!r}"]}) from None
        return jsonify({"order": order, "webhook": self._try_send("order.created", order)})

    def _ctl_order_status(self, order_id: int) -> Response:
        slug = (request.get_json(silent=True) or {}).get("slug", "")
        order = self.set_order_status(order_id, slug, send=False)
        webhooks = [self._try_send("order.status.updated", self._status_event_data(order, ""))]
        if slug == "canceled":
            webhooks.append(self._try_send("order.cancelled", order))
        return jsonify({"order": order, "webhook": webhooks[0], "webhooks": webhooks})

    def _ctl_order_refund(self, order_id: int) -> Response:
        order = self.refund_order(order_id, send=False)
        return jsonify({"order": order, "webhook": self._try_send("order.refunded", order)})

    def _ctl_throttle(self) -> Response:
        count = int((request.get_json(silent=True) or {}).get("count", 1))
        self.bucket.throttle_next(count)
        return jsonify({"throttled_next": count})

    def _ctl_state(self) -> Response:
        return jsonify(self.state())


# ---------------------------------------------------------------- HTTP helpers


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _day(value: str, name: str) -> str:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise ValidationError({name: ["must be a date (YYYY-MM-DD)"]}) from None


def _page_url(page: int) -> str:
    return f"{request.base_url}?{urlencode({**request.args.to_dict(), 'page': page})}"


def _ok(data: Any, status: int = 200, **extra: Any) -> Response:
    response = jsonify({"status": status, "success": True, "data": data, **extra})
    response.status_code = status
    return response


def _error(status: int, code: str, message: str,
           fields: dict[str, list[str]] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    response = jsonify({"status": status, "success": False, "error": error})
    response.status_code = status
    return response


# ---------------------------------------------------------------- demo and CLI


def seed_demo(sandbox: SallaSandbox) -> None:
    """The demo catalog: the ERP demo's SKUs plus one product without SKU (never synced)."""
    coffee = sandbox.add_category("قهوة / Coffee")["id"]
    dates = sandbox.add_category("تمور / Dates")["id"]
    kitchen = sandbox.add_category("أدوات / Kitchenware")["id"]
    sandbox.add_product("COF-250", "Arabic coffee 250 g", "35.00", 120, cost_price="18.00",
                        gtin="6281000000011", categories=[coffee])
    sandbox.add_product("DATE-1KG", "Sukkari dates 1 kg", "45.00", 80, cost_price="22.50",
                        gtin="6281000000028", categories=[dates])
    sandbox.add_product("MUG-01", "Ceramic mug", "25.00", 60, cost_price="9.75",
                        categories=[kitchen])
    sandbox.add_product("", "Gift wrapping (no SKU)", "10.00", 500, categories=[kitchen])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m plugins.salla.sandbox",
                                     description="Run the Salla sandbox store.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the sandbox with the demo catalog")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5101)
    serve.add_argument("--merchant", type=int, default=1305146709)
    serve.add_argument("--token", default="sandbox-access-token")
    serve.add_argument("--refresh-token", default="sandbox-refresh-token")
    serve.add_argument("--secret", default="sandbox-webhook-secret")
    serve.add_argument("--webhook-target", default=None, help="URL receiving the webhooks")
    serve.add_argument("--security-strategy", choices=("Signature", "Token"), default="Signature",
                       help="how webhooks prove themselves: an HMAC signature, or the secret in Authorization")
    args = parser.parse_args(argv)
    sandbox = SallaSandbox(merchant_id=args.merchant, access_token=args.token,
                           refresh_token=args.refresh_token, webhook_secret=args.secret,
                           security_strategy=args.security_strategy)
    seed_demo(sandbox)
    sandbox.set_webhook_target(args.webhook_target)
    server = sandbox.serve(args.host, args.port).start()
    print(f"Salla sandbox store at {server.url}")
    print(f"  API base        {server.url}{API_PREFIX}")
    print(f"  merchant id     {sandbox.merchant_id}")
    print(f"  access token    {sandbox.access_token}")
    print(f"  refresh token   {sandbox.refresh_token}")
    print(f"  webhook secret  {sandbox.webhook_secret} ({sandbox.security_strategy} strategy)")
    print(f"  webhook target  {sandbox.webhook_target or '(none: POST {url} to /_sandbox/webhook-target)'}")
    print(f"  state           {server.url}{CONTROL_PREFIX}/state", flush=True)
    serve_until_interrupted(server)


if __name__ == "__main__":
    main()
