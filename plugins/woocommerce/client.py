"""WooCommerce's REST API v3 as the core's StoreAPI (HTTP Basic with the store's API key, backing off when told)."""
from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import httpx

from core.platform.base import RateLimited, StoreAPIError
from core.platform.data import (
    CategoryData,
    OrderData,
    OrderPage,
    ProductData,
    ProductPage,
    RefundData,
    StockQuantity,
)
from core.platform.webhooks import WebhookSubscription
from plugins.woocommerce import schemas

#: Items per page (WooCommerce's ``per_page`` is at most 100).
PRODUCTS_PAGE = 50
ORDERS_PAGE = 50
MAX_PAGE = 100
#: WooCommerce's batch endpoints take at most 100 objects per request (create + update + delete).
BATCH_LIMIT = 100
#: Calls answered 429 or 503 are tried this many times in all, waiting as told (``Retry-After``) or backing off.
ATTEMPTS = 3
DEFAULT_BACKOFF = 1.0
#: The longest the client waits before trying again itself; a longer ``Retry-After`` is raised to the core's jobs.
MAX_WAIT = 10.0
#: Order-search pages read by ``fetch_order`` before giving up.
SEARCH_PAGES = 3
#: The order note that carries the ERP invoice number.
INVOICE_NOTE = "Mizan invoice {number}"
WEBHOOK_NAME = "Mizan {topic}"
ONE_SECOND = timedelta(seconds=1)

log = logging.getLogger(__name__)


class WooCommerceClient:
    """One WooCommerce site's REST API v3 (``<store_url>/wp-json/wc/v3``), from its credentials
    (see ``WooCommerceCredentialsSchema``); the key pair goes as HTTP Basic on every call (HTTPS only).

    Errors: 401/403 and other 4xx → :class:`StoreAPIError` (not retryable); 429 and 503 are tried again
    after ``Retry-After`` (else a growing back-off) up to :data:`ATTEMPTS` times, then 429 →
    :class:`RateLimited`, 503 → retryable; other 5xx, timeouts and network errors → retryable.
    """

    def __init__(self, credentials: Mapping[str, Any], *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store_url = str(credentials["store_url"]).rstrip("/")
        #: Refunded lines go back to stock per this (WooCommerce's refund reads do not say).
        self.restock_refunds = credentials.get("restock_refunds", True) is not False
        #: Whether the store's product prices include VAT (the ERP's sale prices do).
        self.gross_prices = credentials.get("product_prices_include_tax", True) is not False
        self._sleep = sleep
        self._status: dict[str, Any] | None = None
        self._http = httpx.Client(
            base_url=f"{self.store_url}{schemas.API_PATH}", timeout=timeout, transport=transport,
            auth=(str(credentials["consumer_key"]), str(credentials["consumer_secret"])),
            headers={"Accept": "application/json", "User-Agent": "Mizan"}, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WooCommerceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ StoreAPI

    def check_credentials(self) -> str:
        """``GET /system_status``: the site's title, else its address."""
        environment = self._environment()
        title = environment.get("site_title")
        return str(title or environment.get("site_url") or environment.get("home_url") or self.store_url)

    def store_ref(self) -> str | None:
        """The site's address without scheme and trailing slash (``shop.example.com``), as the site says it."""
        environment = self._environment()
        url = environment.get("site_url") or environment.get("home_url") or self.store_url
        return schemas.site_ref(str(url))

    def register_webhooks(self, subscriptions: list[WebhookSubscription]) -> list[str]:
        """``POST /webhooks`` each topic to its URL with its secret; an active webhook of the same topic and
        URL is kept; one WooCommerce disabled (after failed deliveries) is set active again with the secret."""
        existing = {(str(w.get("topic")), str(w.get("delivery_url"))): w for w in self._all("/webhooks")}
        for subscription in subscriptions:
            found = existing.get((subscription.topic, subscription.url))
            if found is not None and found.get("status") == "active":
                continue
            payload: dict[str, Any] = {"name": WEBHOOK_NAME.format(topic=subscription.topic),
                                       "topic": subscription.topic, "delivery_url": subscription.url,
                                       "status": "active"}
            if subscription.secret:
                payload["secret"] = subscription.secret
            if found is not None and self._call("PUT", f"/webhooks/{found['id']}", json=payload,
                                                missing_ok=True) is not None:
                continue
            self._call("POST", "/webhooks", json=payload)
        return [subscription.topic for subscription in subscriptions]

    def list_categories(self) -> Iterator[CategoryData]:
        """``GET /products/categories``, every page."""
        for item in self._all("/products/categories"):
            yield schemas.category_data(item)

    def list_products(self, cursor: str | None = None, *, page_size: int = PRODUCTS_PAGE) -> ProductPage:
        """One page of ``GET /products`` (a variable product gives its variations, a grouped or external one
        nothing); the cursor is ``<page>`` or ``<page>.<extra>``. ``total`` is WooCommerce's ``X-WP-Total`` (each
        product once) plus ``extra``, the products more (or fewer) the pages so far gave than they listed, so that
        at the last page it is the number of ERP products read."""
        page, extra = _catalog_cursor(cursor)
        response = self._request("GET", "/products", params={"page": page, "per_page": page_size})
        items = _items(response)
        products = [p for item in items for p in self._products(item)]
        extra += len(products) - len(items)
        pages, total = _header_int(response, "X-WP-TotalPages"), _header_int(response, "X-WP-Total")
        more = page < pages if pages is not None else len(items) >= page_size
        return ProductPage(products, f"{page + 1}.{extra}" if more else None,
                           None if total is None else max(total + extra, 0))

    def fetch_order(self, number: str) -> OrderData | None:
        """The order whose ``number`` is ``number`` (``GET /orders?search=``), else the order with that id."""
        number = str(number).strip().lstrip("#")
        if not number:
            return None
        for page in range(1, SEARCH_PAGES + 1):
            response = self._request("GET", "/orders", params={"search": number, "page": page, "per_page": ORDERS_PAGE})
            found = next((o for o in _items(response) if str(o.get("number", "")).strip() == number), None)
            if found is not None:
                return schemas.order_data(found)
            pages = _header_int(response, "X-WP-TotalPages")
            if pages is None or page >= pages:
                break
        return self.fetch_order_by_id(number) if number.isdigit() else None

    def fetch_order_by_id(self, external_id: str) -> OrderData | None:
        """``GET /orders/{id}``: the order now, or ``None`` when the store has none."""
        order = self._order(external_id)
        return None if order is None else schemas.order_data(order)

    def list_refunds(self, order_external_id: str) -> list[RefundData]:
        """``GET /orders/{id}/refunds``: each refund with its lines (restocked per ``restock_refunds``)."""
        order_id = str(order_external_id).strip()
        if not order_id.isdigit():
            return []
        try:
            refunds = list(self._all(f"/orders/{order_id}/refunds"))
        except StoreAPIError as error:
            if error.status == 404:
                return []
            raise
        return [schemas.refund_data(item, order_id, restock=self.restock_refunds)
                for item in sorted(refunds, key=lambda r: int(r.get("id") or 0))]

    def list_orders(self, modified_after: datetime, cursor: str | None = None) -> OrderPage:
        """``GET /orders?modified_after=…&orderby=modified&order=asc&dates_are_gmt=true``, oldest change first;
        the cursor is the page number; ``modified_through`` the last change on a page that has a next one."""
        page = _page_number(cursor)
        response = self._request("GET", "/orders", params={
            "page": page, "per_page": ORDERS_PAGE, "modified_after": schemas.iso_gmt(modified_after),
            "orderby": "modified", "order": "asc", "dates_are_gmt": "true"})
        orders = [schemas.order_data(o) for o in _items(response)]
        pages = _header_int(response, "X-WP-TotalPages")
        more = page < pages if pages is not None else len(orders) >= ORDERS_PAGE
        return OrderPage(orders, str(page + 1) if more else None, _modified_through(orders) if more else None)

    def annotate_order(self, order_external_id: str, invoice_number: str) -> None:
        """Add the private note "Mizan invoice <number>" to the order (``POST /orders/{id}/notes``), unless
        it has it already."""
        order_id = str(order_external_id).strip()
        if not order_id.isdigit():
            raise StoreAPIError(f"not a WooCommerce order id: {order_external_id!r}", retryable=False)
        note = INVOICE_NOTE.format(number=invoice_number)
        notes = self._call("GET", f"/orders/{order_id}/notes", missing_ok=True)
        if isinstance(notes, list) and any(isinstance(n, dict) and n.get("note") == note for n in notes):
            return
        self._call("POST", f"/orders/{order_id}/notes", json={"note": note, "customer_note": False})

    def fetch_product(self, sku: str) -> ProductData | None:
        """The product or variation with ``sku`` (``GET /products?sku=``), with its quantity."""
        return next((p for p in self._products_with(sku) if p.sku == sku), None)

    def push_stock(self, quantities: list[StockQuantity]) -> None:
        """Set absolute quantities: ``POST /products/batch`` for products, ``POST /products/{pid}/variations/batch``
        for variations (``stock_ref`` ``"pid/vid"``), 100 a call (half as many again on a 413). A quantity without
        a ``stock_ref`` is found by SKU. Whole units, rounded down; negatives are sent as 0."""
        products: dict[str, int] = {}
        variations: dict[str, dict[str, int]] = {}
        for entry in quantities:
            ref = entry.stock_ref or self._stock_ref(entry.sku)
            if not ref:
                log.warning("WooCommerce has no product with SKU %s; its stock is not pushed", entry.sku)
                continue
            parent, _, variation = ref.partition("/")
            if variation:
                variations.setdefault(parent, {})[variation] = _whole(entry.quantity)
            else:
                products[parent] = _whole(entry.quantity)
        self._batch("/products/batch", products)
        for parent, items in variations.items():
            self._batch(f"/products/{parent}/variations/batch", items)

    def push_product(self, product: ProductData) -> str:
        """Update the product or variation with this SKU (``PUT``), or create a simple product (``POST /products``)."""
        if not product.sku:
            raise StoreAPIError(f"product {product.name!r} has no SKU", retryable=False)
        price = product.price if self.gross_prices else schemas.net_price(product.price)
        fields: dict[str, Any] = {"regular_price": f"{price:.2f}"}
        if product.cost is not None:
            fields["cost_of_goods_sold"] = {"values": [{"defined_value": float(product.cost)}]}
        if product.barcode and product.barcode.isdigit():
            fields["global_unique_id"] = product.barcode
        existing = self.fetch_product(product.sku)
        if existing is not None:
            path = _product_path(existing.stock_ref or existing.external_id)
            if "/variations/" not in path:
                fields["name"] = product.name
            saved = self._call("PUT", path, json=fields)
            return str(saved.get("id") or existing.external_id)
        fields.update(name=product.name, type="simple", sku=product.sku, status="publish")
        if product.category_external_ids:
            fields["categories"] = [{"id": int(c)} for c in product.category_external_ids if str(c).isdigit()]
        if product.quantity is not None:
            fields.update(manage_stock=True, stock_quantity=_whole(product.quantity))
        saved = self._call("POST", "/products", json=fields)
        return str(saved["id"])

    # ------------------------------------------------------------ helpers

    def _environment(self) -> dict[str, Any]:
        if self._status is None:
            body = self._call("GET", "/system_status")
            self._status = body if isinstance(body, dict) else {}
        environment = self._status.get("environment")
        return environment if isinstance(environment, dict) else {}

    def _products(self, item: dict[str, Any]) -> list[ProductData]:
        """A product as ERP products: a variable one's variations (``GET /products/{id}/variations``), a grouped
        or external one none, else itself."""
        kind = schemas.product_type(item)
        if kind in ("grouped", "external"):
            return []
        if kind != "variable":
            return [schemas.product_data(item, gross=self.gross_prices)]
        parent = str(item["id"])
        name = html.unescape(str(item.get("name") or "")) or None
        return [schemas.product_data({**variation, "parent_id": variation.get("parent_id") or parent,
                                      "type": "variation"}, gross=self.gross_prices, parent_name=name)
                for variation in self._all(f"/products/{parent}/variations")]

    def _products_with(self, sku: str) -> list[ProductData]:
        response = self._request("GET", "/products", params={"sku": sku, "per_page": MAX_PAGE})
        return [p for item in _items(response) for p in self._products(item)]

    def _stock_ref(self, sku: str | None) -> str | None:
        found = self.fetch_product(sku) if sku else None
        return (found.stock_ref or found.external_id) if found is not None else None

    def _order(self, external_id: Any) -> dict[str, Any] | None:
        order_id = str(external_id).strip()
        if not order_id.isdigit():
            return None
        body = self._call("GET", f"/orders/{order_id}", missing_ok=True)
        return body if isinstance(body, dict) and body.get("id") is not None else None

    def _batch(self, path: str, quantities: dict[str, int]) -> None:
        items = [{"id": int(ident), "manage_stock": True, "stock_quantity": quantity}
                 for ident, quantity in quantities.items() if ident.isdigit()]
        for start in range(0, len(items), BATCH_LIMIT):
            self._send_batch(path, items[start:start + BATCH_LIMIT])

    def _send_batch(self, path: str, items: list[dict[str, Any]]) -> None:
        """One batch update; a 413 (the site's batch limit is lower than 100) halves it and tries both halves."""
        try:
            self._call("POST", path, json={"update": items})
        except StoreAPIError as error:
            if error.status != 413 or len(items) <= 1:
                raise
            half = len(items) // 2
            log.info("WooCommerce refused a batch of %d at %s (413); sending halves", len(items), path)
            self._send_batch(path, items[:half])
            self._send_batch(path, items[half:])

    def _all(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, 100 a page, following ``X-WP-TotalPages``."""
        page = 1
        while True:
            response = self._request("GET", path, params={**(params or {}), "page": page, "per_page": MAX_PAGE})
            items = _items(response)
            yield from items
            pages = _header_int(response, "X-WP-TotalPages")
            if (page >= pages) if pages is not None else len(items) < MAX_PAGE:
                return
            page += 1

    def _call(self, method: str, path: str, *, missing_ok: bool = False, **options: Any) -> Any:
        """One request's decoded JSON (``{}`` when empty), or ``None`` for a 404 when ``missing_ok``."""
        response = self._request(method, path, missing_ok=missing_ok, **options)
        return None if response is None else _json(response, method, path)

    def _request(self, method: str, path: str, *, missing_ok: bool = False, **options: Any) -> Any:
        """One request, tried again after a 429 or 503 (``Retry-After``, else a doubling back-off)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self._http.request(method, path, **options)
            except httpx.HTTPError as error:
                raise StoreAPIError(f"WooCommerce {method} {path}: {error}", retryable=True) from error
            status = response.status_code
            if status in (429, 503):
                wait = _retry_after(response, DEFAULT_BACKOFF * 2 ** (attempt - 1))
                if attempt < ATTEMPTS and wait <= MAX_WAIT:
                    self._sleep(wait)
                    continue
                if status == 429:
                    raise RateLimited(wait, f"WooCommerce {method} {path}: too many requests")
                raise StoreAPIError(f"WooCommerce {method} {path} is unavailable (503)", retryable=True, status=503)
            if status == 404 and missing_ok:
                return None
            if status in (401, 403):
                raise StoreAPIError(f"WooCommerce refused the API key ({status}): {_message(response)}",
                                    retryable=False, status=status)
            if status >= 400:
                raise StoreAPIError(f"WooCommerce {method} {path} answered {status}: {_message(response)}",
                                    retryable=status >= 500, status=status)
            if 300 <= status < 400:
                raise StoreAPIError(f"WooCommerce {method} {path} redirected ({status}) to "
                                    f"{response.headers.get('Location')}: check the store's address",
                                    retryable=False, status=status)
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def _json(response: httpx.Response, method: str, path: str) -> Any:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise StoreAPIError(f"WooCommerce {method} {path}: the answer is not JSON (is the REST API enabled?)",
                            retryable=False, status=response.status_code) from None


def _items(response: httpx.Response) -> list[dict[str, Any]]:
    body = _json(response, "GET", str(response.request.url.path))
    if not isinstance(body, list):
        raise StoreAPIError("WooCommerce's answer is not a list", retryable=False, status=response.status_code)
    return [item for item in body if isinstance(item, dict)]


def _product_path(stock_ref: str) -> str:
    parent, _, variation = stock_ref.partition("/")
    return f"/products/{parent}/variations/{variation}" if variation else f"/products/{parent}"


def _modified_through(orders: list[OrderData]) -> datetime | None:
    """A second before the last change on the page when the page lists changes oldest first, else ``None``: the
    reconciliation cursor only moves on proof. WooCommerce's times are to the second and ``modified_after`` is
    strictly after: an order of the next page changed in that same second is still found from there."""
    stamps = [o.modified_at for o in orders]
    if not stamps or any(s is None for s in stamps):
        return None
    known = [s for s in stamps if s is not None]
    return known[-1] - ONE_SECOND if known == sorted(known) else None


def _page_number(cursor: str | None) -> int:
    try:
        page = int(cursor) if cursor else 1
    except ValueError:
        page = 0
    if page < 1:
        raise StoreAPIError(f"not a WooCommerce page cursor: {cursor!r}", retryable=False)
    return page


def _catalog_cursor(cursor: str | None) -> tuple[int, int]:
    """A catalog cursor ``<page>[.<extra>]`` as its page and the products more than listed so far."""
    page_text, _, extra_text = (cursor or "").partition(".")
    try:
        extra = int(extra_text) if extra_text else 0
    except ValueError:
        raise StoreAPIError(f"not a WooCommerce page cursor: {cursor!r}", retryable=False) from None
    return _page_number(page_text or None), extra


def _header_int(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return default


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message") or body)[:200] if isinstance(body, dict) else str(body)[:200]


def _whole(quantity: Decimal) -> int:
    return max(0, int(Decimal(quantity).to_integral_value(rounding=ROUND_FLOOR)))
