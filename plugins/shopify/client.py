"""Shopify Admin API client (GraphQL, plus the REST order lookup): the store API the core calls."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

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
from plugins.shopify import schemas
from plugins.shopify.schemas import gid, legacy_id, nodes

API_VERSION = "2026-01"
#: Variants per catalog page; collections read per product.
PAGE_SIZE = 50
COLLECTIONS_PER_PRODUCT = 5
#: Shopify's cap on page sizes and on input arrays (inventorySetQuantities quantities).
MAX_QUANTITIES = 250
COLLECTIONS_PAGE = 250
DEFAULT_RETRY_AFTER = 2.0
#: Orders per page of ``orders.json`` when reconciling (Shopify's maximum).
ORDERS_PAGE = 250
#: The tag that carries the ERP invoice number on a store order (Shopify tags hold ≤ 40 characters).
INVOICE_TAG = "Mizan {number}"

log = logging.getLogger(__name__)

_VARIANT_FIELDS = f"""id title sku barcode price inventoryQuantity
  inventoryItem {{ id unitCost {{ amount }} }}
  product {{ id title collections(first: {COLLECTIONS_PER_PRODUCT}) {{ nodes {{ id }} }} }}"""

#: The catalog is read variant by variant: one ProductData each, and a query cost near 550
#: (products with nested variants would exceed Shopify's 1,000-point cap at 50 per page).
VARIANTS = f"""query Variants($first: Int!, $after: String) {{
  productVariants(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {_VARIANT_FIELDS} }}
  }}
}}"""
VARIANT_DATA_BY_SKU = f"""query VariantDataBySku($query: String!) {{
  productVariants(first: 1, query: $query) {{ nodes {{ {_VARIANT_FIELDS} }} }}
}}"""
VARIANT_BY_SKU = """query VariantBySku($query: String!) {
  productVariants(first: 1, query: $query) { nodes { id sku product { id } inventoryItem { id } } }
}"""
COLLECTIONS = """query Collections($first: Int!, $after: String) {
  collections(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { id title }
  }
}"""
FIRST_LOCATION = "query { locations(first: 1) { nodes { id } } }"
LOCATIONS = "query { locations(first: 50) { nodes { id name isActive } } }"
SUBSCRIPTIONS = """query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { id topic uri }
  }
}"""
SUBSCRIBE = """mutation Subscribe($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic } userErrors { field message }
  }
}"""
SET_QUANTITIES = """mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id } userErrors { field message code }
  }
}"""
PRODUCT_CREATE = """mutation ProductCreate($product: ProductCreateInput!) {
  productCreate(product: $product) {
    product { id variants(first: 1) { nodes { id } } } userErrors { field message }
  }
}"""
PRODUCT_UPDATE = """mutation ProductUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id } userErrors { field message } }
}"""
VARIANTS_UPDATE = """mutation VariantsUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id } userErrors { field message }
  }
}"""


class ShopifyClient:
    """One shop's Admin API, from the store's credentials (see ``ShopifyCredentialsSchema``).

    Errors: 401/403 → :class:`StoreAPIError` (not retryable); 429 or a GraphQL "Throttled"
    error → :class:`RateLimited`; 5xx and network failures → retryable :class:`StoreAPIError`.
    """

    def __init__(self, credentials: dict[str, Any], *, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        domain = credentials["shop_domain"]
        base = (credentials.get("api_base") or f"https://{domain}").rstrip("/")
        self.location_id: str | None = (gid("Location", credentials["location_id"])
                                        if credentials.get("location_id") else None)
        self._http = httpx.Client(
            base_url=f"{base}/admin/api/{API_VERSION}", timeout=timeout, transport=transport,
            headers={"X-Shopify-Access-Token": credentials["access_token"], "Accept": "application/json"},
        )
        self._items: dict[str, str | None] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the store API ---------------------------------------------------------------

    def check_credentials(self) -> str:
        """The shop's name; raises when the token is refused."""
        return self.graphql("query { shop { name } }")["shop"]["name"]

    def register_webhooks(self, subscriptions: list[WebhookSubscription]) -> list[str]:
        """Subscribe each topic to its URL (once: existing subscriptions are kept). Shopify signs with
        the app's client secret, so a subscription carries no secret of its own."""
        existing = {(node["topic"], node["uri"]) for node in self._subscriptions()}
        for subscription in subscriptions:
            enum = _topic_enum(subscription.topic)
            if (enum, subscription.url) in existing:
                continue
            answer = self.graphql(SUBSCRIBE, topic=enum, subscription={"uri": subscription.url, "format": "JSON"})
            errors = [e for e in answer["webhookSubscriptionCreate"]["userErrors"]
                      if "already been taken" not in e["message"]]
            _raise_user_errors(f"subscribing {subscription.topic}", errors)
        return [subscription.topic for subscription in subscriptions]

    def list_categories(self) -> Iterator[CategoryData]:
        """Every collection, page by page."""
        after = None
        while True:
            page = self.graphql(COLLECTIONS, first=COLLECTIONS_PAGE, after=after)["collections"]
            yield from (schemas.category_data(node) for node in nodes(page))
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def list_products(self, cursor: str | None = None, *, page_size: int = PAGE_SIZE) -> ProductPage:
        """One page of the catalog, one ProductData per variant, and the cursor of the next page."""
        page = self.graphql(VARIANTS, first=page_size, after=cursor)["productVariants"]
        info = page["pageInfo"]
        return ProductPage([schemas.variant_data(node) for node in nodes(page)],
                           info["endCursor"] if info["hasNextPage"] else None)

    def fetch_order(self, number: str) -> OrderData | None:
        """The order named ``number`` ("#1001" or "1001"), whatever its status; None when absent."""
        name = number.strip()
        name = f"#{name}" if name.isdigit() else name
        body = self._send("GET", "/orders.json", params={"name": name, "status": "any"})
        orders = [o for o in body.get("orders") or [] if o.get("name") == name]
        return schemas.order_data(orders[0]) if orders else None

    def fetch_order_by_id(self, external_id: str) -> OrderData | None:
        """``GET orders/{id}.json``: the order, or None when the shop has no such order."""
        order = self._order_resource(external_id)
        return None if order is None else schemas.order_data(order)

    def list_refunds(self, order_external_id: str) -> list[RefundData]:
        """``GET orders/{id}/refunds.json``: every refund of the order (none when it is unknown)."""
        if not str(order_external_id).isdigit():
            return []
        body = self._get_or_none(f"/orders/{order_external_id}/refunds.json")
        return [schemas.refund_data(refund) for refund in (body or {}).get("refunds") or []]

    def list_orders(self, modified_after: datetime, cursor: str | None = None) -> OrderPage:
        """``GET orders.json?updated_at_min=…&status=any&order=updated_at asc``, 250 a page; the
        cursor is the ``page_info`` of the ``Link: <…>; rel="next"`` header. Oldest change first,
        so each page says up to when every changed order has been listed."""
        if cursor:
            params: dict[str, Any] = {"limit": ORDERS_PAGE, "page_info": cursor}
        else:
            moment = modified_after if modified_after.tzinfo else modified_after.replace(tzinfo=UTC)
            params = {"limit": ORDERS_PAGE, "status": "any", "order": "updated_at asc",
                      "updated_at_min": moment.astimezone(UTC).isoformat(timespec="seconds")}
        response = self._request("GET", "/orders.json", params=params)
        body = self._json(response)
        raw = [o for o in body.get("orders") or [] if isinstance(o, dict)]
        stamps = [_updated_at(o) for o in raw]
        next_cursor = _next_page_info(response.headers.get("Link"))
        through = max((s for s in stamps if s is not None), default=None) if next_cursor else None
        return OrderPage([schemas.order_data(o) for o in raw], next_cursor, through)

    def annotate_order(self, order_external_id: str, invoice_number: str) -> None:
        """Add the tag "Mizan <invoice number>" to the order (``PUT orders/{id}.json``, keeping
        its other tags); nothing is sent when the tag is there already."""
        order = self._order_resource(order_external_id)
        if order is None:
            raise StoreAPIError(f"Shopify has no order {order_external_id}", retryable=False, status=404)
        tags = [t.strip() for t in str(order.get("tags") or "").split(",") if t.strip()]
        tag = INVOICE_TAG.format(number=invoice_number).replace(",", " ")[:40]
        if tag in tags:
            return
        self._send("PUT", f"/orders/{order['id']}.json",
                   json={"order": {"id": order["id"], "tags": ", ".join([*tags, tag])}})

    def fetch_product(self, sku: str) -> ProductData | None:
        """The variant with ``sku`` (with its product's collections), or None."""
        found = nodes(self.graphql(VARIANT_DATA_BY_SKU, query=_sku_query(sku))["productVariants"])
        return next((schemas.variant_data(node) for node in found if node.get("sku") == sku), None)

    def push_stock(self, quantities: list[StockQuantity]) -> None:
        """Set the available quantities at the linked location, ≤250 per ``inventorySetQuantities``.

        Each quantity names its inventory item by ``stock_ref`` or, failing that, by its SKU;
        an SKU the shop does not have is skipped (logged). The last quantity of an item wins.
        """
        location = self.location()
        wanted: dict[str, int] = {}
        for entry in quantities:
            item = gid("InventoryItem", entry.stock_ref) if entry.stock_ref else self.inventory_item(entry.sku)
            if item is None:
                log.warning("Shopify has no variant with SKU %s; its stock is not pushed", entry.sku)
                continue
            wanted.pop(item, None)
            wanted[item] = int(entry.quantity)
        items = list(wanted.items())
        for start in range(0, len(items), MAX_QUANTITIES):
            chunk = items[start:start + MAX_QUANTITIES]
            errors = self._set_quantities(location, chunk)
            bad = {_quantity_index(e) for e in errors}
            if errors and None not in bad and len(bad) < len(chunk):
                # Shopify sets all or nothing: leave out the items it refused, send the rest again.
                log.warning("Shopify refused some quantities, sent without them: %s", _messages(errors))
                errors = self._set_quantities(location, [q for i, q in enumerate(chunk) if i not in bad])
            _raise_user_errors("setting quantities", errors)

    def push_product(self, product: ProductData) -> str:
        """Create the product (or update the variant with its SKU); returns the variant's id."""
        if not product.sku:
            raise StoreAPIError(f"product {product.name!r} has no SKU", retryable=False)
        found = self._variant(product.sku)
        if found is None:
            created = self.graphql(PRODUCT_CREATE, product={
                "title": product.name, "status": "ACTIVE",
                "collectionsToJoin": [gid("Collection", c) for c in product.category_external_ids]})
            _raise_user_errors("creating the product", created["productCreate"]["userErrors"])
            product_id = created["productCreate"]["product"]["id"]
            variant_id = nodes(created["productCreate"]["product"]["variants"])[0]["id"]
        else:
            product_id, variant_id = found["product"]["id"], found["id"]
            updated = self.graphql(PRODUCT_UPDATE, product={"id": product_id, "title": product.name})
            _raise_user_errors("updating the product", updated["productUpdate"]["userErrors"])
        item: dict[str, Any] = {"sku": product.sku}
        if product.cost is not None:
            item["cost"] = str(product.cost)
        variant: dict[str, Any] = {"id": variant_id, "price": str(product.price), "inventoryItem": item}
        if product.barcode:
            variant["barcode"] = product.barcode
        answer = self.graphql(VARIANTS_UPDATE, productId=product_id, variants=[variant])
        _raise_user_errors("updating the variant", answer["productVariantsBulkUpdate"]["userErrors"])
        self._items.pop(product.sku, None)
        return legacy_id(variant_id)

    def list_locations(self) -> list[LocationData]:
        """The shop's active locations (up to 50); the first is the default, as :meth:`location` uses it."""
        found = nodes(self.graphql(LOCATIONS)["locations"])
        return [LocationData(legacy_id(node["id"]), str(node.get("name") or legacy_id(node["id"])), is_default=i == 0)
                for i, node in enumerate(found) if node.get("isActive", True)]

    # -- helpers -----------------------------------------------------------------------

    def location(self) -> str:
        """The configured location's gid, else the shop's first location (looked up once)."""
        if self.location_id is None:
            locations = nodes(self.graphql(FIRST_LOCATION)["locations"])
            if not locations:
                raise StoreAPIError("the shop has no location", retryable=False)
            self.location_id = locations[0]["id"]
        return self.location_id

    def _set_quantities(self, location: str, chunk: list[tuple[str, int]]) -> list[dict[str, Any]]:
        answer = self.graphql(SET_QUANTITIES, key=str(uuid.uuid4()), input={
            "name": "available", "reason": "correction", "ignoreCompareQuantity": True,
            "referenceDocumentUri": "gid://mizan/StockPush/" + uuid.uuid4().hex,
            "quantities": [{"inventoryItemId": item, "locationId": location, "quantity": quantity,
                            "changeFromQuantity": None} for item, quantity in chunk],
        })
        return answer["inventorySetQuantities"]["userErrors"]

    def inventory_item(self, sku: str) -> str | None:
        """The gid of the inventory item of the variant with ``sku`` (cached), or None."""
        if sku not in self._items:
            found = self._variant(sku)
            self._items[sku] = found["inventoryItem"]["id"] if found else None
        return self._items[sku]

    def graphql(self, operation: str, /, **variables: Any) -> dict[str, Any]:
        """Run one GraphQL operation with ``variables``; its ``data``, or the error it deserves."""
        body = self._send("POST", "/graphql.json", json={"query": operation, "variables": variables})
        errors = body.get("errors")
        if errors:
            if isinstance(errors, list) and any(_throttled(e) for e in errors):
                raise RateLimited(_retry_after_from_cost(body), "Shopify throttled the GraphQL query")
            raise StoreAPIError(f"Shopify GraphQL error: {_messages(errors)}", retryable=False)
        if not isinstance(body.get("data"), dict):
            raise StoreAPIError("Shopify answered GraphQL without data", retryable=True)
        return body["data"]

    def _order_resource(self, external_id: str) -> dict[str, Any] | None:
        if not str(external_id).isdigit():
            return None
        body = self._get_or_none(f"/orders/{external_id}.json")
        order = (body or {}).get("order")
        return order if isinstance(order, dict) else None

    def _send(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        return self._json(self._request(method, path, **options))

    def _get_or_none(self, path: str) -> dict[str, Any] | None:
        """A REST ``GET``'s body, or None when Shopify answers 404."""
        response = self._request("GET", path)
        return None if response.status_code == 404 else self._json(response)

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise StoreAPIError(f"Shopify is unreachable: {error}", retryable=True) from error
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 429:
            raise RateLimited(_retry_after(response.headers.get("Retry-After")))
        if status in (401, 403):
            raise StoreAPIError(f"Shopify refused the access token ({status}): {_text(response)}",
                                retryable=False, status=status)
        if status >= 500:
            raise StoreAPIError(f"Shopify failed ({status})", retryable=True, status=status)
        if status >= 400:
            raise StoreAPIError(f"Shopify answered {status}: {_text(response)}", retryable=False, status=status)
        try:
            body = response.json()
        except ValueError as error:
            raise StoreAPIError("Shopify answered with something other than JSON", retryable=True,
                                status=status) from error
        if not isinstance(body, dict):
            raise StoreAPIError("Shopify answered with unexpected JSON", retryable=True, status=status)
        return body

    def _subscriptions(self) -> Iterator[dict[str, Any]]:
        after = None
        while True:
            page = self.graphql(SUBSCRIPTIONS, after=after)["webhookSubscriptions"]
            yield from nodes(page)
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def _variant(self, sku: str) -> dict[str, Any] | None:
        found = nodes(self.graphql(VARIANT_BY_SKU, query=_sku_query(sku))["productVariants"])
        return next((node for node in found if node.get("sku") == sku), None)


def _updated_at(order: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(order.get("updated_at")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _next_page_info(link: str | None) -> str | None:
    """The ``page_info`` of the ``rel="next"`` entry of a ``Link`` header, if any."""
    for part in (link or "").split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' not in params.replace(" ", ""):
            continue
        query = httpx.URL(url.strip().strip("<>")).params
        if query.get("page_info"):
            return query["page_info"]
    return None


def _sku_query(sku: str) -> str:
    return 'sku:"{}"'.format(sku.replace("\\", "\\\\").replace('"', '\\"'))


def _topic_enum(topic: str) -> str:
    return topic.upper().replace("/", "_")


def _throttled(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    code = (error.get("extensions") or {}).get("code")
    return error.get("message") == "Throttled" or code == "THROTTLED"


def _retry_after(value: str | None) -> float:
    try:
        return max(float(value), 0.0) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _retry_after_from_cost(body: dict[str, Any]) -> float:
    """Seconds until the bucket holds the query's cost again (``extensions.cost``)."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        return max(1.0, missing / float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return DEFAULT_RETRY_AFTER


def _quantity_index(error: dict[str, Any]) -> int | None:
    """The index of the quantity a userError names (``["input", "quantities", "3", ...]``)."""
    path = error.get("field") or []
    if len(path) > 2 and path[:2] == ["input", "quantities"] and str(path[2]).isdigit():
        return int(path[2])
    return None


def _raise_user_errors(action: str, errors: list[dict[str, Any]]) -> None:
    if errors:
        raise StoreAPIError(f"Shopify refused {action}: {_messages(errors)}", retryable=False)


def _messages(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return str(errors)


def _text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return _messages(body.get("errors", body)) if isinstance(body, dict) else str(body)[:200]
