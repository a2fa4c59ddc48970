"""An in-memory Zid store over HTTP: the Manager API a connector calls, plus Basic-auth webhooks.

The API (paths, shapes and behaviours) is the one in the Zid design note (plugins/zid/README.md):
every ``/v1/...`` call needs ``Authorization: Bearer <partner token>`` AND the manager token in
``X-Manager-Token`` or ``Access-Token`` (else 401 ``{"message": "Unauthenticated"}``); 60 calls a
minute per store from :attr:`ZidSandbox.bucket` (429 ``Too Many Attempts.`` with ``Retry-After``).
Products page with ``page``/``page_size`` and absolute ``next``/``previous`` URLs; orders with
``page``/``per_page`` and ``next_page``. Order amounts: :func:`plugins.zid.sandbox_orders.order_amounts`.

Webhooks go to every subscription the ERP created with ``POST /v1/managers/webhooks`` for the event,
with ``Authorization: Basic`` of the username and password given there; the body is the bare object
(``envelope=True``: ``{"event", "store_id", "data"}``). Deliveries caused by Python or control calls
are synchronous; API calls send none. :attr:`ZidSandbox.drop` loses deliveries (recorded, not sent);
while :attr:`ZidSandbox.captured` is a list they are kept there as ``(url, headers, body)``.
Assumptions where Zid's docs are silent: ``GET /v1/products/?sku=``, ``updated_at_from`` and
``search_term`` on the order list, and ``GET /v1/managers/store/reverse-orders?order_id=``.
"""
from __future__ import annotations

import base64
import copy
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx
from flask import Flask, Response, jsonify, request

from core.testing.sandbox import (
    LeakyBucket,
    RecordedRequest,
    RequestLog,
    SandboxServer,
    TickingClock,
    run_demo_sandbox,
)
from core.testing.sandbox_page import PageOrder, PageProduct, add_control_page
from plugins.zid.sandbox_orders import (
    COUPONS,
    EXCHANGE_RATES,
    RIYADH,
    STATUSES,
    TIME_FORMAT,
    BadFilter,
    Order,
    OrderLine,
    net_of,
    order_matches,
    reverse_json,
    stamp,
)

#: The store's clock (see :class:`TickingClock`); the driver makes it tick while capturing webhooks.
CLOCK = TickingClock(RIYADH)
DEFAULT_STORE_ID = 12345
DEFAULT_AUTHORIZATION = "zid-sandbox-partner-token"
DEFAULT_ACCESS_TOKEN = "zid-sandbox-manager-token"
STORE_TITLE = "متجر زد التجريبي"
MAX_PAGE_SIZE = 100
MAX_BULK = 50
EVENTS = ("order.create", "order.status.update", "order.payment_status.update", "product.create",
          "product.update", "product.delete", "customer.create", "customer.update", "abandoned_cart.created")
LOCATIONS = (("Main warehouse", "المستودع الرئيسي"), ("Jeddah branch", "فرع جدة"))
DEMO_CUSTOMER = {"id": 77, "name": "سارة القحطاني", "email": "sara@example.com", "mobile": "966500000001",
                 "type": "customer"}
GUEST_CUSTOMER = {"id": 0, "name": "Guest buyer", "email": "", "mobile": "966500000009", "type": "guest"}
PRODUCT_FIELDS = {"name", "price", "sale_price", "sku", "barcode", "cost", "quantity", "is_infinite",
                  "is_draft", "is_taxable", "categories"}


class ApiError(Exception):
    """An API call Zid answers with ``status`` and ``{"message": ...}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@dataclass
class Delivery:
    """One webhook POST: what was (or would have been) sent where, and the answer."""

    event: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    dropped: bool = False


def basic(username: str, password: str) -> str:
    """The ``Authorization`` value Zid sends with a subscription's credentials."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApiError(422, f"The {name} must be a number.") from None
    if not number.is_finite() or number < 0:
        raise ApiError(422, f"The {name} must be a number not below 0.")
    return number


def _names(name: Any) -> dict[str, str]:
    if isinstance(name, dict):
        return {"ar": str(name.get("ar") or ""), "en": str(name.get("en") or "")}
    return {"ar": str(name), "en": str(name)}


class ZidSandbox:
    """An in-memory Zid store with its Manager API (``.app``) and a webhook sender; one lock guards the state,
    webhooks are sent outside it (a receiver may call the API back while handling one)."""

    def __init__(self, *, store_id: int = DEFAULT_STORE_ID, authorization: str = DEFAULT_AUTHORIZATION,
                 access_token: str = DEFAULT_ACCESS_TOKEN, rate_limit: int = 60, leak_per_second: float = 1.0) -> None:
        self.store_id = store_id
        self.authorization = authorization
        self.access_token = access_token
        self.bucket = LeakyBucket(rate_limit, leak_per_second)
        self.log = RequestLog()
        self.deliveries: list[Delivery] = []
        #: While a list, webhooks are appended to it as ``(url, headers, body)``, not sent.
        self.captured: list[tuple[str, dict[str, str], bytes]] | None = None
        #: When true, deliveries are recorded but never reach the ERP (a lost webhook; reconciliation finds it).
        self.drop = False
        #: When true, webhook bodies are ``{"event", "store_id", "data"}`` instead of the bare object.
        self.envelope = False
        self.subscriptions: list[dict[str, Any]] = []
        #: Path prefix -> how many more calls under it answer 429 (see :meth:`throttle_path`).
        self.throttled_paths: dict[str, int] = {}
        self.locations = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"zid-location-{en}")),
                           "name": {"ar": ar, "en": en}, "type": "warehouse", "is_default": i == 0,
                           "is_enabled": True} for i, (en, ar) in enumerate(LOCATIONS)]
        self.default_location = self.locations[0]["id"]
        self.categories: dict[int, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.orders: dict[int, Order] = {}
        self.reverses: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._ids = {"category": itertools.count(11), "order": itertools.count(501),
                     "line": itertools.count(9001), "customer": itertools.count(78), "product": itertools.count(1)}
        self.app = self._build_app()

    # ------------------------------------------------------------ catalog

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A server for ``.app``; use it as a context manager (``with sandbox.serve() as s``)."""
        return SandboxServer(self.app, host=host, port=port)

    def resume_numbering(self, offset: int) -> None:
        """Move order, line and customer ids on by ``offset`` so a restarted sandbox reuses none."""
        with self._lock:
            for kind in ("order", "line", "customer"):
                self._ids[kind] = itertools.count(next(self._ids[kind]) + offset)

    def add_category(self, en: str, ar: str, parent_id: int | None = None) -> int:
        with self._lock:
            category_id = next(self._ids["category"])
            self.categories[category_id] = {"id": category_id, "names": {"ar": ar, "en": en},
                                            "slug": en.lower().replace(" ", "-"), "parent_id": parent_id}
            return category_id

    def add_product(self, sku: str | None, name: Any, price: Any, quantity: int = 0, *, barcode: str | None = None,
                    cost: Any = None, categories: Sequence[int] = (), parent_id: str | None = None,
                    send: bool = False) -> dict[str, Any]:
        """Add a standalone product (or, with ``parent_id``, a variant); ``send`` delivers ``product.create``."""
        with self._lock:
            if sku and self._by_sku(sku) is not None:
                raise ApiError(422, f"The sku {sku} has already been taken.")
            product_id = self._uuid("product", next(self._ids["product"]))
            moment = stamp(CLOCK.read())
            self.products[product_id] = {
                "id": product_id, "sku": sku or "", "barcode": barcode, "parent_id": parent_id,
                "name": _names(name), "price": _decimal(price, "price"), "sale_price": None,
                "cost": None if cost is None else _decimal(cost, "cost"), "is_infinite": False, "is_draft": False,
                "is_taxable": True, "category_ids": list(categories), "variant_ids": [],
                "stock": {self.default_location: int(quantity)}, "created_at": moment, "updated_at": moment,
            }
            if parent_id:
                self.products[parent_id]["variant_ids"].append(product_id)
            data = self.product_json(parent_id or product_id)
        if send:
            self.send("product.create", data)
        return self.product_json(product_id)

    def add_parent(self, name: Any, categories: Sequence[int] = ()) -> str:
        """A parent product (no SKU, no stock of its own) whose variants are added with ``parent_id``."""
        product = self.add_product(None, name, "0", 0, categories=categories)
        with self._lock:
            self.products[product["id"]]["stock"] = {}
        return product["id"]

    def update_product(self, key: str, *, send: bool = True, **changes: Any) -> dict[str, Any]:
        """Change a product (by id or SKU) as the merchant would; ``send`` delivers ``product.update``."""
        with self._lock:
            product = self._product(key)
            self._apply(product, changes)
            data = self.product_json(product["parent_id"] or product["id"])
        if send:
            self.send("product.update", data)
        return self.product_json(product["id"])

    def quantity(self, key: str, location: str | None = None) -> int:
        """The available quantity of a product (by id or SKU) at ``location`` (default: the default one)."""
        with self._lock:
            return self._product(key)["stock"].get(location or self.default_location, 0)

    def set_quantity(self, key: str, quantity: int, location: str | None = None) -> None:
        with self._lock:
            self._product(key)["stock"][location or self.default_location] = int(quantity)

    def product_json(self, product_id: str) -> dict[str, Any]:
        """The product object of the API and the ``product.*`` webhooks (a parent carries its variants)."""
        with self._lock:
            p = self.products[product_id]
            structure = "parent" if p["variant_ids"] else ("child" if p["parent_id"] else "standalone")
            data = {
                "id": p["id"], "sku": p["sku"], "barcode": p["barcode"], "parent_id": p["parent_id"],
                "structure": structure, "name": dict(p["name"]), "price": float(p["price"]),
                "sale_price": p["sale_price"], "cost": None if p["cost"] is None else float(p["cost"]),
                "quantity": p["stock"].get(self.default_location, 0), "is_infinite": p["is_infinite"],
                "is_draft": p["is_draft"], "is_taxable": p["is_taxable"],
                "categories": [self._category_ref(c) for c in p["category_ids"] if c in self.categories],
                "variants": [self.product_json(v) for v in p["variant_ids"]],
                "stocks": self._stocks(p), "created_at": p["created_at"], "updated_at": p["updated_at"],
            }
            return data

    def _stocks(self, product: dict[str, Any]) -> list[dict[str, Any]]:
        by_id = {location["id"]: location for location in self.locations}
        return [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{product['id']}/{location_id}")),
                 "location": {k: by_id[location_id][k] for k in ("id", "name", "type")},
                 "available_quantity": quantity, "is_infinite": product["is_infinite"]}
                for location_id, quantity in product["stock"].items()]

    def _category_ref(self, category_id: int) -> dict[str, Any]:
        c = self.categories[category_id]
        return {"id": c["id"], "name": dict(c["names"]), "slug": c["slug"]}

    def _category_tree(self, parent_id: int | None) -> list[dict[str, Any]]:
        return [{"id": c["id"], "name": c["names"]["ar"], "names": dict(c["names"]), "slug": c["slug"],
                 "sub_categories": self._category_tree(c["id"])}
                for c in self.categories.values() if c["parent_id"] == parent_id]

    def _product(self, key: str) -> dict[str, Any]:
        product = self.products.get(str(key)) or self._by_sku(str(key))
        if product is None:
            raise ApiError(404, "Not found")
        return product

    def _by_sku(self, sku: str) -> dict[str, Any] | None:
        return next((p for p in self.products.values() if sku and p["sku"] == sku), None)

    def _apply(self, product: dict[str, Any], changes: dict[str, Any]) -> None:
        unknown = set(changes) - PRODUCT_FIELDS
        if unknown:
            raise ApiError(422, f"Unknown fields: {', '.join(sorted(unknown))}")
        sku = changes.get("sku")
        if sku and (other := self._by_sku(sku)) is not None and other is not product:
            raise ApiError(422, f"The sku {sku} has already been taken.")
        for name in ("price", "cost"):
            if changes.get(name) is not None:
                product[name] = _decimal(changes[name], name)
        if "sale_price" in changes:
            product["sale_price"] = changes["sale_price"]
        if "name" in changes:
            product["name"] = _names(changes["name"])
        for name in ("sku", "barcode"):
            if name in changes:
                product[name] = changes[name] or ("" if name == "sku" else None)
        for name in ("is_infinite", "is_draft", "is_taxable"):
            if name in changes:
                product[name] = bool(changes[name])
        if changes.get("categories") is not None:
            product["category_ids"] = [int(c["id"] if isinstance(c, dict) else c) for c in changes["categories"]]
        if changes.get("quantity") is not None:
            product["stock"][self.default_location] = int(_decimal(changes["quantity"], "quantity"))
        product["updated_at"] = stamp(CLOCK.read())

    # ------------------------------------------------------------ orders

    def create_order(self, items: Sequence[tuple[Any, ...]], *, shipping: Any = "0", coupon: str | None = None,
                     guest: bool = False, currency: str = "SAR", customer: dict[str, Any] | None = None,
                     send: bool = True) -> dict[str, Any]:
        """Place an order (status ``new``, paid by Zid Pay) of ``(sku or product id, quantity)`` items at
        each product's VAT-inclusive price; ``shipping`` is what the buyer pays for it (VAT included);
        ``coupon="SAVE10"`` takes 10.00 net off the lines; ``currency="KWD"`` sells in dinars.
        Stock leaves the default location. ``send`` delivers ``order.create``."""
        if coupon and coupon not in COUPONS:
            raise ApiError(422, f"Unknown coupon {coupon}")
        if currency != "SAR" and currency not in EXCHANGE_RATES:
            raise ApiError(422, f"Unknown currency {currency}")
        with self._lock:
            lines = []
            for item in items:
                product = self._product(item[0])
                if product["variant_ids"]:
                    raise ApiError(422, "Order a variant, not its parent product.")
                lines.append(OrderLine(next(self._ids["line"]), self.product_json(product["id"]), int(item[1]),
                                       net_of(product["price"])))
            if not lines:
                raise ApiError(422, "An order needs at least one product.")
            order_id = next(self._ids["order"])
            buyer = dict(GUEST_CUSTOMER) if guest else {**DEMO_CUSTOMER, **(customer or {})}
            if customer and "id" not in customer:
                buyer["id"] = next(self._ids["customer"])
            moment = stamp(CLOCK.read())
            order = Order(order_id, self._uuid("order", order_id).replace("-", "")[:10], self.store_id, lines, buyer, guest, moment,
                          coupon, net_of(_decimal(shipping or "0", "shipping")), currency, updated_at=moment)
            self.orders[order_id] = order
            for line in lines:
                stock = self.products[line.product["id"]]["stock"]
                stock[self.default_location] = stock.get(self.default_location, 0) - line.quantity
            data = order.as_json()
        if send:
            self.send("order.create", data)
        return data

    def set_status(self, order_id: int, code: str, *, send: bool = True) -> dict[str, Any]:
        """Move an order to ``code`` (``order.status.update``; ``refunded`` also makes the payment refunded,
        with ``order.payment_status.update``). A cancelled order's stock goes back once."""
        if code not in STATUSES:
            raise ApiError(422, f"Unknown order status {code}")
        with self._lock:
            order = self._order(order_id)
            payment_changed = code == "refunded" and order.payment_status != "refunded"
            order.status = code
            if payment_changed:
                order.payment_status = "refunded"
            if code == "canceled" and not order.restocked:
                order.restocked = True
                for line in order.lines:
                    stock = self.products[line.product["id"]]["stock"]
                    stock[self.default_location] = stock.get(self.default_location, 0) + line.quantity
            self._touch(order)
            if code == "delivered" and order.delivered_at is None:
                order.delivered_at = order.updated_at
            data = order.as_json()
        if send:
            self.send("order.status.update", data)
            if payment_changed:
                self.send("order.payment_status.update", data)
        return data

    def refund(self, order_id: int, *, send: bool = True) -> dict[str, Any]:
        """Refund the whole order: status ``refunded`` and payment refunded."""
        return self.set_status(order_id, "refunded", send=send)

    def reverse(self, order_id: int, index: int = 0, quantity: int = 1, *, send: bool = True) -> dict[str, Any]:
        """A partial reverse order of ``quantity`` of line ``index``; the order becomes ``reversed`` (its
        ``order.status.update`` is sent even when it already was). Returns the reverse order."""
        with self._lock:
            order = self._order(order_id)
            line = order.lines[index]
            left = line.quantity - self.reversed_quantity(order_id, line.order_product_id)
            if not 0 < quantity <= left:
                raise ApiError(422, f"Only {left} of line {index} can be returned.")
            order.status = "reversed"
            self._touch(order)
            serial = 1 + sum(1 for r in self.reverses if r["order_id"] == order_id)
            returned = reverse_json(self._uuid("reverse", f"{order_id}/{serial}"), order, [(line, quantity)], True,
                                    order.updated_at)
            self.reverses.append(returned)
            data = order.as_json()
        if send:
            self.send("order.status.update", data)
        return copy.deepcopy(returned)

    def reversed_quantity(self, order_id: int, order_product_id: int) -> int:
        with self._lock:
            return sum(p["reversed_quantity"] for r in self.reverses if r["order_id"] == order_id
                       for p in r["products"] if p["order_product_id"] == order_product_id)

    def comment(self, order_id: int, text: str) -> dict[str, Any]:
        """Append a comment to the order's histories (``add-order-comment``); no webhook."""
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, "The comment field is required.")
        if len(text) > 100:
            raise ApiError(422, "The comment may not be greater than 100 characters.")
        with self._lock:
            order = self._order(order_id)
            order.histories.append({"description": text, "created_at": stamp(CLOCK.read())})
            return order.as_json()

    def order(self, order_id: int) -> dict[str, Any]:
        with self._lock:
            return self._order(order_id).as_json()

    def comments(self, order_id: int) -> list[str]:
        with self._lock:
            return [entry["description"] for entry in self._order(order_id).histories]

    def _order(self, order_id: Any) -> Order:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError, TypeError):
            raise ApiError(404, "Not found") from None

    def _uuid(self, kind: str, serial: object) -> str:
        """A stable id: the same store doing the same things hands out the same ids (runs compare by them)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"zid-sandbox/{self.store_id}/{kind}/{serial}"))

    @staticmethod
    def _touch(order: Order) -> None:
        """``updated_at`` moves on, a second at least (deliveries of two changes never look alike)."""
        moment = CLOCK.read()
        previous = datetime.strptime(order.updated_at, TIME_FORMAT).replace(tzinfo=RIYADH)
        order.updated_at = stamp(max(moment, previous + timedelta(seconds=1)))

    def throttle_path(self, prefix: str, count: int = 1) -> None:
        """The next ``count`` API calls whose path starts with ``prefix`` answer 429 (others go through)."""
        with self._lock:
            self.throttled_paths[prefix] = self.throttled_paths.get(prefix, 0) + count

    def _path_throttled(self, path: str) -> bool:
        with self._lock:
            prefix = next((p for p, n in self.throttled_paths.items() if n and path.startswith(p)), None)
            if prefix is not None:
                self.throttled_paths[prefix] -= 1
            return prefix is not None

    # ------------------------------------------------------------ webhooks

    def subscribe(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("event") not in EVENTS or not data.get("target_url"):
            raise ApiError(422, "The event and target_url fields are required (event one of Zid's events).")
        with self._lock:
            subscription = {"id": str(uuid.uuid4()), "event": data["event"], "target_url": str(data["target_url"]),
                            "original_id": str(data.get("original_id") or ""), "subscriber": data.get("subscriber"),
                            "conditions": data.get("conditions"), "username": data.get("username"),
                            "password": data.get("password"), "active": True}
            self.subscriptions.append(subscription)
            return _public(subscription)

    def build_delivery(self, event: str, data: Any, subscription: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """The headers and body Zid would POST for ``event`` to ``subscription``."""
        payload = {"event": event, "store_id": self.store_id, "data": data} if self.envelope else data
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Zid-Webhooks/sandbox"}
        if subscription.get("username") and subscription.get("password"):
            headers["Authorization"] = basic(subscription["username"], subscription["password"])
        return headers, body

    def send(self, event: str, data: Any) -> list[Delivery]:
        """Deliver ``event`` to each of its subscriptions (none: nothing is sent)."""
        with self._lock:
            targets = [dict(s) for s in self.subscriptions if s["event"] == event and s["active"]]
        made = []
        for subscription in targets:
            headers, body = self.build_delivery(event, data, subscription)
            made.append(self.deliver(Delivery(event, subscription["target_url"], headers, body)))
        return made

    def deliver(self, delivery: Delivery) -> Delivery:
        """POST (or capture, or drop) one delivery; kept in ``.deliveries``."""
        with self._lock:
            self.deliveries.append(delivery)
            if self.captured is not None:
                self.captured.append((delivery.url, dict(delivery.headers), delivery.body))
                delivery.status = 200
                return delivery
            if self.drop:
                delivery.dropped = True
                return delivery
        answer = httpx.post(delivery.url, content=delivery.body, headers=delivery.headers, timeout=60)
        delivery.status = answer.status_code
        return delivery

    def redeliver(self, delivery: Delivery | None = None) -> Delivery:
        """Send a past delivery (default: the last) again, byte for byte."""
        original = delivery or self.deliveries[-1]
        return self.deliver(Delivery(original.event, original.url, dict(original.headers), original.body))

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
            return jsonify(message=error.message, **error.extra), error.status

        @app.errorhandler(BadFilter)
        def bad_filter(error: BadFilter) -> Any:
            return jsonify(message=str(error)), 422

        @app.errorhandler(404)
        def not_found(error: Exception) -> Any:
            return jsonify(message="Not found"), 404

        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", "/v1/managers/account/profile", self._api_profile),
            ("GET", "/v1/locations/", self._api_locations),
            ("GET", "/v1/managers/store/categories", self._api_categories),
            ("GET", "/v1/products/", self._api_products),
            ("POST", "/v1/products/", self._api_create_product),
            ("PATCH", "/v1/products/", self._api_bulk_update),
            ("GET", "/v1/products/<product_id>/", self._api_product),
            ("PATCH", "/v1/products/<product_id>/", self._api_update_product),
            ("GET", "/v1/products/<product_id>/stocks/", self._api_stocks),
            ("PATCH", "/v1/products/<product_id>/stocks/", self._api_set_stocks),
            ("GET", "/v1/managers/store/orders", self._api_orders),
            ("GET", "/v1/managers/store/orders/<int:order_id>/view", self._api_order),
            ("POST", "/v1/managers/store/orders/<int:order_id>/add-order-comment", self._api_comment),
            ("GET", "/v1/managers/store/reverse-orders", self._api_reverse_orders),
            ("POST", "/v1/managers/webhooks", self._api_subscribe),
            ("GET", "/v1/managers/webhooks", self._api_subscriptions),
            ("DELETE", "/v1/managers/webhooks", self._api_unsubscribe),
        ]
        for method, rule, view in routes:
            app.add_url_rule(rule, f"{method} {rule}", view, methods=[method])
        self._add_control_routes(app)
        return app

    def _guard(self) -> Any:
        if not request.path.startswith("/v1/"):
            return None
        bearer = request.headers.get("Authorization", "")
        manager = request.headers.get("X-Manager-Token") or request.headers.get("Access-Token") or ""
        if not (hmac.compare_digest(bearer.encode(), f"Bearer {self.authorization}".encode())
                and hmac.compare_digest(manager.encode(), self.access_token.encode())):
            return jsonify(message="Unauthenticated"), 401
        wait = self.bucket.retry_after if self._path_throttled(request.path) else self.bucket.take()
        if wait is not None:
            response = jsonify(message="Too Many Attempts.")
            response.status_code = 429
            response.headers["Retry-After"] = LeakyBucket.header_value(wait)
            return response
        return None

    def _record(self, response: Response) -> Response:
        if request.path.startswith("/v1/"):
            response.headers["X-RateLimit-Limit"] = str(self.bucket.capacity)
            response.headers["X-RateLimit-Remaining"] = str(self.bucket.remaining())
            self.log.add(RecordedRequest(request.method, request.path, request.args.to_dict(), dict(request.headers),
                                         request.get_json(silent=True), response.status_code))
        return response

    def _api_profile(self) -> Any:
        return jsonify(user={"id": 1, "name": "Sandbox manager", "email": "manager@example.com",
                             "store": {"id": self.store_id, "title": STORE_TITLE, "currency": {"code": "SAR"}}})

    def _api_locations(self) -> Any:
        return jsonify(count=len(self.locations), next=None, previous=None, results=copy.deepcopy(self.locations))

    def _api_categories(self) -> Any:
        with self._lock:
            return jsonify(categories=self._category_tree(None))

    def _api_products(self) -> Any:
        page = max(_int_arg("page", 1), 1)
        size = min(max(_int_arg("page_size", 10), 1), MAX_PAGE_SIZE)
        sku = request.args.get("sku")
        with self._lock:
            tops = [p for p in self.products.values() if not p["parent_id"]]
            if sku is not None:
                tops = [p for p in tops if p["sku"] == sku or any(self.products[v]["sku"] == sku
                                                                   for v in p["variant_ids"])]
            chosen = [self.product_json(p["id"]) for p in tops[(page - 1) * size: page * size]]
        link = lambda n: f"{request.base_url}?{urlencode({**request.args.to_dict(), 'page': n, 'page_size': size})}"  # noqa: E731
        return jsonify(count=len(tops), next=link(page + 1) if page * size < len(tops) else None,
                       previous=link(page - 1) if page > 1 else None, results=chosen)

    def _api_product(self, product_id: str) -> Any:
        with self._lock:
            return jsonify(self.product_json(self._product_by_id(product_id)["id"]))

    def _product_by_id(self, product_id: str) -> dict[str, Any]:
        if product_id not in self.products:
            raise ApiError(404, "Not found")
        return self.products[product_id]

    def _api_create_product(self) -> Any:
        data = _body(dict)
        if not data.get("name") or data.get("price") is None:
            raise ApiError(422, "The name and price fields are required.")
        product = self.add_product(data.get("sku"), data["name"], data["price"], int(data.get("quantity") or 0),
                                   barcode=data.get("barcode"), cost=data.get("cost"))
        extra = {k: data[k] for k in ("is_infinite", "is_draft", "categories") if k in data}
        if extra:
            product = self.update_product(product["id"], send=False, **extra)
        return jsonify(product), 201

    def _api_update_product(self, product_id: str) -> Any:
        self._product_by_id(product_id)
        return jsonify(self.update_product(product_id, send=False, **_body(dict)))

    def _api_bulk_update(self) -> Any:
        items = _body(list)
        if len(items) > MAX_BULK:
            raise ApiError(400, f"Maximum {MAX_BULK} products per request")
        with self._lock:
            found = []
            for item in items:
                key = item.get("id") or item.get("sku") if isinstance(item, dict) else None
                product = self.products.get(str(key)) or self._by_sku(str(key)) if key else None
                if product is None:
                    raise ApiError(400, f"Product not found: {key}")
                found.append((product, {k: item[k] for k in ("quantity", "price") if k in item}))
            for product, changes in found:
                self._apply(product, changes)
            return jsonify(results=[self.product_json(p["id"]) for p, _ in found])

    def _api_stocks(self, product_id: str) -> Any:
        with self._lock:
            return jsonify(results=self._stocks(self._product_by_id(product_id)))

    def _api_set_stocks(self, product_id: str) -> Any:
        entries = _body(list)
        known = {location["id"] for location in self.locations}
        with self._lock:
            product = self._product_by_id(product_id)
            for entry in entries:
                if not isinstance(entry, dict) or entry.get("location") not in known:
                    raise ApiError(400, "The selected location is invalid.")
                if entry.get("available_quantity") is None and not entry.get("is_infinite"):
                    raise ApiError(400, "The available_quantity field is required.")
            for entry in entries:
                if entry.get("available_quantity") is not None:
                    quantity = int(_decimal(entry["available_quantity"], "available_quantity"))
                    product["stock"][entry["location"]] = quantity
                product["is_infinite"] = bool(entry.get("is_infinite", False))
            product["updated_at"] = stamp(CLOCK.read())
        return Response(status=204)

    def _api_orders(self) -> Any:
        page = max(_int_arg("page", 1), 1)
        per_page = min(max(_int_arg("per_page", 10), 1), MAX_PAGE_SIZE)
        with self._lock:
            orders = [o.as_json() for o in self.orders.values()]
        orders = [o for o in orders if order_matches(o, request.args)]
        ascending = request.args.get("sort_by", "desc") == "asc"
        by_change = "updated_at_from" in request.args
        orders.sort(key=lambda o: (o["updated_at"], o["id"]) if by_change else (o["id"],), reverse=not ascending)
        chosen = orders[(page - 1) * per_page: page * per_page]
        return jsonify(orders=chosen, total_order_count=len(orders), page=page, per_page=per_page,
                       next_page=page + 1 if page * per_page < len(orders) else None)

    def _api_order(self, order_id: int) -> Any:
        return jsonify(order=self.order(order_id))

    def _api_comment(self, order_id: int) -> Any:
        return jsonify(order=self.comment(order_id, _body(dict).get("comment")))

    def _api_reverse_orders(self) -> Any:
        wanted = request.args.get("order_id")
        with self._lock:
            found = [copy.deepcopy(r) for r in self.reverses if wanted is None or str(r["order_id"]) == wanted]
        return jsonify(order_reverses=found)

    def _api_subscribe(self) -> Any:
        return jsonify(webhook=self.subscribe(_body(dict))), 201

    def _api_subscriptions(self) -> Any:
        with self._lock:
            return jsonify(webhooks=[_public(s) for s in self.subscriptions])

    def _api_unsubscribe(self) -> Any:
        original = request.args.get("original_id")
        if not original:
            raise ApiError(422, "The original_id field is required.")
        with self._lock:
            self.subscriptions = [s for s in self.subscriptions if s["original_id"] != original]
        return jsonify(message="Webhooks deleted")

    # ------------------------------------------------------------ control routes and page

    def _add_control_routes(self, app: Flask) -> None:
        """``/_sandbox/*``: no auth; each JSON answer lists the deliveries the call made."""

        def run(key: str, action: Callable[[], Any]) -> Any:
            before = len(self.deliveries)
            result = action()
            made = [{"event": d.event, "url": d.url, "status": d.status, "dropped": d.dropped}
                    for d in self.deliveries[before:]]
            return jsonify({key: result, "deliveries": made})

        @app.post("/_sandbox/orders")
        def control_order() -> Any:
            data = _body(dict)
            items = [(i.get("sku") or i.get("product_id"), int(i.get("quantity", 1))) if isinstance(i, dict)
                     else tuple(i) for i in data.get("items") or []]
            return run("order", lambda: self.create_order(
                items, shipping=data.get("shipping", "0"), coupon=data.get("coupon"), guest=bool(data.get("guest")),
                currency=data.get("currency", "SAR"), send=data.get("send", True)))

        @app.post("/_sandbox/orders/<int:order_id>/status")
        def control_status(order_id: int) -> Any:
            return run("order", lambda: self.set_status(order_id, str(_body(dict).get("status")),
                                                        send=_body(dict).get("send", True)))

        @app.post("/_sandbox/orders/<int:order_id>/reverse")
        def control_reverse(order_id: int) -> Any:
            data = _body(dict)
            return run("reverse", lambda: self.reverse(order_id, int(data.get("line", 0)),
                                                       int(data.get("quantity", 1))))

        @app.post("/_sandbox/products")
        def control_add_product() -> Any:
            data = _body(dict)
            return run("product", lambda: self.add_product(
                data.get("sku"), data.get("name") or "Product", data.get("price", "0"), int(data.get("quantity", 0)),
                barcode=data.get("barcode"), cost=data.get("cost"), send=data.get("send", True)))

        @app.post("/_sandbox/products/<key>")
        def control_edit_product(key: str) -> Any:
            data = _body(dict)
            send = data.pop("send", True)
            return run("product", lambda: self.update_product(key, send=send, **data))

        @app.post("/_sandbox/switches")
        def control_switches() -> Any:
            data = _body(dict)
            self.drop = bool(data.get("drop", self.drop))
            self.envelope = bool(data.get("envelope", self.envelope))
            return jsonify(drop=self.drop, envelope=self.envelope)

        @app.post("/_sandbox/throttle")
        def control_throttle() -> Any:
            count = int(_body(dict).get("count", 1))
            self.bucket.throttle_next(count)
            return jsonify(throttled=count)

        @app.post("/_sandbox/redeliver")
        def control_redeliver() -> Any:
            delivery = self.redeliver()
            return jsonify(event=delivery.event, status=delivery.status)

        @app.get("/_sandbox/state")
        def control_state() -> Any:
            with self._lock:
                return jsonify(orders=[o.as_json() for o in self.orders.values()],
                               products=[self.product_json(p) for p in self.products if not self.products[p]["parent_id"]],
                               reverse_orders=copy.deepcopy(self.reverses),
                               webhooks=[_public(s) for s in self.subscriptions],
                               deliveries=[{"event": d.event, "url": d.url, "status": d.status, "dropped": d.dropped}
                                           for d in self.deliveries], drop=self.drop, envelope=self.envelope)

        add_control_page(app, f"Zid sandbox · {STORE_TITLE}", self._page_products, self._page_orders,
                         self._page_place_order, self._page_act, self._page_credentials, self._page_give_sku)
        app.after_request(self._page_extras)

    def _page_extras(self, response: Response) -> Response:
        """The Zid options on the control page: a coupon and the currency for the next order, the drop switch."""
        if request.path != "/_sandbox/" or response.status_code != 200:
            return response
        extra = (
            '<h2>Zid options</h2><form method="post" action="/_sandbox/ui/orders" id="zid-order">'
            '<p>Order of one product with options: <select name="sku_0">'
            + "".join(f'<option value="{p.key}">{p.sku or "(no SKU)"} · {p.name}</option>' for p in self._page_products())
            + '</select> <input name="qty_0" type="number" min="1" value="1" style="width:5rem"></p>'
            '<p><label>Coupon <select name="coupon"><option value="">—</option>'
            + "".join(f'<option value="{c}">{c}</option>' for c in COUPONS)
            + '</select></label> <label>Currency <select name="currency"><option>SAR</option>'
            + "".join(f"<option>{c}</option>" for c in EXCHANGE_RATES)
            + '</select></label> <label><input type="checkbox" name="guest" value="1"> Guest</label> '
            '<label>Shipping <input name="shipping" value="0" style="width:6rem"></label></p>'
            '<button type="submit">Place order</button></form>'
            f'<p>Webhooks are {"dropped (lost)" if self.drop else "sent"}. '
            '<code>POST /_sandbox/switches {"drop": true}</code> loses them, so reconciliation can be shown.</p>')
        response.set_data(response.get_data(as_text=True).replace("</body>", extra + "</body>"))
        return response

    def _page_give_sku(self, key: str, sku: str) -> str:
        self.update_product(key, sku=sku)
        return f"Product now has SKU {sku} (product.update sent)."

    def _page_credentials(self, url: str) -> dict[str, str]:
        return {"authorization": self.authorization, "access_token": self.access_token,
                "store_id": str(self.store_id), "api_base": url}

    def _page_products(self) -> list[PageProduct]:
        with self._lock:
            return [PageProduct(p["sku"] or p["id"], p["sku"], p["name"]["en"] or p["name"]["ar"],
                                p["stock"].get(self.default_location, 0))
                    for p in self.products.values() if not p["variant_ids"]]

    def _page_orders(self) -> list[PageOrder]:
        with self._lock:
            orders = list(self.orders.values())[::-1]
            pages = []
            for o in orders:
                actions: list[tuple[str, str]] = []
                if o.status in ("new", "preparing", "ready", "indelivery"):
                    actions = [("complete", "Complete (delivered)"), ("cancel", "Cancel")]
                elif o.status in ("delivered", "reversed"):
                    actions = [("refund", "Refund"), ("reverse", "Return one item")]
                pages.append(PageOrder(o.id, str(o.id), STATUSES[o.status] + f" ({o.status})",
                                       f"{o.amounts().total:.2f} {o.currency}", actions))
            return pages

    def _page_place_order(self, items: list[tuple[str, int]], shipping: str) -> str:
        form = request.form
        order = self.create_order(items, shipping=shipping or "0", coupon=form.get("coupon") or None,
                                  guest=bool(form.get("guest")), currency=form.get("currency") or "SAR")
        return f"Order {order['id']} placed (new; complete it to book it)."

    def _page_act(self, order_id: int, action: str) -> str:
        if action == "reverse":
            with self._lock:
                order = self._order(order_id)
                index = next((i for i, line in enumerate(order.lines)
                              if self.reversed_quantity(order_id, line.order_product_id) < line.quantity), None)
            if index is None:
                return f"Order {order_id}: everything was returned already."
            self.reverse(order_id, index, 1)
            return f"Order {order_id}: one item of line {index + 1} returned (reversed)."
        codes = {"complete": "delivered", "cancel": "canceled", "refund": "refunded"}
        if action not in codes:
            return f"Unknown action {action}."
        self.set_status(order_id, codes[action])
        return f"Order {order_id}: {codes[action]} sent."


def _public(subscription: dict[str, Any]) -> dict[str, Any]:
    """A subscription as the API shows it: never its password."""
    return {k: subscription[k] for k in ("id", "event", "target_url", "original_id", "subscriber", "conditions",
                                         "active")}


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        raise ApiError(422, f"The {name} must be an integer.") from None


def _body(kind: type) -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, kind):
        raise ApiError(422, f"The body must be a JSON {'list' if kind is list else 'object'}.")
    return data


def seed_demo(sandbox: ZidSandbox, *, rich: bool = False) -> None:
    """The kit's catalog (the ERP demo's SKUs and one product without SKU) in categories with sub-categories;
    ``rich`` adds what only the demo shows: a product with variants and one with a Zid-made ``Z.`` SKU."""
    coffee = sandbox.add_category("Coffee", "قهوة")
    arabic = sandbox.add_category("Arabic coffee", "قهوة عربية", coffee)
    dates = sandbox.add_category("Dates", "تمور")
    kitchen = sandbox.add_category("Kitchenware", "أدوات المطبخ")
    sandbox.add_product("COF-250", {"ar": "قهوة عربية 250 غ", "en": "Arabic coffee 250 g"}, "35.00", 120,
                        barcode="6281000000011", cost="18.00", categories=[coffee, arabic])
    sandbox.add_product("DATE-1KG", {"ar": "تمر سكري 1 كغ", "en": "Sukkari dates 1 kg"}, "45.00", 80,
                        barcode="6281000000028", cost="22.50", categories=[dates])
    sandbox.add_product("MUG-01", {"ar": "كوب خزفي", "en": "Ceramic mug"}, "25.00", 60,
                        barcode="6281000000035", cost="9.75", categories=[kitchen])
    sandbox.add_product(None, {"ar": "تغليف هدية", "en": "Gift wrapping"}, "10.00", 500, categories=[kitchen])
    if rich:
        parent = sandbox.add_parent({"ar": "دلة قهوة", "en": "Coffee pot"}, [kitchen])
        sandbox.add_product("POT-S", {"ar": "دلة قهوة صغيرة", "en": "Coffee pot small"}, "60.00", 15,
                            cost="30.00", categories=[kitchen], parent_id=parent)
        sandbox.add_product("POT-L", {"ar": "دلة قهوة كبيرة", "en": "Coffee pot large"}, "80.00", 10,
                            cost="40.00", categories=[kitchen], parent_id=parent)
        sandbox.add_product("Z.1234567", {"ar": "بخور", "en": ""}, "20.00", 30, categories=[kitchen])


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m plugins.zid.sandbox serve --port 5103``."""
    run_demo_sandbox(argv, prog="python -m plugins.zid.sandbox", title="Zid", port=5103, make=_demo,
                     credentials=lambda sandbox, url: sandbox._page_credentials(url))


def _demo() -> ZidSandbox:
    sandbox = ZidSandbox()
    seed_demo(sandbox, rich=True)
    sandbox.resume_numbering(int(time.time()) % 100_000_000)
    return sandbox


if __name__ == "__main__":
    main()
