"""An in-memory WooCommerce store over HTTP: the REST API v3 a connector calls, plus signed webhooks.

The API (paths, shapes, behaviours) is the one in the WooCommerce design note: everything under
``/wp-json/wc/v3`` needs HTTP Basic ``consumer_key:consumer_secret`` (or the ``consumer_key``/``consumer_secret``
query parameters), else 401 ``woocommerce_rest_cannot_view``. Lists page with ``page``/``per_page`` (≤ 100) and
answer ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link``; batch endpoints take at most 100 items (413 above).
WooCommerce has no rate limit; :meth:`WooCommerceSandbox.throttle_next` makes the next calls answer 429 or 503
with ``Retry-After``. Order amounts: :mod:`plugins.woocommerce.sandbox_orders`.

Webhooks are the ones the ERP created with ``POST /webhooks`` (creation sends the unsigned ping, a form body
``webhook_id=<id>``). A delivery's body is the resource AS IT IS WHEN THE DELIVERY GOES OUT, signed with the
webhook's secret (``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the body). Deliveries caused by Python or
control calls go out at once (API calls send none), unless :attr:`WooCommerceSandbox.deferred` holds them until
:meth:`WooCommerceSandbox.flush` (at most one pending delivery per webhook and resource, as WooCommerce's
Action Scheduler). No retries; a webhook whose deliveries failed more than 5 times in a row is ``disabled``.
:attr:`WooCommerceSandbox.drop` loses deliveries (recorded, not sent); while :attr:`WooCommerceSandbox.captured`
is a list they are kept there as ``(url, headers, body)``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx
from flask import Flask, Response, jsonify, redirect, request, url_for

from core.testing.sandbox import (
    RecordedRequest,
    RequestLog,
    SandboxServer,
    TickingClock,
    run_demo_sandbox,
)
from core.testing.sandbox_page import PageOrder, PageProduct, add_control_page
from plugins.woocommerce.sandbox_orders import (
    COUPONS,
    FEE_NAME,
    STATUSES,
    STOCK_HELD,
    ZERO,
    BadFilter,
    Charge,
    Line,
    Order,
    Refund,
    cents,
    gmt,
    local,
    money,
    parse_time,
)

#: The store's clock (see :class:`TickingClock`); the driver makes it tick while capturing webhooks.
CLOCK = TickingClock(UTC)
API = "/wp-json/wc/v3"
DEFAULT_CONSUMER_KEY = "ck_sandbox0000000000000000000000000000000001"
DEFAULT_CONSUMER_SECRET = "cs_sandbox0000000000000000000000000000000001"
SITE_TITLE = "متجر ووكومرس التجريبي"
VERSION = "9.4.0"
USER_AGENT = f"WooCommerce/{VERSION} Hookshot (WordPress/6.7)"
MAX_PER_PAGE = 100
MAX_BATCH = 100
#: A webhook is disabled once its consecutive failures exceed this (``woocommerce_max_webhook_delivery_failures``).
MAX_FAILURES = 5
#: ``Retry-After`` of the calls :meth:`WooCommerceSandbox.throttle_path` throttles: longer than a client waits itself.
PATH_RETRY_AFTER = 30
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored", "product.created",
          "product.updated", "product.deleted", "product.restored", "customer.created", "customer.updated",
          "customer.deleted", "coupon.created", "coupon.updated", "coupon.deleted")
DEMO_CUSTOMER = {"id": 5, "first_name": "سارة", "last_name": "القحطاني", "email": "sara@example.com",
                 "phone": "966500000001"}


class ApiError(Exception):
    """An API call WooCommerce answers with ``status`` and ``{"code", "message", "data": {"status"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Delivery:
    """One webhook POST: what was (or would have been) sent where, and the answer."""

    topic: str
    url: str
    headers: dict[str, str]
    body: bytes
    webhook_id: int = 0
    status: int | None = None
    dropped: bool = False


def signature(secret: str, body: bytes) -> str:
    """``X-WC-Webhook-Signature``: base64 of HMAC-SHA256 of the exact body, keyed with the webhook's secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None
    if not number.is_finite() or number < 0:
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
    return number


def _slug(name: str) -> str:
    return "-".join(name.lower().split())


def _not_found(kind: str = "product") -> ApiError:
    return ApiError(404, f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.")


class WooCommerceSandbox:
    """An in-memory WooCommerce store with its REST API (``.app``) and a webhook sender; one lock guards the
    state, webhooks are sent outside it (a receiver may call the API back while handling one)."""

    def __init__(self, *, consumer_key: str = DEFAULT_CONSUMER_KEY, consumer_secret: str = DEFAULT_CONSUMER_SECRET,
                 prices_include_tax: bool = True) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        #: The store's "Prices entered with tax" setting (an order may say otherwise).
        self.prices_include_tax = prices_include_tax
        #: The site's URL (``X-WC-Webhook-Source``, ``system_status``): set by :meth:`serve`.
        self.site_url = "http://127.0.0.1"
        self.log = RequestLog()
        self.deliveries: list[Delivery] = []
        #: While a list, webhooks are appended to it as ``(url, headers, body)``, not sent.
        self.captured: list[tuple[str, dict[str, str], bytes]] | None = None
        #: When true, deliveries are recorded but never reach the ERP (a lost webhook; reconciliation finds it).
        self.drop = False
        #: When true, deliveries wait in :attr:`pending` until :meth:`flush` builds and sends them.
        self.deferred = False
        #: When true, API writes to products send ``product.created``/``product.updated`` (as WooCommerce does),
        #: from a thread just after the call is answered; off by default, as in the other sandboxes.
        self.echo_api_writes = False
        self.pending: list[tuple[int, str, int]] = []
        self.webhooks: list[dict[str, Any]] = []
        #: Items a batch request may hold (``woocommerce_rest_batch_items_limit``; a site may lower it).
        self.batch_limit = MAX_BATCH
        #: ``(status, Retry-After seconds)`` the next API calls answer, one each (see :meth:`throttle_next`).
        self.throttled: list[tuple[int, int]] = []
        self.throttled_paths: dict[str, int] = {}
        self.categories: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, Order] = {}
        self._lock = threading.RLock()
        self._pings: list[threading.Thread] = []
        self._ids = {"category": itertools.count(15), "product": itertools.count(10), "order": itertools.count(101),
                     "item": itertools.count(1), "webhook": itertools.count(1), "note": itertools.count(1),
                     "customer": itertools.count(6)}
        self.app = self._build_app()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A server for ``.app`` (use it as a context manager); the site URL becomes the server's."""
        server = SandboxServer(self.app, host=host, port=port)
        self.site_url = server.url
        return server

    def resume_numbering(self, offset: int) -> None:
        """Move order, item and customer ids on by ``offset`` so a restarted sandbox reuses none."""
        with self._lock:
            for kind in ("order", "item", "customer"):
                self._ids[kind] = itertools.count(next(self._ids[kind]) + offset)

    # ------------------------------------------------------------ catalog

    def add_category(self, name: str, parent: int = 0) -> int:
        with self._lock:
            category_id = next(self._ids["category"])
            self.categories[category_id] = {"id": category_id, "name": name, "slug": _slug(name), "parent": parent,
                                            "description": "", "display": "default", "count": 0}
            return category_id

    def add_product(self, sku: str | None, name: str, price: Any, quantity: int | None = 0, *, cost: Any = None,
                    categories: Sequence[int] = (), parent_id: int = 0, kind: str = "simple",
                    attributes: Sequence[dict[str, Any]] = (), send: bool = False) -> dict[str, Any]:
        """Add a simple product (``parent_id``: a variation of that variable product; ``kind="variable"``: a parent
        with no stock of its own); ``send`` delivers ``product.created``."""
        with self._lock:
            if sku and self._by_sku(sku) is not None:
                raise ApiError(400, "product_invalid_sku", "Invalid or duplicated SKU.")
            product_id = next(self._ids["product"])
            moment = CLOCK.read()
            self.products[product_id] = {
                "id": product_id, "name": name, "type": "variation" if parent_id else kind, "status": "publish",
                "sku": sku or "", "regular_price": _decimal(price, "regular_price"), "sale_price": None,
                "manage_stock": kind != "variable", "stock": None if kind == "variable" else int(quantity or 0),
                "category_ids": list(categories), "parent_id": parent_id, "variation_ids": [],
                "attributes": [dict(a) for a in attributes],
                "cost": None if cost is None else _decimal(cost, "cost"), "created": moment, "modified": moment,
            }
            if parent_id:
                self.products[parent_id]["variation_ids"].append(product_id)
            data = self.product_json(product_id)
        if send:
            self.send("product.created", product_id)
        return data

    def update_product(self, key: Any, *, send: bool = True, **changes: Any) -> dict[str, Any]:
        """Change a product (by id or SKU) as the merchant would; ``send`` delivers ``product.updated``."""
        with self._lock:
            product = self._product(key)
            self._apply(product, changes)
            data = self.product_json(product["id"])
        if send:
            self.send("product.updated", product["id"])
        return data

    def quantity(self, key: Any) -> int:
        with self._lock:
            return int(self._product(key)["stock"] or 0)

    def set_quantity(self, key: Any, quantity: int) -> None:
        with self._lock:
            product = self._product(key)
            product["stock"], product["modified"] = int(quantity), CLOCK.read()

    def product_json(self, product_id: int) -> dict[str, Any]:
        """The product (or variation) object of the API and of the ``product.*`` webhooks."""
        with self._lock:
            p = self.products[product_id]
            price = p["sale_price"] if p["sale_price"] is not None else p["regular_price"]
            if p["type"] == "variable":
                prices = [self.products[v]["regular_price"] for v in p["variation_ids"]]
                price = min(prices) if prices else ZERO
            data: dict[str, Any] = {
                "id": p["id"], "name": p["name"], "slug": _slug(p["name"]),
                "permalink": f"{self.site_url}/product/{_slug(p['name'])}/", "type": p["type"],
                "status": p["status"], "sku": p["sku"], "global_unique_id": "",
                "date_created": local(p["created"]), "date_created_gmt": gmt(p["created"]),
                "date_modified": local(p["modified"]), "date_modified_gmt": gmt(p["modified"]),
                "price": money(price), "regular_price": "" if p["type"] == "variable" else money(p["regular_price"]),
                "sale_price": "" if p["sale_price"] is None else money(p["sale_price"]),
                "tax_status": "taxable", "tax_class": "", "manage_stock": p["manage_stock"],
                "stock_quantity": p["stock"], "backorders": "no",
                "stock_status": "instock" if p["stock"] is None or p["stock"] > 0 else "outofstock",
                "parent_id": p["parent_id"], "categories": [self._category_ref(c) for c in p["category_ids"]
                                                             if c in self.categories],
                "attributes": [dict(a) for a in p["attributes"]], "variations": list(p["variation_ids"]),
                "meta_data": [],
            }
            if p["cost"] is not None:
                data["cost_of_goods_sold"] = {"values": [{"defined_value": float(p["cost"]), "is_percentage": False,
                                                          "effective_value": float(p["cost"])}],
                                              "total_value": float(p["cost"])}
            return data

    def _category_ref(self, category_id: int) -> dict[str, Any]:
        c = self.categories[category_id]
        return {"id": c["id"], "name": c["name"], "slug": c["slug"]}

    def _product(self, key: Any) -> dict[str, Any]:
        product = None
        if str(key).isdigit():
            product = self.products.get(int(key))
        product = product or self._by_sku(str(key))
        if product is None:
            raise _not_found()
        return product

    def _by_sku(self, sku: str) -> dict[str, Any] | None:
        return next((p for p in self.products.values() if sku and p["sku"] == sku), None)

    def _apply(self, product: dict[str, Any], changes: dict[str, Any]) -> None:
        """Apply the writable fields WooCommerce accepts (others are ignored, as WooCommerce does)."""
        sku = changes.get("sku")
        if sku and (other := self._by_sku(sku)) is not None and other is not product:
            raise ApiError(400, "product_invalid_sku", "Invalid or duplicated SKU.")
        if "sku" in changes:
            product["sku"] = changes["sku"] or ""
        if changes.get("regular_price") not in (None, ""):
            product["regular_price"] = _decimal(changes["regular_price"], "regular_price")
        if "sale_price" in changes:
            value = changes["sale_price"]
            product["sale_price"] = None if value in (None, "") else _decimal(value, "sale_price")
        if changes.get("name"):
            product["name"] = str(changes["name"])
        if changes.get("status"):
            product["status"] = str(changes["status"])
        if "manage_stock" in changes:
            product["manage_stock"] = bool(changes["manage_stock"])
        if changes.get("stock_quantity") is not None:
            product["stock"] = int(_decimal(changes["stock_quantity"], "stock_quantity"))
        if changes.get("categories") is not None:
            product["category_ids"] = [int(c["id"] if isinstance(c, dict) else c) for c in changes["categories"]]
        cost = (changes.get("cost_of_goods_sold") or {}).get("values") if isinstance(
            changes.get("cost_of_goods_sold"), dict) else None
        if cost:
            product["cost"] = _decimal(cost[0].get("defined_value"), "cost_of_goods_sold")
        product["modified"] = CLOCK.read()

    # ------------------------------------------------------------ orders

    def create_order(self, items: Sequence[tuple[Any, ...]], *, shipping: Any = "0", coupon: str | None = None,
                     fee: Any = None, guest: bool = False, prices_include_tax: bool | None = None,
                     status: str = "processing", customer: dict[str, Any] | None = None, currency: str = "SAR",
                     send: bool = True) -> dict[str, Any]:
        """Place an order of ``(sku or product id, quantity)`` items at the products' prices; ``shipping`` and
        ``fee`` (a "Gift wrap" charge) are amounts as the store shows prices; ``coupon="save10"`` takes 10 % off
        each line. A ``processing`` order (paid, the default) holds its stock. Delivers ``order.created``."""
        if coupon and coupon.lower() not in COUPONS:
            raise ApiError(400, "woocommerce_rest_invalid_coupon", f'Coupon "{coupon}" does not exist!')
        if status not in STATUSES:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): status")
        includes_tax = self.prices_include_tax if prices_include_tax is None else bool(prices_include_tax)
        with self._lock:
            lines = [self._order_line(item) for item in items]
            if not lines:
                raise ApiError(400, "woocommerce_rest_required_product_reference", "An order needs a product.")
            moment = CLOCK.read()
            order_id = next(self._ids["order"])
            buyer = None if guest else {**DEMO_CUSTOMER, **(customer or {})}
            if customer and "id" not in customer:
                buyer["id"] = next(self._ids["customer"])  # type: ignore[index]
            order = Order(order_id, lines, buyer, moment, includes_tax, coupon.lower() if coupon else None,
                          currency=currency, status=status, modified=moment)
            if Decimal(str(shipping or "0")):
                order.shipping.append(Charge(next(self._ids["item"]), "Flat rate", _decimal(shipping, "shipping")))
            if fee not in (None, False, "", "0"):
                amount = "10.00" if fee is True else fee
                order.fees.append(Charge(next(self._ids["item"]), FEE_NAME, _decimal(amount, "fee")))
            if status in STOCK_HELD:
                order.paid = moment
                self._hold_stock(order)
            self.orders[order_id] = order
            data = order.as_json()
        if send:
            self.send("order.created", order_id)
        return data

    def _order_line(self, item: tuple[Any, ...]) -> Line:
        product = self._product(item[0])
        if product["type"] == "variable":
            raise ApiError(400, "woocommerce_rest_invalid_product_id", "Order a variation, not its parent.")
        parent = self.products.get(product["parent_id"]) if product["parent_id"] else None
        price = product["sale_price"] if product["sale_price"] is not None else product["regular_price"]
        name = f"{parent['name']} - {product['name']}" if parent else product["name"]
        return Line(next(self._ids["item"]), parent["id"] if parent else product["id"],
                    product["id"] if parent else 0, name, product["sku"], int(item[1]), price)

    def _hold_stock(self, order: Order, sign: int = -1) -> None:
        """Take the order's quantities from stock (``sign=1``: put them back), once each way."""
        if (sign < 0) == order.stock_reduced:
            return
        for line in order.lines:
            product = self.products[line.variation_id or line.product_id]
            if product["manage_stock"] and product["stock"] is not None:
                product["stock"] += sign * line.quantity
        order.stock_reduced = sign < 0

    def set_status(self, order_id: int, status: str, *, send: bool = True) -> dict[str, Any]:
        """Move an order to ``status`` (``order.updated``). ``completed`` stamps ``date_completed``; a cancelled
        order's stock goes back; a paid status takes it."""
        if status not in STATUSES:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): status")
        with self._lock:
            order = self._order(order_id)
            order.status = status
            if status == "completed" and order.completed is None:
                order.completed = CLOCK.read()
            if status in STOCK_HELD:
                order.paid = order.paid or CLOCK.read()
                self._hold_stock(order)
            elif status in ("cancelled", "failed"):
                self._hold_stock(order, 1)
            self._touch(order)
            data = order.as_json()
        if send:
            self.send("order.updated", order_id)
        return data

    def refund(self, order_id: int, lines: Sequence[tuple[int, int]] | None = None, *, restock: bool = True,
               reason: str = "", send: bool = True) -> dict[str, Any]:
        """Refund ``(line index, quantity)`` pairs, or (``None``) everything not refunded yet, shipping and fees
        included. Returned items go back to stock when ``restock``; the order becomes ``refunded`` when its whole
        total is refunded. Delivers ``order.updated``. Returns the refund object."""
        with self._lock:
            order = self._order(order_id)
            items: dict[int, tuple[int, Decimal, Decimal]] = {}
            wanted = [(i, order.lines[i].quantity - order.refunded_quantity(order.lines[i].id))
                      for i in range(len(order.lines))] if lines is None else list(lines)
            for index, quantity in wanted:
                if not 0 <= index < len(order.lines):
                    raise ApiError(400, "woocommerce_rest_invalid_line", f"No line {index}.")
                line = order.lines[index]
                left = line.quantity - order.refunded_quantity(line.id)
                if quantity < 0 or quantity > left:
                    raise ApiError(400, "woocommerce_rest_cannot_create_order_refund",
                                   "Invalid refund amount.")
                if quantity:
                    items[line.id] = (quantity, *self._share(order, line.id, order.line_amounts(line),
                                                             quantity, left))
            charges: dict[str, dict[int, tuple[Decimal, Decimal]]] = {"shipping": {}, "fees": {}}
            if lines is None:
                for kind in charges:
                    for charge in getattr(order, kind):
                        total, tax = self._share(order, charge.id, order.charge_amounts(charge), 1, 1)
                        if total or tax:
                            charges[kind][charge.id] = (total, tax)
            amount = sum((t + x for _, t, x in items.values()), ZERO) + sum(
                (t + x for table in charges.values() for t, x in table.values()), ZERO)
            if amount <= 0 or amount > order.total() - order.refunded_total():
                raise ApiError(400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
            refund = Refund(next(self._ids["order"]), CLOCK.read(), amount, reason, items, charges["shipping"],
                            charges["fees"], restock)
            order.refunds.append(refund)
            if restock:
                for line in order.lines:
                    product = self.products.get(line.variation_id or line.product_id)
                    if line.id in items and product and product["manage_stock"] and product["stock"] is not None:
                        product["stock"] += items[line.id][0]
            if order.refunded_total() >= order.total():
                order.status = "refunded"
            self._touch(order)
            data = order.refund_json(refund)
        if send:
            self.send("order.updated", order_id)
        return data

    @staticmethod
    def _share(order: Order, item_id: int, amounts: dict[str, Decimal], quantity: int,
               left: int) -> tuple[Decimal, Decimal]:
        """The ``(total, tax)`` of ``quantity`` of the ``left`` units not refunded yet: the rest when all."""
        done_total, done_tax = order.refunded_amounts(item_id)
        rest_total, rest_tax = amounts["total"] - done_total, amounts["total_tax"] - done_tax
        if quantity == left:
            return rest_total, rest_tax
        return cents(rest_total * quantity / left), cents(rest_tax * quantity / left)

    def add_note(self, order_id: int, note: Any, *, customer_note: bool = False) -> dict[str, Any]:
        """An order note (``POST /orders/{id}/notes``); no webhook (notes are comments, not order changes)."""
        if not isinstance(note, str) or not note.strip():
            raise ApiError(400, "rest_missing_callback_param", "Missing parameter(s): note")
        with self._lock:
            order = self._order(order_id)
            moment = CLOCK.read()
            entry = {"id": next(self._ids["note"]), "author": "WooCommerce", "date_created": local(moment),
                     "date_created_gmt": gmt(moment), "note": note, "customer_note": customer_note}
            order.notes.append(entry)
            return dict(entry)

    def notes(self, order_id: int) -> list[str]:
        with self._lock:
            return [entry["note"] for entry in self._order(order_id).notes]

    def order(self, order_id: int) -> dict[str, Any]:
        with self._lock:
            return self._order(order_id).as_json()

    def refunds(self, order_id: int) -> list[dict[str, Any]]:
        """The order's refunds, newest first (as ``GET /orders/{id}/refunds``)."""
        with self._lock:
            order = self._order(order_id)
            return [order.refund_json(refund) for refund in order.refunds[::-1]]

    def _order(self, order_id: Any) -> Order:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError, TypeError):
            raise _not_found("shop_order") from None

    @staticmethod
    def _touch(order: Order) -> None:
        """``date_modified`` moves on, a second at least (two changes never look alike)."""
        moment = CLOCK.read().replace(microsecond=0)
        previous = (order.modified or order.created).replace(microsecond=0)
        order.modified = max(moment, previous + _SECOND)

    # ------------------------------------------------------------ throttling

    def throttle_next(self, count: int, status: int = 429, retry_after: int = 1) -> None:
        """The next ``count`` API calls answer ``status`` (429 or 503) with ``Retry-After: <retry_after>``
        (WooCommerce has no rate limit of its own; a host or firewall in front of it answers these)."""
        with self._lock:
            self.throttled += [(status, retry_after)] * count

    def throttle_path(self, prefix: str, count: int = 1) -> None:
        """The next ``count`` API calls whose path starts with ``API + prefix`` answer 429 (others go through)."""
        with self._lock:
            self.throttled_paths[API + prefix] = self.throttled_paths.get(API + prefix, 0) + count

    def _throttled_status(self, path: str) -> tuple[int, int] | None:
        with self._lock:
            prefix = next((p for p, n in self.throttled_paths.items() if n and path.startswith(p)), None)
            if prefix is not None:
                self.throttled_paths[prefix] -= 1
                return 429, PATH_RETRY_AFTER
            return self.throttled.pop(0) if self.throttled else None

    # ------------------------------------------------------------ webhooks

    def create_webhook(self, data: Any) -> dict[str, Any]:
        """``POST /webhooks``: an active webhook is pinged (unsigned form body ``webhook_id=<id>``)."""
        if not isinstance(data, dict) or data.get("topic") not in TOPICS or not data.get("delivery_url"):
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): topic, delivery_url")
        with self._lock:
            moment = CLOCK.read()
            webhook = {"id": next(self._ids["webhook"]), "name": str(data.get("name") or data["topic"]),
                       "status": str(data.get("status") or "active"), "topic": data["topic"],
                       "resource": data["topic"].split(".")[0], "event": data["topic"].split(".")[1],
                       "hooks": [], "delivery_url": str(data["delivery_url"]), "secret": str(data.get("secret") or ""),
                       "failure_count": 0, "date_created": local(moment), "date_created_gmt": gmt(moment),
                       "date_modified": local(moment), "date_modified_gmt": gmt(moment)}
            self.webhooks.append(webhook)
            public = _public(webhook)
        if webhook["status"] == "active":
            self.ping(webhook)  # inside the call, as WooCommerce does: the ERP must answer while it subscribes
        return public

    def _in_background(self, target: Callable[..., Any], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._pings.append(thread)
        thread.start()

    def _echo(self, topic: str, product_id: int) -> None:
        """An API write's own webhook, when :attr:`echo_api_writes` (sent after the answer, built then)."""
        if self.echo_api_writes:
            self._in_background(self.send, topic, product_id)

    def join_pings(self, timeout: float = 30) -> None:
        """Wait until the echoes of API writes sent so far have gone out (pings go out inside ``POST /webhooks``)."""
        while self._pings:
            self._pings.pop(0).join(timeout)

    def ping(self, webhook: dict[str, Any]) -> Delivery:
        """POST the unsigned ping, while answering ``POST /webhooks`` as WooCommerce does (an ERP that held its
        database while subscribing would time its own ping out)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
        delivery = Delivery("ping", webhook["delivery_url"], headers, f"webhook_id={webhook['id']}".encode(),
                            webhook["id"])
        with self._lock:
            self.deliveries.append(delivery)
            if self.drop:
                delivery.dropped = True
                return delivery
        delivery.status = self._post(delivery, timeout=10)
        return delivery

    def resource_json(self, topic: str, resource_id: int) -> dict[str, Any]:
        """What a delivery of ``topic`` carries now: the order or product as it is (deleted: ``{"id"}``)."""
        with self._lock:
            if topic.endswith(".deleted"):
                return {"id": resource_id}
            if topic.startswith("order."):
                return self._order(resource_id).as_json()
            return self.product_json(resource_id)

    def build_delivery(self, topic: str, resource_id: int, webhook: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """The headers and body WooCommerce would POST now for ``topic`` of ``resource_id`` to ``webhook``
        (``{"id", "secret"}`` at least)."""
        body = json.dumps(self.resource_json(topic, resource_id), ensure_ascii=False).encode()
        resource, event = topic.split(".")
        delivery_id = hashlib.md5(f"{webhook['id']}{int(time.time())}".encode()).hexdigest()  # noqa: S324 - wp_hash
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "X-WC-Webhook-Source": self.site_url.rstrip("/") + "/", "X-WC-Webhook-Topic": topic,
                   "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
                   "X-WC-Webhook-Signature": signature(str(webhook.get("secret") or ""), body),
                   "X-WC-Webhook-ID": str(webhook["id"]), "X-WC-Webhook-Delivery-ID": delivery_id}
        return headers, body

    def send(self, topic: str, resource_id: int) -> list[Delivery]:
        """Deliver ``topic`` of ``resource_id`` to each active webhook of the topic, or (``deferred``) queue it
        once per webhook and resource."""
        with self._lock:
            targets = [w for w in self.webhooks if w["topic"] == topic and w["status"] == "active"]
            if self.deferred:
                for webhook in targets:
                    entry = (webhook["id"], topic, resource_id)
                    if entry not in self.pending:
                        self.pending.append(entry)
                return []
        return [self._deliver_now(webhook, topic, resource_id) for webhook in targets]

    def flush(self) -> list[Delivery]:
        """Send the pending deliveries, each built now (the resource as it is at delivery time)."""
        with self._lock:
            pending, self.pending = self.pending, []
            by_id = {w["id"]: w for w in self.webhooks}
        return [self._deliver_now(by_id[webhook_id], topic, resource_id)
                for webhook_id, topic, resource_id in pending if by_id[webhook_id]["status"] == "active"]

    def _deliver_now(self, webhook: dict[str, Any], topic: str, resource_id: int) -> Delivery:
        headers, body = self.build_delivery(topic, resource_id, webhook)
        return self.deliver(Delivery(topic, webhook["delivery_url"], headers, body, webhook["id"]))

    def deliver(self, delivery: Delivery) -> Delivery:
        """POST (or capture, or drop) one delivery, kept in ``.deliveries``; a failure counts against its webhook."""
        with self._lock:
            self.deliveries.append(delivery)
            if self.captured is not None:
                self.captured.append((delivery.url, dict(delivery.headers), delivery.body))
                delivery.status = 200
                return delivery
            if self.drop:
                delivery.dropped = True
                return delivery
        delivery.status = self._post(delivery, timeout=60)
        self._count(delivery)
        return delivery

    def _post(self, delivery: Delivery, timeout: float) -> int | None:
        try:
            return httpx.post(delivery.url, content=delivery.body, headers=delivery.headers, timeout=timeout,
                              follow_redirects=False).status_code
        except httpx.HTTPError:
            return None

    def _count(self, delivery: Delivery) -> None:
        """2xx, 301 and 302 succeed (the count starts again); more than 5 failures in a row disable the webhook."""
        with self._lock:
            webhook = next((w for w in self.webhooks if w["id"] == delivery.webhook_id), None)
            if webhook is None:
                return
            if delivery.status is not None and (200 <= delivery.status < 300 or delivery.status in (301, 302)):
                webhook["failure_count"] = 0
                return
            webhook["failure_count"] += 1
            if webhook["failure_count"] > MAX_FAILURES:
                webhook["status"] = "disabled"

    def redeliver(self, delivery: Delivery | None = None) -> Delivery:
        """Send a past delivery (default: the last one that was not a ping) again, byte for byte."""
        original = delivery or next(d for d in reversed(self.deliveries) if d.topic != "ping")
        return self.deliver(Delivery(original.topic, original.url, dict(original.headers), original.body,
                                     original.webhook_id))

    # ------------------------------------------------------------ the API

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.url_map.strict_slashes = False
        app.json.sort_keys = False  # type: ignore[attr-defined]
        app.json.ensure_ascii = False  # type: ignore[attr-defined]
        app.before_request(self._guard)
        app.after_request(self._record)

        @app.errorhandler(ApiError)
        def api_error(error: ApiError) -> Any:
            return jsonify(code=error.code, message=error.message, data={"status": error.status}), error.status

        @app.errorhandler(BadFilter)
        def bad_filter(error: BadFilter) -> Any:
            return jsonify(code="rest_invalid_param", message=str(error), data={"status": 400}), 400

        @app.errorhandler(404)
        def not_found(error: Exception) -> Any:
            return jsonify(code="rest_no_route", message="No route was found matching the URL and request method.",
                           data={"status": 404}), 404

        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", "/system_status", self._api_system_status),
            ("GET", "/products", self._api_products),
            ("POST", "/products", self._api_create_product),
            ("POST", "/products/batch", self._api_batch),
            ("GET", "/products/categories", self._api_categories),
            ("GET", "/products/<int:product_id>", self._api_product),
            ("PUT", "/products/<int:product_id>", self._api_update_product),
            ("GET", "/products/<int:product_id>/variations", self._api_variations),
            ("POST", "/products/<int:product_id>/variations/batch", self._api_batch),
            ("GET", "/products/<int:product_id>/variations/<int:variation_id>", self._api_variation),
            ("PUT", "/products/<int:product_id>/variations/<int:variation_id>", self._api_update_variation),
            ("GET", "/orders", self._api_orders),
            ("GET", "/orders/<int:order_id>", self._api_order),
            ("GET", "/orders/<int:order_id>/notes", self._api_notes),
            ("POST", "/orders/<int:order_id>/notes", self._api_add_note),
            ("GET", "/orders/<int:order_id>/refunds", self._api_refunds),
            ("GET", "/orders/<int:order_id>/refunds/<int:refund_id>", self._api_refund),
            ("GET", "/webhooks", self._api_webhooks),
            ("POST", "/webhooks", self._api_create_webhook),
            ("GET", "/webhooks/<int:webhook_id>", self._api_webhook),
            ("PUT", "/webhooks/<int:webhook_id>", self._api_update_webhook),
        ]
        for method, rule, view in routes:
            app.add_url_rule(API + rule, f"{method} {rule}", view, methods=[method])
        self._add_control_routes(app)
        return app

    def _authorised(self) -> bool:
        auth = request.authorization
        key, secret = (auth.username, auth.password) if auth and auth.type == "basic" else (
            request.args.get("consumer_key"), request.args.get("consumer_secret"))
        return bool(key and secret) and hmac.compare_digest(str(key).encode(), self.consumer_key.encode()) \
            and hmac.compare_digest(str(secret).encode(), self.consumer_secret.encode())

    def _guard(self) -> Any:
        if not request.path.startswith(API):
            return None
        if not self._authorised():
            code, message = (("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
                             if request.method == "GET" else
                             ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."))
            return jsonify(code=code, message=message, data={"status": 401}), 401
        throttled = self._throttled_status(request.path)
        if throttled is not None:
            status, retry_after = throttled
            response = jsonify(code="too_many_requests" if status == 429 else "service_unavailable",
                               message="Too many requests." if status == 429 else "Service unavailable.",
                               data={"status": status})
            response.status_code = status
            response.headers["Retry-After"] = str(retry_after)
            return response
        return None

    def _record(self, response: Response) -> Response:
        if request.path.startswith(API):
            self.log.add(RecordedRequest(request.method, request.path, request.args.to_dict(), dict(request.headers),
                                         request.get_json(silent=True), response.status_code))
        return response

    def _api_system_status(self) -> Any:
        return jsonify(environment={"home_url": self.site_url, "site_url": self.site_url, "site_title": SITE_TITLE,
                                    "version": VERSION, "wp_version": "6.7"},
                       settings={"currency": "SAR", "currency_symbol": "&#x631;.&#x633;", "taxonomies": {}})

    def _api_products(self) -> Any:
        args = request.args
        with self._lock:
            chosen = [p for p in self.products.values() if p["type"] != "variation"]
            if args.get("sku"):  # WooCommerce looks SKUs up among variations too
                skus = set(args["sku"].split(","))
                chosen = [p for p in self.products.values() if p["sku"] in skus]
            if args.get("modified_after"):
                after = parse_time(args["modified_after"], "modified_after", gmt_default=_gmt_args())
                chosen = [p for p in chosen if p["modified"].replace(microsecond=0) > after]
            if args.get("search"):
                chosen = [p for p in chosen if args["search"].lower() in p["name"].lower()]
            ids = [p["id"] for p in _ordered(chosen, "created")]
            return _paged(ids, self.product_json)

    def _api_product(self, product_id: int) -> Any:
        with self._lock:
            if product_id not in self.products:
                raise _not_found()
            return jsonify(self.product_json(product_id))

    def _api_create_product(self) -> Any:
        data = _body()
        kind = str(data.get("type") or "simple")
        product = self.add_product(data.get("sku"), str(data.get("name") or ""), data.get("regular_price") or "0",
                                   data.get("stock_quantity") or 0, kind=kind,
                                   categories=[int(c["id"]) for c in data.get("categories") or []])
        rest = {k: v for k, v in data.items() if k not in ("sku", "name", "regular_price", "type", "categories")}
        if rest:
            product = self.update_product(product["id"], send=False, **rest)
        self._echo("product.created", product["id"])
        return jsonify(product), 201

    def _api_update_product(self, product_id: int) -> Any:
        with self._lock:
            if product_id not in self.products:
                raise _not_found()
        product = self.update_product(product_id, send=False, **_body())
        self._echo("product.updated", product_id)
        return jsonify(product)

    def _api_variations(self, product_id: int) -> Any:
        with self._lock:
            parent = self.products.get(product_id)
            if parent is None:
                raise _not_found()
            return _paged(list(parent["variation_ids"]), self.product_json)

    def _variation(self, product_id: int, variation_id: int) -> dict[str, Any]:
        variation = self.products.get(variation_id)
        if variation is None or variation["parent_id"] != product_id:
            raise _not_found("product_variation")
        return variation

    def _api_variation(self, product_id: int, variation_id: int) -> Any:
        with self._lock:
            return jsonify(self.product_json(self._variation(product_id, variation_id)["id"]))

    def _api_update_variation(self, product_id: int, variation_id: int) -> Any:
        with self._lock:
            self._variation(product_id, variation_id)
        variation = self.update_product(variation_id, send=False, **_body())
        self._echo("product.updated", variation_id)
        return jsonify(variation)

    def _api_batch(self, product_id: int | None = None) -> Any:
        """``POST /products/batch`` (or a product's ``variations/batch``): create, update, delete; at most 100."""
        data = _body()
        groups = {k: data.get(k) or [] for k in ("create", "update", "delete")}
        if sum(len(v) for v in groups.values()) > self.batch_limit:
            raise ApiError(413, "woocommerce_rest_request_entity_too_large",
                           f"Unable to accept more than {self.batch_limit} items for this request.")
        answer: dict[str, list[Any]] = {}
        for name, entries in groups.items():
            if name in data:
                answer[name] = [self._batch_item(name, entry, product_id) for entry in entries]
        return jsonify(answer)

    def _batch_item(self, action: str, entry: Any, parent_id: int | None) -> dict[str, Any]:
        try:
            if action == "create":
                fields = dict(entry)
                made = self.add_product(fields.pop("sku", None), str(fields.pop("name", "") or ""),
                                        fields.pop("regular_price", None) or "0", parent_id=parent_id or 0)
                made = self.update_product(made["id"], send=False, **fields) if fields else made
                self._echo("product.created", made["id"])
                return made
            key = entry if action == "delete" else entry.get("id")
            with self._lock:
                product = self.products.get(int(key))
                if product is None or (parent_id is not None and product["parent_id"] != parent_id):
                    raise _not_found("product_variation" if parent_id else "product")
                if action == "delete":
                    data = self.product_json(product["id"])
                    del self.products[product["id"]]
                    return data
            updated = self.update_product(product["id"], send=False, **{k: v for k, v in entry.items() if k != "id"})
            self._echo("product.updated", product["id"])
            return updated
        except (ApiError, TypeError, ValueError, AttributeError) as error:
            status, code, message = ((error.status, error.code, error.message) if isinstance(error, ApiError)
                                     else (400, "rest_invalid_param", "Invalid item."))
            item_id = entry if action == "delete" else (entry.get("id", 0) if isinstance(entry, dict) else 0)
            return {"id": item_id, "error": {"code": code, "message": message, "data": {"status": status}}}

    def _api_categories(self) -> Any:
        with self._lock:
            return _paged([dict(c) for c in sorted(self.categories.values(), key=lambda c: c["name"])])

    def _api_orders(self) -> Any:
        args = request.args
        with self._lock:
            orders = list(self.orders.values())
            if args.get("search"):
                term = args["search"].lower()
                orders = [o for o in orders if term == str(o.id) or term in json.dumps(
                    o.as_json()["billing"], ensure_ascii=False).lower()]
            if args.get("status") and args["status"] != "any":
                orders = [o for o in orders if o.status in args["status"].split(",")]
            gmt_dates = _gmt_args()
            for name, column, keep in (("modified_after", "modified", 1), ("modified_before", "modified", -1),
                                       ("after", "created", 1), ("before", "created", -1)):
                if args.get(name):
                    moment = parse_time(args[name], name, gmt_default=gmt_dates)
                    orders = [o for o in orders if _compare(getattr(o, column) or o.created, moment) == keep]
            column = "modified" if args.get("orderby") == "modified" else "created"
            rows = [o.as_json() for o in _ordered([{"id": o.id, "created": o.created,
                                                    "modified": o.modified or o.created, "order": o}
                                                   for o in orders], column, lambda row: row["order"])]
            return _paged(rows)

    def _api_order(self, order_id: int) -> Any:
        return jsonify(self.order(order_id))

    def _api_notes(self, order_id: int) -> Any:
        with self._lock:
            return jsonify([dict(n) for n in self._order(order_id).notes[::-1]])

    def _api_add_note(self, order_id: int) -> Any:
        data = _body()
        return jsonify(self.add_note(order_id, data.get("note"), customer_note=bool(data.get("customer_note")))), 201

    def _api_refunds(self, order_id: int) -> Any:
        return _paged(self.refunds(order_id))

    def _api_refund(self, order_id: int, refund_id: int) -> Any:
        found = next((r for r in self.refunds(order_id) if r["id"] == refund_id), None)
        if found is None:
            raise _not_found("shop_order_refund")
        return jsonify(found)

    def _api_webhooks(self) -> Any:
        with self._lock:
            return _paged([_public(w) for w in self.webhooks])

    def _api_create_webhook(self) -> Any:
        return jsonify(self.create_webhook(_body())), 201

    def _webhook(self, webhook_id: int) -> dict[str, Any]:
        found = next((w for w in self.webhooks if w["id"] == webhook_id), None)
        if found is None:
            raise _not_found("webhook")
        return found

    def _api_webhook(self, webhook_id: int) -> Any:
        with self._lock:
            return jsonify(_public(self._webhook(webhook_id)))

    def _api_update_webhook(self, webhook_id: int) -> Any:
        """``PUT /webhooks/{id}``: name, topic, delivery_url, secret, status; back to ``active`` clears the failures."""
        data = _body()
        with self._lock:
            webhook = self._webhook(webhook_id)
            if data.get("topic") is not None and data["topic"] not in TOPICS:
                raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): topic")
            for name in ("name", "topic", "delivery_url", "secret", "status"):
                if data.get(name) is not None:
                    webhook[name] = str(data[name])
            if data.get("status") == "active":
                webhook["failure_count"] = 0
            moment = CLOCK.read()
            webhook["date_modified"], webhook["date_modified_gmt"] = local(moment), gmt(moment)
            webhook["resource"], webhook["event"] = webhook["topic"].split(".")
            return jsonify(_public(webhook))

    # ------------------------------------------------------------ control routes and page

    def _add_control_routes(self, app: Flask) -> None:
        """``/_sandbox/*``: no auth; each JSON answer lists the deliveries the call made."""

        def run(key: str, action: Callable[[], Any]) -> Any:
            before = len(self.deliveries)
            result = action()
            made = [{"topic": d.topic, "url": d.url, "status": d.status, "dropped": d.dropped}
                    for d in self.deliveries[before:]]
            return jsonify({key: result, "deliveries": made})

        @app.post("/_sandbox/orders")
        def control_order() -> Any:
            data = _body()
            items = [(i.get("sku") or i.get("product_id"), int(i.get("quantity", 1))) if isinstance(i, dict)
                     else tuple(i) for i in data.get("items") or []]
            return run("order", lambda: self.create_order(
                items, shipping=data.get("shipping", "0"), coupon=data.get("coupon"), fee=data.get("fee"),
                guest=bool(data.get("guest")), prices_include_tax=data.get("prices_include_tax"),
                send=data.get("send", True)))

        @app.post("/_sandbox/orders/<int:order_id>/status")
        def control_status(order_id: int) -> Any:
            data = _body()
            return run("order", lambda: self.set_status(order_id, str(data.get("status")),
                                                        send=data.get("send", True)))

        @app.post("/_sandbox/orders/<int:order_id>/refund")
        def control_refund(order_id: int) -> Any:
            data = _body()
            lines = None if data.get("line") is None else [(int(data["line"]), int(data.get("quantity", 1)))]
            return run("refund", lambda: self.refund(order_id, lines, restock=bool(data.get("restock", True)),
                                                     send=data.get("send", True)))

        @app.post("/_sandbox/products")
        def control_add_product() -> Any:
            data = _body()
            return run("product", lambda: self.add_product(
                data.get("sku"), data.get("name") or "Product", data.get("price", "0"), int(data.get("quantity", 0)),
                cost=data.get("cost"), send=data.get("send", True)))

        @app.post("/_sandbox/products/<key>")
        def control_edit_product(key: str) -> Any:
            data = _body()
            send = data.pop("send", True)
            return run("product", lambda: self.update_product(key, send=send, **data))

        @app.post("/_sandbox/switches")
        def control_switches() -> Any:
            data = _body()
            self.drop = bool(data.get("drop", self.drop))
            self.deferred = bool(data.get("deferred", self.deferred))
            self.echo_api_writes = bool(data.get("echo_api_writes", self.echo_api_writes))
            self.prices_include_tax = bool(data.get("prices_include_tax", self.prices_include_tax))
            return jsonify(drop=self.drop, deferred=self.deferred, prices_include_tax=self.prices_include_tax)

        @app.post("/_sandbox/ui/drop")
        def control_page_drop() -> Any:
            self.drop = request.form.get("drop") == "1"
            message = "Webhooks are dropped (lost) now." if self.drop else "Webhooks are sent again."
            return redirect(url_for("sandbox_page", message=message))

        @app.post("/_sandbox/flush")
        def control_flush() -> Any:
            return run("flushed", lambda: len(self.flush()))

        @app.post("/_sandbox/throttle")
        def control_throttle() -> Any:
            data = _body()
            count = int(data.get("count", 1))
            self.throttle_next(count, int(data.get("status", 429)), int(data.get("retry_after", 1)))
            return jsonify(throttled=count)

        @app.post("/_sandbox/redeliver")
        def control_redeliver() -> Any:
            delivery = self.redeliver()
            return jsonify(topic=delivery.topic, status=delivery.status)

        @app.get("/_sandbox/state")
        def control_state() -> Any:
            with self._lock:
                return jsonify(orders=[o.as_json() for o in self.orders.values()],
                               products=[self.product_json(p) for p in self.products],
                               refunds={o.id: [o.refund_json(r) for r in o.refunds] for o in self.orders.values()},
                               notes={o.id: list(o.notes) for o in self.orders.values()},
                               webhooks=[_public(w) for w in self.webhooks],
                               deliveries=[{"topic": d.topic, "url": d.url, "status": d.status, "dropped": d.dropped}
                                           for d in self.deliveries], pending=len(self.pending),
                               drop=self.drop, deferred=self.deferred, prices_include_tax=self.prices_include_tax)

        add_control_page(app, f"WooCommerce sandbox · {SITE_TITLE}", self._page_products, self._page_orders,
                         self._page_place_order, self._page_act, self._page_credentials, self._page_give_sku)
        app.after_request(self._page_extras)

    def _page_extras(self, response: Response) -> Response:
        """The WooCommerce options on the control page: coupon, fee, tax mode, guest; the drop switch."""
        if request.path != "/_sandbox/" or response.status_code != 200:
            return response
        extra = (
            '<h2>WooCommerce options</h2><form method="post" action="/_sandbox/ui/orders" id="woo-order">'
            '<p>Order of one product with options: <select name="sku_0">'
            + "".join(f'<option value="{p.key}">{p.sku or "(no SKU)"} · {p.name}</option>' for p in self._page_products())
            + '</select> <input name="qty_0" type="number" min="1" value="1" style="width:5rem"></p>'
            '<p><label>Coupon <select name="coupon"><option value="">—</option>'
            + "".join(f'<option value="{c}">{c}</option>' for c in COUPONS)
            + f'</select></label> <label><input type="checkbox" name="fee" value="1"> {FEE_NAME} (10.00)</label> '
            '<label><input type="checkbox" name="guest" value="1"> Guest</label> '
            '<label>Prices <select name="prices_include_tax"><option value="1">include VAT</option>'
            '<option value="0">exclude VAT</option></select></label> '
            '<label>Shipping <input name="shipping" value="0" style="width:6rem"></label></p>'
            '<button type="submit">Place order</button></form>'
            f'<form method="post" action="/_sandbox/ui/drop" id="drop-switch"><p>Webhooks are '
            f'{"dropped (lost)" if self.drop else "sent"}. <button type="submit" name="drop" '
            f'value="{"0" if self.drop else "1"}">{"Send webhooks again" if self.drop else "Drop webhooks"}</button> '
            '(lost webhooks are what reconciliation finds)</p></form>')
        response.set_data(response.get_data(as_text=True).replace("</body>", extra + "</body>"))
        return response

    def _page_give_sku(self, key: str, sku: str) -> str:
        self.update_product(key, sku=sku)
        return f"Product now has SKU {sku} (product.updated sent)."

    def _page_credentials(self, url: str) -> dict[str, str]:
        return {"store_url": url, "consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret}

    def _page_products(self) -> list[PageProduct]:
        with self._lock:
            return [PageProduct(p["sku"] or str(p["id"]), p["sku"], p["name"], int(p["stock"] or 0))
                    for p in self.products.values() if p["type"] != "variable"]

    def _page_orders(self) -> list[PageOrder]:
        with self._lock:
            pages = []
            for o in list(self.orders.values())[::-1]:
                actions: list[tuple[str, str]] = []
                if o.status in ("pending", "processing", "on-hold"):
                    actions = [("complete", "Complete"), ("cancel", "Cancel")]
                elif o.status == "completed":
                    actions = [("refund", "Refund"), ("refund_line", "Refund one item")]
                pages.append(PageOrder(o.id, str(o.id), o.status, f"{money(o.total())} {o.currency}", actions))
            return pages

    def _page_place_order(self, items: list[tuple[str, int]], shipping: str) -> str:
        form = request.form
        order = self.create_order(items, shipping=shipping or "0", coupon=form.get("coupon") or None,
                                  fee=bool(form.get("fee")), guest=bool(form.get("guest")),
                                  prices_include_tax=form.get("prices_include_tax", "1") != "0"
                                  if "prices_include_tax" in form else None)
        return f"Order {order['id']} placed (processing; complete it to book it)."

    def _page_act(self, order_id: int, action: str) -> str:
        if action == "refund_line":
            with self._lock:
                order = self._order(order_id)
                index = next((i for i, line in enumerate(order.lines)
                              if order.refunded_quantity(line.id) < line.quantity), None)
            if index is None:
                return f"Order {order_id}: everything was refunded already."
            self.refund(order_id, [(index, 1)])
            return f"Order {order_id}: one item of line {index + 1} refunded (order.updated sent)."
        if action == "refund":
            self.refund(order_id)
            return f"Order {order_id}: refunded (order.updated sent)."
        statuses = {"complete": "completed", "cancel": "cancelled"}
        if action not in statuses:
            return f"Unknown action {action}."
        self.set_status(order_id, statuses[action])
        return f"Order {order_id}: {statuses[action]} (order.updated sent)."


_SECOND = datetime(2000, 1, 1, 0, 0, 1) - datetime(2000, 1, 1)


def _public(webhook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as the API shows it: never its secret."""
    return {k: v for k, v in webhook.items() if k != "secret"}


def _gmt_args() -> bool:
    return request.args.get("dates_are_gmt", "false").lower() in ("1", "true")


def _compare(moment: datetime, bound: datetime) -> int:
    """1 when ``moment`` (to the second) is after ``bound``, -1 when before, 0 when the same second."""
    left = moment.replace(microsecond=0)
    return (left > bound) - (left < bound)


def _ordered(rows: list[dict[str, Any]], column: str, pick: Callable[[dict[str, Any]], Any] | None = None) -> list[Any]:
    """``rows`` by ``column`` then id, as ``orderby``/``order`` say (default: newest first)."""
    ascending = request.args.get("order", "desc").lower() == "asc"
    if request.args.get("orderby") == "id":
        column = "id"
    ordered = sorted(rows, key=lambda r: (r[column], r["id"]), reverse=not ascending)
    return [pick(r) if pick else r for r in ordered]


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None


def _paged(rows: list[Any], build: Callable[[Any], Any] | None = None) -> Response:
    """One page of ``rows`` (``page``, ``per_page`` ≤ 100) with ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link``;
    ``build`` turns each row of the page (only of the page) into its resource."""
    page = max(_int_arg("page", 1), 1)
    per_page = _int_arg("per_page", 10)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page")
    pages = max(1, math.ceil(len(rows) / per_page)) if rows else 0
    chunk = rows[(page - 1) * per_page: page * per_page]
    response = jsonify([build(row) for row in chunk] if build is not None else chunk)
    response.headers["X-WP-Total"] = str(len(rows))
    response.headers["X-WP-TotalPages"] = str(pages)
    link = lambda n: f"<{request.base_url}?{urlencode({**request.args.to_dict(), 'page': n})}>"  # noqa: E731
    links = ([f'{link(page - 1)}; rel="prev"'] if 1 < page <= pages + 1 else []) + (
        [f'{link(page + 1)}; rel="next"'] if page < pages else [])
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
    return data


def seed_demo(sandbox: WooCommerceSandbox, *, rich: bool = False) -> None:
    """The kit's catalog (the ERP demo's SKUs and one product without SKU) in categories; ``rich`` adds what only
    the demo shows: a variable product with two variations and a sub-category."""
    coffee = sandbox.add_category("Coffee")
    dates = sandbox.add_category("Dates")
    kitchen = sandbox.add_category("Kitchenware")
    sandbox.add_product("COF-250", "Arabic coffee 250 g", "35.00", 120, cost="18.00", categories=[coffee])
    sandbox.add_product("DATE-1KG", "Sukkari dates 1 kg", "45.00", 80, cost="22.50", categories=[dates])
    sandbox.add_product("MUG-01", "Ceramic mug", "25.00", 60, cost="9.75", categories=[kitchen])
    sandbox.add_product(None, "Gift wrapping", "10.00", 500, categories=[kitchen])
    if rich:
        pots = sandbox.add_category("Coffee pots", parent=kitchen)
        parent = sandbox.add_product(None, "Coffee pot", "0", None, kind="variable", categories=[kitchen, pots],
                                     attributes=[{"id": 1, "name": "Size", "options": ["Small", "Large"]}])
        for sku, size, price, quantity in (("POT-S", "Small", "60.00", 15), ("POT-L", "Large", "80.00", 10)):
            sandbox.add_product(sku, size, price, quantity, cost=str(Decimal(price) / 2), parent_id=parent["id"],
                                attributes=[{"id": 1, "name": "Size", "option": size}])


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m plugins.woocommerce.sandbox serve --port 5104``."""
    run_demo_sandbox(argv, prog="python -m plugins.woocommerce.sandbox", title="WooCommerce", port=5104, make=_demo,
                     credentials=lambda sandbox, url: sandbox._page_credentials(url))


def _demo() -> WooCommerceSandbox:
    sandbox = WooCommerceSandbox()
    seed_demo(sandbox, rich=True)
    sandbox.resume_numbering(int(time.time()) % 100_000_000)
    return sandbox


if __name__ == "__main__":
    main()
