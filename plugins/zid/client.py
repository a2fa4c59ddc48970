"""Zid's Manager API (v1) as the core's StoreAPI, paced to Zid's 60 requests a minute per store."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from urllib.parse import quote

import httpx

from core.platform.base import RateLimited, StoreAPIError
from core.platform.data import (
    CategoryData,
    LocationData,
    OrderData,
    OrderPage,
    ProductData,
    ProductPage,
    RefundData,
    StockQuantity,
)
from core.platform.webhooks import WebhookSubscription
from plugins.zid import schemas

#: The API's version, in every path (``<api_base>/v1/...``): the one place it is named.
API_VERSION = "v1"
#: Products per catalog page (Zid's ``page_size``, at most 100) and orders per reconciliation page.
PRODUCTS_PAGE = 50
ORDERS_PAGE = 50
#: Zid's bulk product update takes at most 50 products.
BULK_LIMIT = 50
#: Zid allows 60 requests a minute per app and store (leaky bucket): the client keeps a little under it.
REQUESTS_PER_MINUTE = 58
DEFAULT_RETRY_AFTER = 1.0
#: The longest a call waits for Zid's rate limit before raising RateLimited instead (seconds).
MAX_WAIT = 10.0
#: Zid documents filtering orders by creation date only; reconciliation also asks for the orders placed
#: this long before its cursor, in case ``updated_at_from`` is not honoured (see README).
ORDER_LOOKBACK = timedelta(days=2)
#: Order-search pages read by ``fetch_order`` before giving up.
SEARCH_PAGES = 5
#: The order comment that carries the ERP invoice number (Zid takes at most 100 characters).
INVOICE_COMMENT = "Mizan invoice {number}"
COMMENT_LIMIT = 100
SUBSCRIBER = "Mizan"

log = logging.getLogger(__name__)


class Pacer:
    """A client-side leaky bucket (``capacity`` requests leaking one a second): waits before a request
    that Zid's own bucket would refuse, shared by every client of one store in this process. After a 429
    it holds every call until Zid's ``Retry-After`` has passed (a call that would wait longer than
    :data:`MAX_WAIT` raises :class:`RateLimited` at once, so a job is rescheduled instead of blocking)."""

    def __init__(self, per_minute: int = REQUESTS_PER_MINUTE) -> None:
        self.capacity = float(per_minute)
        self.leak_per_second = per_minute / 60.0
        self._level = 0.0
        self._updated = time.monotonic()
        self._not_before = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """No call before ``seconds`` from now (Zid's ``Retry-After``)."""
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            held = self._not_before - now
            if held > MAX_WAIT:
                raise RateLimited(held, "Zid asked to wait before the next call")
            self._level = max(0.0, self._level - (now - self._updated) * self.leak_per_second)
            self._updated = now
            delay = max(0.0, held, (self._level + 1 - self.capacity) / self.leak_per_second)
            self._level += 1
        if delay:
            time.sleep(delay)


_pacers: dict[tuple[str, str], Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(api_base: str, store_id: str) -> Pacer:
    """The one pacer of a store (by API base and store id) in this process."""
    with _pacers_lock:
        return _pacers.setdefault((api_base, store_id), Pacer())


class ZidClient:
    """One Zid store's Manager API, from its credentials (see ``ZidCredentialsSchema``).

    Every call carries the partner token (``Authorization: Bearer``), the manager token
    (``X-Manager-Token`` and ``Access-Token``), ``Store-Id`` and ``Role: Manager``.
    Errors: 401/403 and other 4xx → :class:`StoreAPIError` (not retryable); 429 →
    :class:`RateLimited` with ``Retry-After``; 5xx, timeouts and network errors → retryable.
    The client does not retry by itself (the core's jobs back off) but paces its requests.
    """

    def __init__(self, credentials: Mapping[str, Any], *, timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        base = str(credentials.get("api_base") or schemas.DEFAULT_API_BASE).rstrip("/")
        self.store_id = str(credentials["store_id"])
        self.app_id = str(credentials.get("app_id") or "mizan")
        self.location_id: str | None = credentials.get("location_id") or None
        #: Whether the store's product prices include VAT (the ERP's sale prices do).
        self.gross_prices = credentials.get("product_prices_include_vat", True) is not False
        self._profile: dict[str, Any] | None = None
        self._pacer = pacer_for(base, self.store_id)
        token = str(credentials["access_token"])
        self._http = httpx.Client(
            base_url=f"{base}/{API_VERSION}", timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {credentials['authorization']}", "X-Manager-Token": token,
                     "Access-Token": token, "Store-Id": self.store_id, "Role": "Manager",
                     "Accept-Language": "en", "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZidClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ StoreAPI

    def check_credentials(self) -> str:
        """``GET /managers/account/profile``: the store's title."""
        store = self._store()
        return str(store.get("title") or store.get("name") or f"Zid store {store.get('id', self.store_id)}")

    def store_ref(self) -> str | None:
        """The Zid store id the profile names (the one every webhook body carries as ``store_id``)."""
        store = self._store()
        return str(store["id"]) if store.get("id") not in (None, "") else self.store_id

    def list_locations(self) -> list[LocationData]:
        """The store's enabled inventory locations, Zid's default first (the store page's location choice, C2)."""
        return [LocationData(str(loc["id"]), _location_name(loc), is_default=bool(loc.get("is_default")))
                for loc in self._locations()]

    def location(self) -> str | None:
        """The linked location: the credential's, else the one Zid marks default, else the first (asked once)."""
        if self.location_id is None:
            locations = self._locations()
            self.location_id = str(locations[0]["id"]) if locations else None
        return self.location_id

    def register_webhooks(self, subscriptions: list[WebhookSubscription]) -> list[str]:
        """Subscribe each topic to its URL with its Basic credentials; an existing subscription of the same
        event and URL is kept (Zid never shows its password, so it is not compared)."""
        body = self._call("GET", "/managers/webhooks")
        existing = {(w.get("event"), w.get("target_url")) for w in _list(body, "webhooks")}
        for subscription in subscriptions:
            if (subscription.topic, subscription.url) in existing:
                continue
            payload: dict[str, Any] = {"event": subscription.topic, "target_url": subscription.url,
                                       "original_id": self.app_id, "subscriber": SUBSCRIBER}
            if subscription.username and subscription.password:
                payload.update(username=subscription.username, password=subscription.password)
            self._call("POST", "/managers/webhooks", json=payload)
        return [subscription.topic for subscription in subscriptions]

    def list_categories(self) -> Iterator[CategoryData]:
        """``GET /managers/store/categories``: every category once, sub-categories after their parent."""
        seen: set[str] = set()
        for item in _list(self._call("GET", "/managers/store/categories"), "categories"):
            for category in schemas.category_data(item):
                if category.external_id not in seen:
                    seen.add(category.external_id)
                    yield category

    def list_products(self, cursor: str | None = None, *, page_size: int = PRODUCTS_PAGE) -> ProductPage:
        """One page of ``GET /products/`` (a product with variants gives one ProductData per variant);
        the cursor is the page number, ``total`` Zid's product count."""
        page = _page_number(cursor)
        body = self._call("GET", "/products/", params={"page": page, "page_size": page_size})
        products = [p for item in _list(body, "results") for p in self._products(item)]
        count = body.get("count")
        return ProductPage(products, str(page + 1) if body.get("next") else None,
                           int(count) if isinstance(count, int) else None)

    def fetch_order(self, number: str) -> OrderData | None:
        """The order whose invoice number, code or id is ``number`` (searched in the orders list), read by id."""
        number = str(number).strip().lstrip("#")
        if not number:
            return None
        for page in range(1, SEARCH_PAGES + 1):
            body = self._call("GET", "/managers/store/orders", params={
                "search_term": number, "page": page, "per_page": ORDERS_PAGE, "payload_type": "default"})
            found = next((o for o in _list(body, "orders") if number in _numbers(o)), None)
            if found is not None:
                return self.fetch_order_by_id(str(found["id"]))
            if not body.get("next_page"):
                break
        return self.fetch_order_by_id(number) if number.isdigit() else None

    def fetch_order_by_id(self, external_id: str) -> OrderData | None:
        """``GET /managers/store/orders/{id}/view``: the order now, or ``None`` when the store has none."""
        order = self._order(external_id)
        return None if order is None else schemas.order_data(order)

    def list_refunds(self, order_external_id: str) -> list[RefundData]:
        """The order's reverse orders (returns: partial ones by line), plus the whole order when its status
        is ``refunded`` (the core books only what is left), or ``reversed`` with no reverse order listed at all
        (``partially_reversed`` and ``reverse_in_progress`` never mean the whole order)."""
        order = self._order(order_external_id)
        if order is None:
            return []
        order_id = str(order["id"])
        body = self._call("GET", "/managers/store/reverse-orders", params={"order_id": order_id}, missing_ok=True)
        reverses = [schemas.reverse_refund(item, order_id) for item in _list(body or {}, "order_reverses")
                    if str(item.get("order_id", order_id)) == order_id]
        refunds = [refund for refund in reverses if refund is not None]
        if schemas.order_refunded(order):
            refunds.append(schemas.whole_refund(order_id, "refunded"))
        elif schemas.order_status(order) == "reversed" and not reverses:
            refunds.append(schemas.whole_refund(order_id, "reversed"))  # Zid lists no return: all came back
        return refunds

    def list_orders(self, modified_after: datetime, cursor: str | None = None) -> OrderPage:
        """``GET /managers/store/orders?updated_at_from=…&sort_by=asc`` (and ``date_from`` two days earlier),
        50 a page; the cursor is the page number. An order listed without its products is read by id."""
        page = _page_number(cursor)
        moment = (modified_after if modified_after.tzinfo else modified_after.replace(tzinfo=UTC))
        local = moment.astimezone(schemas.RIYADH)
        body = self._call("GET", "/managers/store/orders", params={
            "page": page, "per_page": ORDERS_PAGE, "payload_type": "default", "sort_by": "asc",
            "updated_at_from": local.replace(microsecond=0).isoformat(),
            "date_from": (local - ORDER_LOOKBACK).date().isoformat()})
        raw = [o for o in _list(body, "orders") if isinstance(o, dict) and o.get("id") is not None]
        full = [o if isinstance(o.get("products"), list) else self._order(o["id"]) for o in raw]
        orders = [schemas.order_data(o) for o in full if o is not None]
        next_cursor = str(page + 1) if body.get("next_page") else None
        return OrderPage(orders, next_cursor, _modified_through(orders) if next_cursor else None)

    def annotate_order(self, order_external_id: str, invoice_number: str) -> None:
        """Add the comment "Mizan invoice <number>" to the order, unless its history has it already."""
        comment = INVOICE_COMMENT.format(number=invoice_number)[:COMMENT_LIMIT]
        order = self._order(order_external_id)
        if order is None:
            raise StoreAPIError(f"Zid has no order {order_external_id}", retryable=False, status=404)
        histories = order.get("histories") if isinstance(order.get("histories"), list) else []
        if any(isinstance(h, dict) and comment in (h.get("description"), h.get("comment")) for h in histories):
            return
        self._call("POST", f"/managers/store/orders/{order['id']}/add-order-comment", json={"comment": comment})

    def fetch_product(self, sku: str) -> ProductData | None:
        """The product (or variant) with ``sku`` (``GET /products/?sku=``), with the linked location's quantity."""
        return next((p for p in self._products_with(sku) if p.sku == sku), None)

    def push_stock(self, quantities: list[StockQuantity]) -> None:
        """Set absolute quantities: in the linked location (``location_id``), one ``PATCH /products/{id}/stocks/``
        per product; without one, Zid's default location through ``PATCH /products/``, 50 per call.
        Zid counts whole units: quantities are rounded down, negatives sent as 0."""
        wanted: dict[str, tuple[dict[str, str], int]] = {}
        for entry in quantities:
            ident = {"id": entry.stock_ref} if entry.stock_ref else ({"sku": entry.sku} if entry.sku else None)
            if ident is None:
                continue
            key = f"{next(iter(ident))}:{next(iter(ident.values()))}"
            wanted.pop(key, None)
            wanted[key] = (ident, _whole(entry.quantity))
        if self.location_id:
            for ident, quantity in wanted.values():
                self._push_location_stock(ident, quantity)
            return
        items = [{**ident, "quantity": quantity} for ident, quantity in wanted.values()]
        for start in range(0, len(items), BULK_LIMIT):
            self._call("PATCH", "/products/", json=items[start:start + BULK_LIMIT])

    def _products(self, item: Any) -> list[ProductData]:
        """A Zid product as ERP products, at the linked location, with VAT-inclusive prices."""
        return schemas.product_data(item, self.location_id, gross=self.gross_prices)

    def push_product(self, product: ProductData) -> str:
        """Update the Zid product with this SKU (``PATCH /products/{id}/``), or create it (``POST /products/``)."""
        if not product.sku:
            raise StoreAPIError(f"product {product.name!r} has no SKU", retryable=False)
        price = product.price if self.gross_prices else schemas.net_price(product.price)
        name: Any = {"ar": product.name_ar, "en": product.name} if product.name_ar else product.name
        fields: dict[str, Any] = {"name": name, "price": float(price), "sku": product.sku}
        if product.barcode:
            fields["barcode"] = product.barcode
        if product.cost is not None:
            fields["cost"] = float(product.cost)
        existing = next((p for p in self._products_with(product.sku) if p.sku == product.sku), None)
        if existing is not None:
            saved = self._call("PATCH", f"/products/{quote(existing.external_id, safe='')}/", json=fields)
            return str(saved.get("id") or existing.external_id)
        if product.quantity is not None and not self.location_id:
            fields["quantity"] = _whole(product.quantity)
        saved = self._call("POST", "/products/", json={**fields, "is_infinite": False})
        if product.quantity is not None and self.location_id:
            self._push_location_stock({"id": str(saved["id"])}, _whole(product.quantity))
        return str(saved["id"])

    # ------------------------------------------------------------ helpers

    def _store(self) -> dict[str, Any]:
        if self._profile is None:
            body = self._call("GET", "/managers/account/profile")
            store = (body.get("user") or {}).get("store") if isinstance(body.get("user"), dict) else None
            if not isinstance(store, dict):
                raise StoreAPIError("Zid's profile names no store", retryable=False)
            self._profile = store
        return self._profile

    def _locations(self) -> list[dict[str, Any]]:
        """Every enabled location, Zid's default first (following ``next``)."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self._call("GET", "/locations", params={"page": page})
            found += [loc for loc in _list(body, "results") if loc.get("id") and loc.get("is_enabled", True)]
            if not body.get("next"):
                break
            page += 1
        return sorted(found, key=lambda loc: not loc.get("is_default"))

    def _order(self, external_id: Any) -> dict[str, Any] | None:
        if not str(external_id).strip().isdigit():
            return None
        body = self._call("GET", f"/managers/store/orders/{str(external_id).strip()}/view", missing_ok=True)
        order = (body or {}).get("order")
        return order if isinstance(order, dict) else None

    def _products_with(self, sku: str) -> list[ProductData]:
        body = self._call("GET", "/products/", params={"sku": sku, "page": 1, "page_size": PRODUCTS_PAGE})
        return [p for item in _list(body, "results") for p in self._products(item)]

    def _push_location_stock(self, ident: dict[str, str], quantity: int) -> None:
        product_id = ident.get("id")
        if product_id is None:
            found = next((p for p in self._products_with(ident["sku"]) if p.sku == ident["sku"]), None)
            if found is None:
                log.warning("Zid has no product with SKU %s; its stock is not pushed", ident["sku"])
                return
            product_id = found.external_id
        self._call("PATCH", f"/products/{quote(product_id, safe='')}/stocks/",
                   json=[{"location": self.location_id, "available_quantity": quantity, "is_infinite": False}])

    def _call(self, method: str, path: str, *, missing_ok: bool = False, **options: Any) -> Any:
        """One paced request; the decoded JSON object (``{}`` for 204), or ``None`` for a 404 when ``missing_ok``."""
        self._pacer.wait()
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise StoreAPIError(f"Zid {method} {path}: {error}", retryable=True) from error
        status = response.status_code
        if status == 429:
            retry_after = _retry_after(response)
            self._pacer.hold(retry_after)
            raise RateLimited(retry_after, f"Zid {method} {path}: too many requests")
        if status == 404 and missing_ok:
            return None
        if status in (401, 403):
            raise StoreAPIError(f"Zid refused the tokens ({status}): {_message(response)}",
                                retryable=False, status=status)
        if status >= 400:
            raise StoreAPIError(f"Zid {method} {path} answered {status}: {_message(response)}",
                                retryable=status >= 500, status=status)
        if status == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise StoreAPIError(f"Zid {method} {path}: the answer is not JSON", retryable=True, status=status) from None
        if not isinstance(body, dict):
            raise StoreAPIError(f"Zid {method} {path}: the answer is not an object", retryable=False, status=status)
        return body


def _list(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = body.get(key)
    if not isinstance(items, list):
        raise StoreAPIError(f"Zid's answer has no list of {key}", retryable=False)
    return [item for item in items if isinstance(item, dict)]


def _numbers(order: dict[str, Any]) -> set[str]:
    """What a person may call an order: its invoice number, its code, its id."""
    return {str(order[key]).strip() for key in ("invoice_number", "code", "id") if order.get(key) not in (None, "")}


def _modified_through(orders: list[OrderData]) -> datetime | None:
    """The last change on the page when the page lists changes oldest first (Zid honoured ``sort_by=asc``
    on ``updated_at``), else ``None``: the reconciliation cursor only moves on proof."""
    stamps = [o.modified_at for o in orders]
    if not stamps or any(s is None for s in stamps):
        return None
    known = [s for s in stamps if s is not None]
    return known[-1] if known == sorted(known) else None


def _location_name(location: dict[str, Any]) -> str:
    name = location.get("name")
    if isinstance(name, dict):
        return str(name.get("en") or name.get("ar") or location["id"])
    return str(name or location["id"])


def _page_number(cursor: str | None) -> int:
    try:
        page = int(cursor) if cursor else 1
    except ValueError:
        page = 0
    if page < 1:
        raise StoreAPIError(f"not a Zid page cursor: {cursor!r}", retryable=False)
    return page


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER)))
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message") or body)[:200] if isinstance(body, dict) else str(body)[:200]


def _whole(quantity: Decimal) -> int:
    return max(0, int(Decimal(quantity).to_integral_value(rounding=ROUND_FLOOR)))
