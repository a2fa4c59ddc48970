"""The Salla Merchant API client: the core's StoreAPI for one Salla store."""
from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from urllib.parse import quote

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
from plugins.salla.schemas import (
    DEFAULT_API_BASE,
    category_data,
    order_data,
    product_data,
    refund_data,
)

PER_PAGE = 60  # Salla's maximum page size
GTIN_LENGTHS = {8, 12, 13, 14}
#: Salla's order list filters by the day an order was placed (``from_date``, store time), not by
#: when it changed: reconciliation lists the orders placed since this long before its cursor, so an
#: order placed earlier and completed since is found too. Older ones: ``flask stores send-orders``.
ORDER_LOOKBACK = timedelta(days=2)
STORE_TIME = timezone(timedelta(hours=3))  # Asia/Riyadh, the zone of Salla's dates
#: The status slug of a refunded ("restored", مسترجع) order; Salla refunds whole orders (platforms.md §1.5).
RESTORED_SLUG = "restored"
#: The order-history note that carries the ERP invoice number.
INVOICE_NOTE = "Mizan invoice {number}"


class SallaClient:
    """Calls one store's Merchant API with its access token (``Authorization: Bearer``).

    Errors: 401/403 and other 4xx → :class:`StoreAPIError` (not retryable); 429 →
    :class:`RateLimited` with ``Retry-After``; 5xx, timeouts and network errors → retryable.
    The client does not retry by itself: the core's jobs back off.
    """

    def __init__(self, credentials: Mapping[str, Any], *, timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.branch_id: int | None = credentials.get("branch_id")
        self._token: str | None = credentials.get("access_token")
        self._info: dict[str, Any] | None = None  # /store/info, once asked
        self._http = httpx.Client(
            base_url=(credentials.get("api_base") or DEFAULT_API_BASE).rstrip("/"),
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
            timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SallaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ StoreAPI

    def check_credentials(self) -> str:
        """``GET /store/info``: the store's name."""
        self._info = self._data("GET", "/store/info")
        return str(self._info["name"])

    def store_ref(self) -> str | None:
        """The merchant id (``GET /store/info``'s ``id``), which names the store in every webhook."""
        info = self._info or self._data("GET", "/store/info")
        return str(info["id"]) if info.get("id") not in (None, "") else None

    def register_webhooks(self, url: str) -> list[str]:
        """Nothing to do: Salla webhooks are set on the app and apply to every store."""
        return []

    def list_categories(self) -> Iterator[CategoryData]:
        """Every category, page by page, sub-categories included once."""
        seen: set[str] = set()
        page = 1
        while True:
            body = self._page("/categories", page)
            for item in body["data"]:
                for category in category_data(item):
                    if category.external_id not in seen:
                        seen.add(category.external_id)
                        yield category
            if not _has_next(body, page):
                return
            page += 1

    def list_products(self, cursor: str | None = None) -> ProductPage:
        """One page of 60 products; the cursor is the page number."""
        page = _page_number(cursor)
        body = self._page("/products", page)
        pagination = body.get("pagination") or {}
        total = pagination.get("total")
        return ProductPage(
            products=[product_data(item) for item in body["data"]],
            next_cursor=str(page + 1) if _has_next(body, page) else None,
            total=int(total) if total is not None else None)

    def fetch_order(self, number: str) -> OrderData | None:
        """The order whose ``reference_id`` is ``number`` (found by list, read in full by id)."""
        number = str(number).strip()
        if not number.isdigit():
            return None
        found = self._data("GET", "/orders", params={"reference_id": number})
        if not isinstance(found, list):
            raise StoreAPIError("Salla GET /orders: the answer has no list of data", retryable=False)
        order_id = next((o.get("id") for o in found
                         if isinstance(o, dict) and str(o.get("reference_id")) == number), None)
        if order_id is None:
            return None
        order = self._data("GET", f"/orders/{order_id}", missing_ok=True)
        return None if order is None else order_data(order)

    def fetch_order_by_id(self, external_id: str) -> OrderData | None:
        """``GET /orders/{id}``: the order in full, or ``None`` when the store has none."""
        order = self._order(external_id)
        return None if order is None else order_data(order)

    def list_refunds(self, order_external_id: str) -> list[RefundData]:
        """Salla has no refund list: a refunded order has the status ``restored`` and refunds the whole
        order, as ``order.refunded`` says (same refund id, so a refund booked from either is booked once)."""
        order = self._order(order_external_id)
        if order is None or (order.get("status") or {}).get("slug") != RESTORED_SLUG:
            return []
        return [refund_data(order)]

    def list_orders(self, modified_after: datetime, cursor: str | None = None) -> OrderPage:
        """``GET /orders?from_date=…`` (orders placed since :data:`ORDER_LOOKBACK` before
        ``modified_after``, newest first, 60 a page; the cursor is the page number), each read in full
        by ``GET /orders/{id}`` as the list holds a summary only."""
        page = _page_number(cursor)
        moment = modified_after if modified_after.tzinfo else modified_after.replace(tzinfo=UTC)
        since = (moment - ORDER_LOOKBACK).astimezone(STORE_TIME).date().isoformat()
        body = self._call("GET", "/orders", params={"from_date": since, "page": page, "per_page": PER_PAGE})
        if not isinstance(body.get("data"), list):
            raise StoreAPIError("Salla GET /orders: the answer has no list of data", retryable=False)
        orders = []
        for summary in body["data"]:
            order = self._order(summary.get("id")) if isinstance(summary, dict) else None
            if order is not None:
                orders.append(order_data(order))
        return OrderPage(orders, str(page + 1) if _has_next(body, page) else None)

    def annotate_order(self, order_external_id: str, invoice_number: str) -> None:
        """Append the note "Mizan invoice <number>" to the order's history (``POST
        /orders/{id}/histories``, scope ``orders.read_write``), unless a history entry has it already."""
        note = INVOICE_NOTE.format(number=invoice_number)
        path = f"/orders/{quote(str(order_external_id), safe='')}/histories"
        page = 1
        while True:
            body = self._page(path, page)
            if any(isinstance(h, dict) and h.get("note") == note for h in body["data"]):
                return
            if not _has_next(body, page):
                break
            page += 1
        self._data("POST", path, json={"note": note})

    def fetch_product(self, sku: str) -> ProductData | None:
        """``GET /products/sku/{sku}``, or ``None`` when the store has no such SKU."""
        product = self._product_by_sku(sku)
        return None if product is None else product_data(product)

    def push_stock(self, quantities: list[StockQuantity]) -> None:
        """One ``POST /products/quantities/bulk``, overwriting (in ``branch_id`` when set).

        Each quantity names the store product it is linked to (``stock_ref``: the Salla product id),
        so it reaches that product whatever its SKU is now; an unlinked quantity names its SKU.
        Salla counts whole units: quantities are rounded down, and negatives sent as 0.
        """
        branch = {} if self.branch_id is None else {"branch": self.branch_id}
        entries = [{**_identifier(q), "quantity": _whole(q.quantity), "mode": "overwrite", **branch}
                   for q in quantities if q.stock_ref or q.sku]
        if entries:
            self._data("POST", "/products/quantities/bulk", json={"products": entries})

    def push_product(self, product: ProductData) -> str:
        """Update the store product with this SKU, or create it (hidden until it has an image)."""
        if not product.sku:
            raise StoreAPIError(f"product {product.name!r} has no SKU", retryable=False)
        fields = _product_fields(product)
        existing = self._product_by_sku(product.sku)
        if existing is not None:
            saved = self._data("PUT", f"/products/{existing['id']}", json=fields)
        else:
            if product.quantity is not None:
                fields["quantity"] = _whole(product.quantity)
            saved = self._data("POST", "/products", json={**fields, "product_type": "product"})
        return str(saved["id"])

    # ------------------------------------------------------------ HTTP

    def _order(self, external_id: Any) -> dict[str, Any] | None:
        if not str(external_id).isdigit():
            return None
        return self._data("GET", f"/orders/{external_id}", missing_ok=True)

    def _product_by_sku(self, sku: str) -> dict[str, Any] | None:
        return self._data("GET", f"/products/sku/{quote(sku, safe='')}", missing_ok=True)

    def _page(self, path: str, page: int) -> dict[str, Any]:
        body = self._call("GET", path, params={"page": page, "per_page": PER_PAGE})
        if not isinstance(body.get("data"), list):
            raise StoreAPIError(f"Salla GET {path}: the answer has no list of data", retryable=False)
        return body

    def _data(self, method: str, path: str, *, missing_ok: bool = False, **options: Any) -> Any:
        body = self._call(method, path, missing_ok=missing_ok, **options)
        if body is None:
            return None
        if "data" not in body:
            raise StoreAPIError(f"Salla {method} {path}: the answer has no data", retryable=False)
        return body["data"]

    def _call(self, method: str, path: str, *, missing_ok: bool = False, **options: Any) -> Any:
        """One request; the decoded JSON body, or ``None`` for a 404 when ``missing_ok``."""
        if not self._token:
            raise StoreAPIError("no access token yet: install or authorize the Salla app", retryable=False)
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise StoreAPIError(f"Salla {method} {path}: {error}", retryable=True) from error
        status = response.status_code
        if status == 429:
            raise RateLimited(_retry_after(response), f"Salla {method} {path}: too many requests")
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise StoreAPIError(f"Salla {method} {path} answered {status}: {_message(response)}",
                                retryable=status >= 500, status=status)
        try:
            body = response.json()
        except ValueError:
            raise StoreAPIError(f"Salla {method} {path}: the answer is not JSON", retryable=True,
                                status=status) from None
        if not isinstance(body, dict):
            raise StoreAPIError(f"Salla {method} {path}: the answer is not an object", retryable=False)
        return body


def _page_number(cursor: str | None) -> int:
    try:
        page = int(cursor) if cursor else 1
    except ValueError:
        page = 0
    if page < 1:
        raise StoreAPIError(f"not a Salla page cursor: {cursor!r}", retryable=False)
    return page


def _has_next(body: dict[str, Any], page: int) -> bool:
    pagination = body.get("pagination") or {}
    if pagination.get("totalPages") is not None:
        return int(pagination.get("currentPage") or page) < int(pagination["totalPages"])
    return bool((pagination.get("links") or {}).get("next"))


def _retry_after(response: httpx.Response) -> float:
    """Seconds to wait: ``Retry-After``, else until ``X-RateLimit-Reset`` (epoch), else 1."""
    for name, relative in (("Retry-After", True), ("X-RateLimit-Reset", False)):
        value = response.headers.get(name)
        try:
            seconds = float(value) if relative else float(value) - time.time()
        except (TypeError, ValueError):
            continue
        return max(0.0, seconds)
    return 1.0


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return response.text[:200]
    fields = error.get("fields")
    return f"{error.get('message', '')} {fields}" if fields else str(error.get("message", ""))


def _identifier(quantity: StockQuantity) -> dict[str, str]:
    if quantity.stock_ref:
        return {"identifer_type": "id", "identifer": quantity.stock_ref}
    return {"identifer_type": "sku", "identifer": str(quantity.sku)}


def _whole(quantity: Decimal) -> int:
    return max(0, int(Decimal(quantity).to_integral_value(rounding=ROUND_FLOOR)))


def _product_fields(product: ProductData) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": product.name, "price": float(product.price), "sku": product.sku}
    if product.cost is not None:
        fields["cost_price"] = float(product.cost)
    if product.barcode:
        kind = "gtin" if product.barcode.isdigit() and len(product.barcode) in GTIN_LENGTHS else "mpn"
        fields[kind] = product.barcode
    categories = [int(c) for c in product.category_external_ids if c.isdigit()]
    if categories:
        fields["categories"] = categories
    return fields
