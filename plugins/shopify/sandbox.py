"""An in-memory Shopify store over HTTP: the Admin API a connector calls, plus signed webhooks.

API choice (platforms.md §3.7): the **GraphQL Admin API** at ``POST /admin/api/2026-01/graphql.json``
(version in :data:`API_VERSION`) for ``shop``, ``locations``, ``products``/``product``/``productVariants``
(cursor pagination), ``collections`` (the ERP's categories), ``webhookSubscriptions``, and the mutations
``productCreate``, ``productUpdate``, ``productVariantsBulkUpdate``, ``inventorySetQuantities``,
``webhookSubscriptionCreate``/``Delete``; plus the legacy **REST order resource** for fetching an order
by hand: ``GET /admin/api/2026-01/orders.json?name=%231001&status=any`` and ``GET .../orders/{id}.json``,
whose body is the same order payload the order webhooks carry (one order parser for the connector).

The GraphQL side is not a GraphQL server: a small tokenizer finds the operation's root fields (aliases
kept), each answered by a handler that reads its arguments from ``variables`` (inline scalars and enums
work too; inline input objects do not - pass them as variables) and returns the **full node shape
whatever the selection set**. Nested connections (variants, collections, inventoryLevels) return all
their nodes. Connections carry both ``edges{cursor node}`` and ``nodes``, and ``pageInfo``.

Auth: header ``X-Shopify-Access-Token``; otherwise 401 ``{"errors": "[API] Invalid API key or access
token ..."}``. Rate limits: GraphQL responses carry ``extensions.cost`` (requested cost: connections
``2 + first``, single objects 1, mutations 10; charged in full) from :attr:`ShopifySandbox.bucket`;
REST calls count 1 each in :attr:`ShopifySandbox.rest_bucket` (40, leak 2/s) and carry
``X-Shopify-Shop-Api-Call-Limit: n/40``. An empty bucket answers **HTTP 429 with Retry-After** (real
GraphQL answers 200 with ``errors[{message: "Throttled"}]``; the sandbox sends that body with the 429).

Webhooks are POSTed with Shopify's headers and a base64 HMAC-SHA256 of the raw body keyed with the
client secret, to the default target (:meth:`ShopifySandbox.set_webhook_target`) and to every
``webhookSubscriptionCreate`` address for the topic (one delivery per distinct URL, http allowed).
No automatic retries: :meth:`ShopifySandbox.redeliver` re-sends a delivery with the same webhook id.
Deliveries caused by Python/control calls are synchronous; those caused by API mutations run in a
background thread (:meth:`ShopifySandbox.flush` waits for them). Order amounts: see :func:`order_amounts`;
refunds: :meth:`ShopifySandbox.refund`. A blank SKU is ``""`` in product payloads, null in GraphQL and
in order line items. Ids are plain ints in REST payloads and ``gid://shopify/Kind/123`` in GraphQL.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import heapq
import hmac
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from flask import Flask, Response, jsonify, request

from core.testing.sandbox import (
    LeakyBucket,
    RecordedRequest,
    RequestLog,
    SandboxServer,
    TickingClock,
    serve_until_interrupted,
)
from core.testing.sandbox_page import PageOrder, PageProduct, add_control_page

API_VERSION = "2026-01"
API_PREFIX = f"/admin/api/{API_VERSION}"
DEFAULT_SHOP = "mizan-demo.myshopify.com"
DEFAULT_TOKEN = "shpat_mizan_sandbox_token"
DEFAULT_SECRET = "mizan-sandbox-client-secret"
DEFAULT_LOCATION_IDS = (71000000001, 71000000002)
LOCATION_NAMES = ("Riyadh warehouse", "Jeddah showroom")
TOPICS = ("orders/create", "orders/paid", "orders/fulfilled", "orders/cancelled", "refunds/create",
          "products/create", "products/update", "inventory_items/update")
SUBSCRIBABLE_TOPICS = TOPICS + ("orders/updated", "products/delete", "inventory_levels/update",
                                "app/uninstalled")
MAX_INPUT_ITEMS = 250
INVENTORY_REASONS = frozenset({
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
    "movement_received", "movement_canceled", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock",
    "shrinkage",
})
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
DEMO_CUSTOMER = {"first_name": "Noura", "last_name": "Al-Qahtani", "email": "noura@example.sa",
                 "phone": "+966500000001"}
DEMO_ADDRESS = {"address1": "King Fahd Road 12", "city": "Riyadh", "zip": "12211",
                "country": "Saudi Arabia", "country_code": "SA"}
RIYADH = timezone(timedelta(hours=3))
#: The store's clock (see :class:`TickingClock`); the drivers make it tick while capturing webhooks.
CLOCK = TickingClock(RIYADH)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def money(value: object) -> Decimal:
    """Round to 0.01, half up (away from zero)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: object, kind: str) -> int | None:
    """The number in ``gid://shopify/{kind}/123`` (or a bare 123); None when it names something else."""
    text = str(value)
    if text.isdigit():
        return int(text)
    match = re.fullmatch(rf"gid://shopify/{kind}/(\d+)", text)
    return int(match.group(1)) if match else None


class _BadRequest(Exception):
    """A REST request Shopify answers with 400 ``{"errors": {...}}``."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _timestamp(value: str, name: str) -> datetime:
    """An ISO 8601 time from a query parameter (a zone-less one is taken as UTC); 400 otherwise."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise _BadRequest({name: "Invalid value."}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def now() -> str:
    return CLOCK.read().isoformat(timespec="seconds")



def tax_of(amount: Decimal, rate: Decimal, included: bool) -> Decimal:
    """Tax on ``amount``: ``amount*rate/(1+rate)`` when it includes tax, else ``amount*rate``; half up."""
    return money(amount * rate / (1 + rate) if included else amount * rate)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights``, each share rounded; the largest takes the rest."""
    base = sum(weights, ZERO)
    if not total or not base:
        return [ZERO for _ in weights]
    shares = [money(total * weight / base) for weight in weights]
    largest = max(range(len(weights)), key=lambda i: weights[i])
    shares[largest] += total - sum(shares, ZERO)
    return shares


def order_amounts(lines: Sequence[tuple[Decimal, int]], shipping: Decimal, discount: str | None,
                  tax_rate: Decimal, taxes_included: bool) -> dict[str, Any]:
    """The sandbox's order arithmetic, all in Decimal, each rounding half up to 0.01.

    ``lines`` are (unit price, quantity); prices and ``shipping`` include tax iff ``taxes_included``.

    1. line price ``g_i = round(price_i * qty_i)``; ``total_line_items_price = sum(g_i)``.
    2. discount ``D``: ``"10%"`` -> ``round(total_line_items_price * 10/100)``, ``"5.00"`` -> min(5.00,
       total_line_items_price). ``D`` is allocated to lines in proportion to ``g_i``, each share
       ``a_i = round(D * g_i / sum(g))``, the line with the largest ``g_i`` absorbing the rounding rest.
       ``a_i`` is the line's ``discount_allocations[0].amount`` and its ``total_discount``;
       ``total_discounts = D``. Shipping is never discounted (``discounted_price = price``).
    3. line tax ``t_i = tax_of(g_i - a_i)``, shipping tax ``t_s = tax_of(shipping)`` where
       ``tax_of(x) = round(x*r/(1+r))`` if taxes_included else ``round(x*r)``; each is the single entry
       of that line's ``tax_lines``. ``total_tax = sum(t_i) + t_s``.
    4. ``subtotal_price = total_line_items_price - D`` (excludes shipping; includes tax iff included).
    5. ``total_price = subtotal_price + shipping + (0 if taxes_included else total_tax)``.
    """
    gross = [money(price * qty) for price, qty in lines]
    total_lines = sum(gross, ZERO)
    discount_total = ZERO
    if discount:
        text = str(discount).strip()
        discount_total = (money(total_lines * Decimal(text[:-1]) / 100) if text.endswith("%")
                          else min(money(text), total_lines))
    allocations = allocate(discount_total, gross)
    line_taxes = [tax_of(g - a, tax_rate, taxes_included) for g, a in zip(gross, allocations, strict=True)]
    shipping_tax = tax_of(shipping, tax_rate, taxes_included)
    total_tax = sum(line_taxes, ZERO) + shipping_tax
    subtotal = total_lines - discount_total
    return {
        "gross": gross, "allocations": allocations, "line_taxes": line_taxes,
        "shipping_tax": shipping_tax, "total_line_items_price": total_lines,
        "total_discounts": discount_total, "subtotal_price": subtotal, "total_tax": total_tax,
        "total_price": subtotal + shipping + (ZERO if taxes_included else total_tax),
    }


# --- the GraphQL reading ---------------------------------------------------------------------

_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|#[^\n]*|\.\.\.|[_A-Za-z]\w*|\S')
_ARGUMENT = re.compile(r'(\w+)\s*:\s*(\$\w+|"(?:\\.|[^"\\])*"|-?\d+|true|false|null|[A-Z][A-Z0-9_]*)')
_NESTED = re.compile(r'\{[^{}\[\]]*\}|\[[^{}\[\]]*\]')


class GraphQLError(Exception):
    """A top-level GraphQL error (``errors[]``), with its ``extensions.code``."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.code = code


def root_fields(query: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The operation type and its top-level fields as (response key, field name, argument text)."""
    kind, header, fields = "query", [], []
    depth = parens = directive = 0
    skipping = alias = False
    args_from = -1
    for match in _TOKENS.finditer(query):
        token = match.group()
        if token[0] in '"#':
            continue
        if token == "(":
            parens += 1
            if parens == 1 and depth == 1 and not skipping and fields and not directive:
                args_from = match.end()
        elif token == ")":
            parens -= 1
            if parens == 0:
                if args_from >= 0:
                    fields[-1] = (*fields[-1][:2], query[args_from:match.start()])
                args_from, directive = -1, 0
        elif parens:
            continue
        elif depth == 0 and token != "{":
            header.append(token)
        elif token == "{":
            if depth == 0:
                skipping = header[:1] == ["fragment"]
                kind = header[0] if header and not skipping else kind
                header = []
            depth, directive = depth + 1, 0
        elif token == "}":
            depth -= 1
            if depth == 0 and not skipping:
                break
        elif depth == 1 and not skipping:
            if token == "@":
                directive = 1
            elif directive == 1:
                directive = 2
            elif token == ":":
                alias = True
            elif token[0].isalpha() or token[0] == "_":
                directive = 0
                if alias:
                    fields[-1], alias = (fields[-1][0], token, ""), False
                else:
                    fields.append((token, token, ""))
    return kind, fields


def parse_arguments(text: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Top-level arguments: ``$variables``, strings, ints, booleans, null and enums (not objects)."""
    while _NESTED.search(text):
        text = _NESTED.sub("\x00", text)
    values: dict[str, Any] = {}
    for name, raw in _ARGUMENT.findall(text):
        if raw.startswith("$"):
            values[name] = variables.get(raw[1:])
        elif raw[0] == '"' or raw[0].isdigit() or raw[0] == "-" or raw in ("true", "false", "null"):
            values[name] = json.loads(raw)
        else:
            values[name] = raw
    return values


def _connection(nodes: list[dict], cursors: list[str] | None = None, has_next: bool = False) -> dict:
    cursors = cursors or [_cursor(node.get("legacyResourceId", i)) for i, node in enumerate(nodes)]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": False,
                     "startCursor": cursors[0] if cursors else None,
                     "endCursor": cursors[-1] if cursors else None},
    }


def _cursor(last_id: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": int(last_id)}).encode()).decode()


def _after(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from exc


def _page(items: Iterable[tuple[int, Any]], args: dict[str, Any],
          node: Callable[[Any], dict] | None = None) -> dict:
    """One page of (id, item) pairs in id order, after the ``after`` cursor. ``node`` turns an item
    into its node, and only the page's items are turned (linear in the catalog, not quadratic)."""
    first = args.get("first")
    if not isinstance(first, int):
        raise GraphQLError("you must provide one of first or last")
    if not 0 <= first <= MAX_INPUT_ITEMS:
        raise GraphQLError(f"The page size {first} must be between 0 and {MAX_INPUT_ITEMS}", "MAX_PAGE_SIZE")
    after = _after(args.get("after"))
    rest = heapq.nsmallest(first + 1, (pair for pair in items if pair[0] > after), key=lambda pair: pair[0])
    page = rest[:first]
    build = node or (lambda item: item)
    return _connection([build(item) for _, item in page], [_cursor(n) for n, _ in page], len(rest) > first)


def _user_error(field_path: list[str], message: str, code: str | None = None) -> dict:
    error: dict[str, Any] = {"field": field_path, "message": message}
    if code:
        error["code"] = code
    return error


# --- webhook deliveries ------------------------------------------------------------------------

@dataclass
class Delivery:
    """One webhook POST: what was sent where, and what the receiver answered."""

    topic: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None
    response: httpx.Response | None = field(default=None, repr=False)

    @property
    def webhook_id(self) -> str:
        return self.headers["X-Shopify-Webhook-Id"]

    def summary(self) -> dict[str, Any]:
        return {"topic": self.topic, "url": self.url, "webhook_id": self.webhook_id,
                "event_id": self.headers["X-Shopify-Event-Id"], "status": self.status,
                "error": self.error}


class ShopifySandbox:
    """One Shopify shop in memory: catalog, stock per location, orders, refunds, webhooks."""

    def __init__(self, shop: str = DEFAULT_SHOP, access_token: str = DEFAULT_TOKEN,
                 client_secret: str = DEFAULT_SECRET,
                 location_ids: Sequence[int] = DEFAULT_LOCATION_IDS, rate_limit: float = 100.0,
                 bucket_size: int = 1000, tax_rate: str = "0.15", taxes_included: bool = True,
                 currency: str = "SAR") -> None:
        self.shop, self.access_token, self.client_secret = shop, access_token, client_secret
        self.locations = {lid: LOCATION_NAMES[i] if i < len(LOCATION_NAMES) else f"Location {i + 1}"
                          for i, lid in enumerate(location_ids)}
        self.location_ids = list(self.locations)
        self.tax_rate, self.taxes_included, self.currency = Decimal(tax_rate), taxes_included, currency
        self.bucket = LeakyBucket(bucket_size, rate_limit)
        self.rest_bucket = LeakyBucket(40, 2.0)
        self.log = RequestLog()
        self.deliveries: list[Delivery] = []
        self.webhook_target: str | None = None
        self._lock = threading.RLock()
        self._ids = itertools.count(6_100_000_000_001)
        self._order_numbers = itertools.count(1001)
        self._products: dict[int, dict] = {}
        self._variants: dict[int, dict] = {}
        self._levels: dict[tuple[int, int], int] = {}
        self._costs: dict[int, Decimal | None] = {}
        self._collections: dict[int, dict] = {}
        self._collects: set[tuple[int, int]] = set()
        #: ``_collects`` indexed both ways: collection ids per product, product ids per collection.
        self._collections_of: dict[int, set[int]] = {}
        self._products_in: dict[int, set[int]] = {}
        self._orders: dict[int, dict] = {}
        self._customers: dict[str, dict] = {}
        self._subscriptions: dict[int, dict] = {}
        self._pending: list[threading.Thread] = []
        #: While a list, webhooks are appended to it as ``(url, headers, body)``, not sent.
        self.captured: list[tuple[str, dict[str, str], bytes]] | None = None
        self._local = threading.local()
        self.app = self._build_app()

    def resume_numbering(self, offset: int) -> None:
        """Move ids and order numbers on by ``offset`` (e.g. the clock), so a restarted sandbox
        never hands out an order id a previous run used (the ERP would call it already booked)."""
        with self._lock:
            self._ids = itertools.count(next(self._ids) + offset)
            self._order_numbers = itertools.count(next(self._order_numbers) + offset)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """Start serving :attr:`app` in a background thread (also usable as a context manager)."""
        return SandboxServer(self.app, host, port).start()

    # --- catalog ---------------------------------------------------------------------------

    def add_collection(self, title: str, handle: str | None = None) -> dict:
        with self._lock:
            number = next(self._ids)
            self._collections[number] = {"id": number, "title": title,
                                         "handle": handle or _handle(title), "updated_at": now()}
            return dict(self._collections[number])

    def add_product(self, sku: str | None, title: str, price: str, quantity: int | dict[int, int] = 0,
                    barcode: str | None = None, cost: str | None = None,
                    collection_id: int | None = None, vendor: str = "Mizan Demo",
                    send: bool = False) -> dict:
        """Create a one-variant product; ``quantity`` goes to the first location unless a dict."""
        with self._lock:
            product = self._new_product({"title": title, "vendor": vendor})
            variant = product["variants"][0]
            variant.update(sku=sku or "", price=str(money(price)), barcode=barcode)
            self._costs[variant["inventory_item_id"]] = money(cost) if cost is not None else None
            levels = quantity if isinstance(quantity, dict) else {self.location_ids[0]: quantity}
            for location_id, count in levels.items():
                self._levels[(variant["inventory_item_id"], self._location(location_id))] = int(count)
            if collection_id is not None:
                self._collect(collection_id, product["id"])
            payload = self._product_payload(product)
        if send:
            self._emit("products/create", payload)
        return payload

    def update_product(self, product_id: int, title: str | None = None, price: str | None = None,
                       sku: str | None = None, barcode: str | None = None, send: bool = True) -> dict:
        """Change a product (and its first variant) and send ``products/update``."""
        with self._lock:
            product = self._product(product_id)
            variant = product["variants"][0]
            if title is not None:
                product["title"] = title
            for key, value in (("price", price and str(money(price))), ("sku", sku), ("barcode", barcode)):
                if value is not None:
                    variant[key] = value
            product["updated_at"] = variant["updated_at"] = now()
            payload = self._product_payload(product)
        if send:
            self._emit("products/update", payload)
        return payload

    def set_cost(self, sku: str, cost: str | None, send: bool = True) -> dict:
        """The merchant changes a variant's cost (on its inventory item): ``inventory_items/update``."""
        with self._lock:
            item = self._variant_by_sku(sku)["inventory_item_id"]
            self._costs[item] = money(cost) if cost is not None else None
            payload = self._inventory_item_payload(item)
        if send:
            self._emit("inventory_items/update", payload)
        return payload

    def available(self, sku: str, location_id: int | None = None) -> int:
        """Available quantity of ``sku`` at one location, or summed over all when None."""
        with self._lock:
            item = self._variant_by_sku(sku)["inventory_item_id"]
            if location_id is not None:
                return self._levels.get((item, self._location(location_id)), 0)
            return self._total(item)

    def set_available(self, sku: str, quantity: int, location_id: int | None = None) -> None:
        with self._lock:
            item = self._variant_by_sku(sku)["inventory_item_id"]
            self._levels[(item, self._location(location_id or self.location_ids[0]))] = quantity

    def seed_demo(self) -> None:
        """The ERP demo's products (same SKUs and prices) plus a variant without SKU."""
        coffee, dates, gifts = (self.add_collection(t)["id"] for t in ("Coffee", "Dates", "Gifts"))
        self.add_product("COF-250", "Arabic coffee 250 g", "35.00", 120, "6281000000011", "18.00", coffee)
        self.add_product("DATE-1KG", "Sukkari dates 1 kg", "45.00", 80, "6281000000028", "22.50", dates)
        self.add_product("MUG-01", "Ceramic mug", "25.00", 60, "6281000000035", "9.75", gifts)
        self.add_product(None, "Gift wrapping", "10.00", 500, None, None, gifts)

    # --- orders ----------------------------------------------------------------------------

    def create_order(self, items: Iterable[tuple], customer: dict | None = DEMO_CUSTOMER,
                     shipping: str | None = None, discount: str | None = None,
                     taxes_included: bool | None = None, discount_code: str = "SANDBOX",
                     paid: bool = False, send: bool = True) -> dict:
        """Place an order and send ``orders/create`` (and ``orders/paid`` when ``paid``).

        ``items``: ``(sku, qty)`` or ``(sku, qty, unit_price)``; an int instead of the SKU is a
        variant id (for variants without SKU). ``customer=None`` makes a guest order.
        ``discount``: ``"10%"`` or a fixed ``"5.00"``. Stock leaves the first location.
        Amounts: see :func:`order_amounts`.
        """
        with self._lock:
            order = self._build_order(list(items), customer, money(shipping or 0), discount,
                                      self.taxes_included if taxes_included is None else taxes_included,
                                      discount_code)
            if paid:
                order["financial_status"] = "paid"
            for line in order["line_items"]:
                key = (self._variants[line["variant_id"]]["inventory_item_id"], self.location_ids[0])
                self._levels[key] = self._levels.get(key, 0) - line["quantity"]
            self._orders[order["id"]] = order
            payload = copy.deepcopy(order)
        if send:
            self._emit("orders/create", payload)
            if paid:
                self._emit("orders/paid", payload)
        return payload

    def order(self, order_id: int) -> dict:
        with self._lock:
            return copy.deepcopy(self._order(order_id))

    def pay_order(self, order_id: int, send: bool = True) -> dict:
        """Mark the order paid and send ``orders/paid``."""
        return self._change_order(order_id, "orders/paid", send, self._pay)

    def fulfill_order(self, order_id: int, send: bool = True) -> dict:
        """Mark the order fulfilled and send ``orders/fulfilled``."""
        return self._change_order(order_id, "orders/fulfilled", send, self._fulfill)

    def cancel_order(self, order_id: int, reason: str = "customer", restock: bool = True,
                     send: bool = True) -> dict:
        """Cancel (no refund is made: use :meth:`refund`), restock unfulfilled, send ``orders/cancelled``."""
        return self._change_order(order_id, "orders/cancelled", send,
                                  lambda order: self._cancel(order, reason, restock))

    def refund(self, order_id: int, lines: Iterable[tuple[int, int]] | None = None,
               restock: bool = True, shipping: bool = False, note: str | None = None,
               send: bool = True) -> dict:
        """Refund ``(line_item_id, qty)`` pairs (None: everything not yet refunded), send ``refunds/create``.

        Per refunded line: ``subtotal`` = its share of the line's discounted amount ``g - a`` (same tax
        basis as the order's prices) and ``total_tax`` = its share of ``t``, each
        ``round(x * qty / line_qty)``; the refund that completes a line takes the exact rest.
        ``shipping=True`` adds an ``order_adjustments`` entry (``kind: "shipping_refund"``, negative
        ``amount`` = remaining shipping price, ``tax_amount`` = its tax). The ``transactions[0].amount``
        = sum(subtotal) + shipping + (0 if taxes_included else sum(total_tax) + shipping tax).
        Restocked quantities return to the first location (``restock_type`` "return" once fulfilled,
        else "cancel"; "no_restock" with ``location_id`` null otherwise).
        """
        with self._lock:
            refund = self._build_refund(self._order(order_id), lines, restock, shipping, note)
            payload = copy.deepcopy(refund)
        if send:
            self._emit("refunds/create", payload)
        return payload

    # --- webhooks --------------------------------------------------------------------------

    def set_webhook_target(self, url: str | None) -> None:
        """The address that receives every topic (in addition to subscriptions); None to clear."""
        with self._lock:
            self.webhook_target = url

    def subscribe(self, topic: str, url: str) -> dict:
        """What ``webhookSubscriptionCreate`` does: deliver ``topic`` (e.g. "orders/paid") to ``url``."""
        with self._lock:
            number = next(self._ids)
            self._subscriptions[number] = {"id": number, "topic": topic, "uri": url, "created_at": now()}
            return dict(self._subscriptions[number])

    def subscriptions(self) -> list[dict]:
        with self._lock:
            return [dict(s) for s in self._subscriptions.values()]

    def build_delivery(self, topic: str, payload: Any, *, webhook_id: str | None = None,
                       event_id: str | None = None, triggered_at: str | None = None
                       ) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers Shopify would POST for ``payload`` on ``topic``."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        digest = hmac.new(self.client_secret.encode(), body, hashlib.sha256).digest()
        return body, {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": triggered_at or CLOCK.read().astimezone(UTC).isoformat(),
        }

    def send(self, topic: str, payload: Any, url: str | None = None) -> httpx.Response:
        """Deliver ``payload`` to ``url`` or to every target of ``topic``; the first response.

        Raises ``LookupError`` without a target and ``httpx.HTTPError`` when it cannot connect.
        """
        deliveries = self._emit(topic, payload, [url] if url else None)
        if not deliveries:
            raise LookupError(f"no webhook target for {topic}")
        if deliveries[0].response is None:
            raise httpx.TransportError(deliveries[0].error or "delivery failed")
        return deliveries[0].response

    def redeliver(self, webhook_id: str | None = None, url: str | None = None) -> httpx.Response:
        """Send a past delivery again, byte for byte with the same headers (the last one by default)."""
        with self._lock:
            past = [d for d in self.deliveries if webhook_id in (None, d.webhook_id)]
        if not past:
            raise LookupError(f"no delivery with webhook id {webhook_id}")
        delivery = self._post(Delivery(past[-1].topic, url or past[-1].url, past[-1].body,
                                       dict(past[-1].headers)))
        if delivery.response is None:
            raise httpx.TransportError(delivery.error or "delivery failed")
        return delivery.response

    def flush(self, timeout: float = 5.0) -> None:
        """Wait for the webhooks that API mutations are delivering in the background."""
        with self._lock:
            pending, self._pending = self._pending, []
        for thread in pending:
            thread.join(timeout)

    def state(self) -> dict[str, Any]:
        """Everything in the shop, for ``GET /_sandbox/state`` and debugging."""
        with self._lock:
            return {
                "shop": self.shop, "api_version": API_VERSION, "webhook_target": self.webhook_target,
                "locations": [{"id": lid, "name": name} for lid, name in self.locations.items()],
                "collections": list(self._collections.values()),
                "products": [self._product_payload(p) | {"levels": self._levels_of(p)}
                             for p in self._products.values()],
                "orders": list(self._orders.values()),
                "subscriptions": list(self._subscriptions.values()),
                "deliveries": [d.summary() for d in self.deliveries],
            }

    # --- internals: catalog ------------------------------------------------------------------

    def _new_product(self, data: dict) -> dict:
        number, variant_id, item = next(self._ids), next(self._ids), next(self._ids)
        stamp = now()
        variant = {
            "id": variant_id, "admin_graphql_api_id": gid("ProductVariant", variant_id),
            "product_id": number, "title": "Default Title", "sku": "", "barcode": None,
            "price": "0.00", "compare_at_price": None, "inventory_item_id": item,
            "inventory_quantity": 0, "inventory_policy": "deny", "inventory_management": "shopify",
            "taxable": True, "position": 1, "option1": "Default Title",
            "created_at": stamp, "updated_at": stamp,
        }
        product = {
            "id": number, "admin_graphql_api_id": gid("Product", number), "title": data["title"],
            "body_html": data.get("descriptionHtml") or "", "vendor": data.get("vendor") or self.shop.split(".")[0],
            "product_type": data.get("productType") or "", "handle": data.get("handle") or _handle(data["title"]),
            "status": str(data.get("status") or "active").lower(), "tags": _tags(data.get("tags")),
            "created_at": stamp, "updated_at": stamp, "published_at": stamp,
            "options": [{"name": "Title", "position": 1, "values": ["Default Title"]}],
            "images": [], "image": None, "variants": [variant],
        }
        self._products[number], self._variants[variant_id], self._costs[item] = product, variant, None
        for location_id in self.location_ids:
            self._levels.setdefault((item, location_id), 0)
        return product

    def _collect(self, collection_id: int, product_id: int) -> None:
        """Put the product in the collection (a "collect"), keeping the indexes in step."""
        self._collects.add((collection_id, product_id))
        self._collections_of.setdefault(product_id, set()).add(collection_id)
        self._products_in.setdefault(collection_id, set()).add(product_id)

    def _product(self, product_id: object) -> dict:
        number = gid_number(product_id, "Product")
        if number not in self._products:
            raise KeyError(f"no product {product_id}")
        return self._products[number]

    def _variant_by_sku(self, sku: str) -> dict:
        for variant in self._variants.values():
            if variant["sku"] == sku:
                return variant
        raise KeyError(f"no variant with SKU {sku!r}")

    def _location(self, location_id: object) -> int:
        number = gid_number(location_id, "Location")
        if number not in self.locations:
            raise KeyError(f"no location {location_id}")
        return number

    def _total(self, item: int) -> int:
        return sum(self._levels.get((item, lid), 0) for lid in self.location_ids)

    def _levels_of(self, product: dict) -> dict[str, int]:
        item = product["variants"][0]["inventory_item_id"]
        return {str(lid): self._levels.get((item, lid), 0) for lid in self.location_ids}

    def _product_payload(self, product: dict) -> dict:
        """The REST product resource, as the products/* webhooks carry it."""
        payload = copy.deepcopy(product)
        for variant in payload["variants"]:
            variant["inventory_quantity"] = self._total(variant["inventory_item_id"])
        return payload

    def _inventory_item_payload(self, item: int) -> dict:
        """The REST InventoryItem, as the inventory_items/* webhooks carry it (cost: a string or null)."""
        variant = next(v for v in self._variants.values() if v["inventory_item_id"] == item)
        cost = self._costs.get(item)
        return {"id": item, "sku": variant["sku"] or "", "created_at": variant["created_at"], "updated_at": now(),
                "requires_shipping": True, "cost": str(cost) if cost is not None else None,
                "country_code_of_origin": None, "province_code_of_origin": None, "harmonized_system_code": None,
                "tracked": True, "country_harmonized_system_codes": [],
                "admin_graphql_api_id": gid("InventoryItem", item)}

    def _collection_node(self, collection: dict) -> dict:
        count = len(self._products_in.get(collection["id"], ()))
        return {"id": gid("Collection", collection["id"]), "legacyResourceId": str(collection["id"]),
                "title": collection["title"], "handle": collection["handle"], "descriptionHtml": "",
                "updatedAt": collection["updated_at"], "productsCount": {"count": count}}

    def _variant_node(self, variant: dict) -> dict:
        item, product = variant["inventory_item_id"], self._products[variant["product_id"]]
        cost = self._costs.get(item)
        levels = [{"id": f"gid://shopify/InventoryLevel/{lid}?inventory_item_id={item}",
                   "location": {"id": gid("Location", lid), "name": name},
                   "quantities": [{"name": name_, "quantity": self._levels.get((item, lid), 0)}
                                  for name_ in ("available", "on_hand")]}
                  for lid, name in self.locations.items()]
        return {
            "id": gid("ProductVariant", variant["id"]), "legacyResourceId": str(variant["id"]),
            "title": variant["title"], "sku": variant["sku"] or None, "barcode": variant["barcode"],
            "price": variant["price"], "compareAtPrice": variant["compare_at_price"],
            "inventoryQuantity": self._total(item), "position": variant["position"],
            "product": {"id": gid("Product", product["id"]), "title": product["title"],
                        "collections": _connection([self._collection_node(self._collections[cid])
                                                    for cid in sorted(self._collections_of.get(product["id"], ()))])},
            "inventoryItem": {
                "id": gid("InventoryItem", item), "legacyResourceId": str(item),
                "sku": variant["sku"] or None, "tracked": True,
                "unitCost": {"amount": str(cost), "currencyCode": self.currency} if cost is not None else None,
                "inventoryLevels": _connection(levels, [_cursor(lid) for lid in self.locations]),
            },
        }

    def _product_node(self, product: dict) -> dict:
        collections = [self._collection_node(self._collections[cid])
                       for cid in sorted(self._collections_of.get(product["id"], ()))]
        return {
            "id": gid("Product", product["id"]), "legacyResourceId": str(product["id"]),
            "title": product["title"], "handle": product["handle"], "status": product["status"].upper(),
            "vendor": product["vendor"], "productType": product["product_type"],
            "descriptionHtml": product["body_html"],
            "tags": [t for t in product["tags"].split(", ") if t],
            "createdAt": product["created_at"], "updatedAt": product["updated_at"],
            "collections": _connection(collections),
            "variants": _connection([self._variant_node(v) for v in product["variants"]]),
        }

    # --- internals: orders -------------------------------------------------------------------

    def _order(self, order_id: object) -> dict:
        number = gid_number(order_id, "Order")
        if number not in self._orders:
            raise KeyError(f"no order {order_id}")
        return self._orders[number]

    def _money_set(self, amount: Decimal) -> dict:
        value = {"amount": str(amount), "currency_code": self.currency}
        return {"shop_money": value, "presentment_money": dict(value)}

    def _tax_lines(self, amount: Decimal) -> list[dict]:
        return [{"price": str(amount), "rate": float(self.tax_rate), "title": "VAT",
                 "price_set": self._money_set(amount), "channel_liable": False}]

    def _customer(self, data: dict) -> dict:
        key = data.get("email") or data.get("phone") or str(uuid.uuid4())
        if key not in self._customers:
            number = next(self._ids)
            self._customers[key] = {
                "id": number, "admin_graphql_api_id": gid("Customer", number),
                "email": data.get("email"), "phone": data.get("phone"),
                "first_name": data.get("first_name"), "last_name": data.get("last_name"),
                "created_at": now(), "updated_at": now(), "state": "enabled",
                "verified_email": True, "tags": "", "currency": self.currency,
            }
        return copy.deepcopy(self._customers[key])

    def _build_order(self, items: list[tuple], customer: dict | None, shipping: Decimal,
                     discount: str | None, taxes_included: bool, discount_code: str) -> dict:
        if not items:
            raise ValueError("an order needs at least one item")
        picked = []
        for item in items:
            key, qty = item[0], int(item[1])
            variant = self._variants.get(key) if isinstance(key, int) else self._variant_by_sku(key)
            if variant is None:
                raise KeyError(f"no variant {key}")
            if qty < 1:
                raise ValueError(f"quantity must be positive for {key}")
            picked.append((variant, qty, money(item[2]) if len(item) > 2 else money(variant["price"])))
        amounts = order_amounts([(price, qty) for _, qty, price in picked], shipping, discount,
                                self.tax_rate, taxes_included)
        number, order_number, stamp = next(self._ids), next(self._order_numbers), now()
        lines = []
        for (variant, qty, price), allocation, tax in zip(picked, amounts["allocations"],
                                                          amounts["line_taxes"], strict=True):
            product = self._products[variant["product_id"]]
            line_id = next(self._ids)
            lines.append({
                "id": line_id, "admin_graphql_api_id": gid("LineItem", line_id),
                "product_id": product["id"], "variant_id": variant["id"], "sku": variant["sku"] or None,
                "name": product["title"], "title": product["title"], "variant_title": None,
                "vendor": product["vendor"], "quantity": qty, "fulfillable_quantity": qty,
                "fulfillment_status": None, "price": str(price), "price_set": self._money_set(price),
                "total_discount": str(allocation), "total_discount_set": self._money_set(allocation),
                "discount_allocations": [{"amount": str(allocation), "amount_set": self._money_set(allocation),
                                          "discount_application_index": 0}] if allocation else [],
                "tax_lines": self._tax_lines(tax), "taxable": True, "requires_shipping": True,
                "gift_card": False, "product_exists": True,
            })
        shipping_lines = [] if not shipping else [{
            "id": next(self._ids), "code": "Standard", "title": "Standard shipping", "source": "shopify",
            "price": str(shipping), "price_set": self._money_set(shipping),
            "discounted_price": str(shipping), "discounted_price_set": self._money_set(shipping),
            "discount_allocations": [], "tax_lines": self._tax_lines(amounts["shipping_tax"]),
        }]
        discount_total = amounts["total_discounts"]
        percentage = bool(discount) and str(discount).strip().endswith("%")
        buyer = self._customer(customer) if customer is not None else None
        totals = {key: str(amounts[key]) for key in ("total_line_items_price", "total_discounts",
                                                     "subtotal_price", "total_tax", "total_price")}
        return {
            "id": number, "admin_graphql_api_id": gid("Order", number), "name": f"#{order_number}",
            "order_number": order_number, "number": order_number - 1000,
            "email": buyer["email"] if buyer else None, "contact_email": buyer["email"] if buyer else None,
            "phone": buyer["phone"] if buyer else None, "currency": self.currency,
            "presentment_currency": self.currency, "financial_status": "pending",
            "fulfillment_status": None, "cancelled_at": None, "cancel_reason": None, "closed_at": None,
            "created_at": stamp, "updated_at": stamp, "processed_at": stamp, "test": False,
            "taxes_included": taxes_included, "estimated_taxes": False,
            "tax_lines": self._tax_lines(amounts["total_tax"]), "customer": buyer,
            "billing_address": dict(DEMO_ADDRESS), "shipping_address": dict(DEMO_ADDRESS),
            "line_items": lines, "shipping_lines": shipping_lines,
            "discount_codes": [{"code": discount_code, "amount": str(discount_total),
                                "type": "percentage" if percentage else "fixed_amount"}] if discount_total else [],
            "discount_applications": [{
                "type": "discount_code", "code": discount_code, "allocation_method": "across",
                "target_selection": "all", "target_type": "line_item",
                "value": str(discount).strip().rstrip("%"),
                "value_type": "percentage" if percentage else "fixed_amount",
            }] if discount_total else [],
            **totals,
            "total_shipping_price_set": self._money_set(shipping),
            "current_total_price": totals["total_price"], "current_subtotal_price": totals["subtotal_price"],
            "current_total_tax": totals["total_tax"],
            "payment_gateway_names": ["manual"], "source_name": "web", "tags": "", "note": None,
            "fulfillments": [], "refunds": [],
        }

    def _change_order(self, order_id: int, topic: str, send: bool, change: Any) -> dict:
        with self._lock:
            order = self._order(order_id)
            change(order)
            order["updated_at"] = now()
            payload = copy.deepcopy(order)
        if send:
            self._emit(topic, payload)
        return payload

    def _pay(self, order: dict) -> None:
        if order["cancelled_at"] or order["financial_status"] != "pending":
            raise ValueError(f"order {order['name']} is {order['financial_status']}, not pending")
        order["financial_status"] = "paid"
        if order["fulfillment_status"] == "fulfilled":
            order["closed_at"] = now()

    def _fulfill(self, order: dict) -> None:
        if order["cancelled_at"] or order["fulfillment_status"] == "fulfilled":
            raise ValueError(f"order {order['name']} cannot be fulfilled")
        order["fulfillment_status"] = "fulfilled"
        for line in order["line_items"]:
            line["fulfillable_quantity"], line["fulfillment_status"] = 0, "fulfilled"
        number = next(self._ids)
        order["fulfillments"].append({"id": number, "order_id": order["id"], "status": "success",
                                      "location_id": self.location_ids[0], "created_at": now()})
        if order["financial_status"] == "paid":
            order["closed_at"] = now()

    def _cancel(self, order: dict, reason: str, restock: bool) -> None:
        if order["cancelled_at"]:
            raise ValueError(f"order {order['name']} is already cancelled")
        order["cancelled_at"] = order["closed_at"] = now()
        order["cancel_reason"] = reason
        if order["financial_status"] == "pending":
            order["financial_status"] = "voided"
        for line in order["line_items"]:
            if restock and line["fulfillable_quantity"]:
                key = (self._variants[line["variant_id"]]["inventory_item_id"], self.location_ids[0])
                self._levels[key] = self._levels.get(key, 0) + line["fulfillable_quantity"]
            line["fulfillable_quantity"] = 0

    def _build_refund(self, order: dict, lines: Iterable[tuple[int, int]] | None, restock: bool,
                      shipping: bool, note: str | None) -> dict:
        done: dict[int, list] = {line["id"]: [0, ZERO, ZERO] for line in order["line_items"]}
        shipping_done = [ZERO, ZERO]
        for past in order["refunds"]:
            for rli in past["refund_line_items"]:
                done[rli["line_item_id"]][0] += rli["quantity"]
                done[rli["line_item_id"]][1] += money(rli["subtotal"])
                done[rli["line_item_id"]][2] += money(rli["total_tax"])
            for adjustment in past["order_adjustments"]:
                shipping_done[0] -= money(adjustment["amount"])
                shipping_done[1] -= money(adjustment["tax_amount"])
        by_id = {line["id"]: line for line in order["line_items"]}
        if lines is None:
            lines = [(lid, line["quantity"] - done[lid][0]) for lid, line in by_id.items()
                     if line["quantity"] > done[lid][0]]
        refund_id, stamp, location = next(self._ids), now(), self.location_ids[0]
        fulfilled = order["fulfillment_status"] == "fulfilled"
        refund_lines, sub_total, tax_total = [], ZERO, ZERO
        for line_id, qty in lines:
            line = by_id.get(int(line_id))
            if line is None:
                raise KeyError(f"order {order['name']} has no line item {line_id}")
            qty = int(qty)
            count, sub_done, tax_done = done[line["id"]]
            if qty < 1 or count + qty > line["quantity"]:
                raise ValueError(f"line {line_id}: cannot refund {qty} (refundable {line['quantity'] - count})")
            net = money(line["price"]) * line["quantity"] - money(line["total_discount"])
            tax = sum((money(t["price"]) for t in line["tax_lines"]), ZERO)
            if count + qty == line["quantity"]:
                subtotal, line_tax = net - sub_done, tax - tax_done
            else:
                subtotal, line_tax = money(net * qty / line["quantity"]), money(tax * qty / line["quantity"])
            done[line["id"]][0] += qty
            restock_type = ("return" if fulfilled else "cancel") if restock else "no_restock"
            if restock:
                key = (self._variants[line["variant_id"]]["inventory_item_id"], location)
                self._levels[key] = self._levels.get(key, 0) + qty
            if not fulfilled:
                line["fulfillable_quantity"] = max(0, line["fulfillable_quantity"] - qty)
            number = next(self._ids)
            refund_lines.append({
                "id": number, "line_item_id": line["id"], "line_item": copy.deepcopy(line),
                "quantity": qty, "restock_type": restock_type, "location_id": location if restock else None,
                "subtotal": str(subtotal), "subtotal_set": self._money_set(subtotal),
                "total_tax": str(line_tax), "total_tax_set": self._money_set(line_tax),
            })
            sub_total, tax_total = sub_total + subtotal, tax_total + line_tax
        adjustments, ship_amount, ship_tax = [], ZERO, ZERO
        if shipping:
            ship_amount = sum((money(s["price"]) for s in order["shipping_lines"]), ZERO) - shipping_done[0]
            ship_tax = sum((money(t["price"]) for s in order["shipping_lines"] for t in s["tax_lines"]),
                           ZERO) - shipping_done[1]
            if ship_amount:
                adjustments.append({
                    "id": next(self._ids), "order_id": order["id"], "refund_id": refund_id,
                    "kind": "shipping_refund", "reason": "Shipping refund",
                    "amount": str(-ship_amount), "amount_set": self._money_set(-ship_amount),
                    "tax_amount": str(-ship_tax), "tax_amount_set": self._money_set(-ship_tax),
                })
        if not refund_lines and not adjustments:
            raise ValueError("nothing to refund")
        amount = sub_total + ship_amount + (ZERO if order["taxes_included"] else tax_total + ship_tax)
        refund = {
            "id": refund_id, "admin_graphql_api_id": gid("Refund", refund_id), "order_id": order["id"],
            "created_at": stamp, "processed_at": stamp, "note": note, "restock": restock,
            "refund_line_items": refund_lines, "order_adjustments": adjustments, "duties": [],
            "transactions": [{"id": next(self._ids), "order_id": order["id"], "kind": "refund",
                              "gateway": "manual", "status": "success", "amount": str(amount),
                              "currency": self.currency, "created_at": stamp}],
        }
        order["refunds"].append(refund)
        order["current_total_price"] = str(money(order["current_total_price"]) - amount)
        order["current_subtotal_price"] = str(money(order["current_subtotal_price"]) - sub_total)
        order["current_total_tax"] = str(money(order["current_total_tax"]) - tax_total - ship_tax)
        order["financial_status"] = ("refunded" if money(order["current_total_price"]) <= 0
                                     else "partially_refunded")
        order["updated_at"] = stamp
        return refund

    # --- internals: webhooks -----------------------------------------------------------------

    def _targets(self, topic: str) -> list[str]:
        with self._lock:
            urls = [self.webhook_target] if self.webhook_target else []
            urls += [s["uri"] for s in self._subscriptions.values() if s["topic"] == topic]
        return list(dict.fromkeys(urls))

    def _emit(self, topic: str, payload: Any, urls: list[str] | None = None) -> list[Delivery]:
        """Deliver one event to each target; each delivery gets its own webhook id."""
        event_id, triggered_at = str(uuid.uuid4()), CLOCK.read().astimezone(UTC).isoformat()
        deliveries = []
        for url in urls or self._targets(topic):
            body, headers = self.build_delivery(topic, payload, event_id=event_id, triggered_at=triggered_at)
            deliveries.append(self._post(Delivery(topic, url, body, headers)))
        return deliveries

    def _emit_later(self, topic: str, payload: Any) -> None:
        thread = threading.Thread(target=self._emit, args=(topic, payload), daemon=True)
        with self._lock:
            self._pending.append(thread)
        thread.start()

    def _post(self, delivery: Delivery) -> Delivery:
        with self._lock:
            captured = self.captured
            if captured is not None:
                captured.append((delivery.url, dict(delivery.headers), delivery.body))
        if captured is not None:
            delivery.response = httpx.Response(200, request=httpx.Request("POST", delivery.url))
            delivery.status = 200
        else:
            try:
                delivery.response = httpx.post(delivery.url, content=delivery.body, headers=delivery.headers,
                                               timeout=httpx.Timeout(5.0, connect=1.0))
                delivery.status = delivery.response.status_code
            except httpx.HTTPError as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.deliveries.append(delivery)
        collected = getattr(self._local, "collected", None)
        if collected is not None:
            collected.append(delivery)
        return delivery

    # --- GraphQL -----------------------------------------------------------------------------

    def _graphql(self, query: str, variables: dict[str, Any]) -> Response:
        kind, fields = root_fields(query)
        handlers = self._mutations if kind == "mutation" else self._queries
        unknown = [name for _, name, _ in fields if name not in handlers]
        if not fields or unknown:
            root = "Mutation" if kind == "mutation" else "QueryRoot"
            message = (f"Field '{unknown[0]}' doesn't exist on type '{root}'" if unknown
                       else "Parse error: no operation found")
            return jsonify(errors=[{"message": message, "extensions": {"code": "undefinedField"}}])
        calls = [(key, name, parse_arguments(text, variables)) for key, name, text in fields]
        requested = sum(10 if kind == "mutation" else 2 + args["first"] if isinstance(args.get("first"), int)
                        else 1 for _, _, args in calls)
        wait = self.bucket.take(requested)
        if wait is not None:
            response = jsonify(errors=[{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                               extensions={"cost": self._cost(requested, 0)})
            response.status_code = 429
            response.headers["Retry-After"] = LeakyBucket.header_value(wait)
            return response
        data: dict[str, Any] = {}
        actual = 0
        try:
            for key, name, args in calls:
                data[key] = handlers[name](args)
                nodes = data[key].get("nodes") if isinstance(data[key], dict) else None
                actual += 10 if kind == "mutation" else 2 + len(nodes) if nodes is not None else 1
        except GraphQLError as exc:
            return jsonify(data=None, errors=[{"message": str(exc), "extensions": {"code": exc.code}}],
                           extensions={"cost": self._cost(requested, actual)})
        return jsonify(data=data, extensions={"cost": self._cost(requested, actual)})

    def _cost(self, requested: int, actual: int) -> dict:
        return {"requestedQueryCost": requested, "actualQueryCost": actual,
                "throttleStatus": {"maximumAvailable": float(self.bucket.capacity),
                                   "currentlyAvailable": self.bucket.remaining(),
                                   "restoreRate": float(self.bucket.leak_per_second)}}

    @property
    def _queries(self) -> dict[str, Any]:
        return {"shop": self._q_shop, "locations": self._q_locations, "products": self._q_products,
                "product": self._q_product, "productVariants": self._q_variants,
                "collections": self._q_collections, "webhookSubscriptions": self._q_subscriptions}

    @property
    def _mutations(self) -> dict[str, Any]:
        return {"productCreate": self._m_product_create, "productUpdate": self._m_product_update,
                "productVariantsBulkUpdate": self._m_variants_update,
                "inventorySetQuantities": self._m_set_quantities,
                "webhookSubscriptionCreate": self._m_subscribe,
                "webhookSubscriptionDelete": self._m_unsubscribe}

    def _q_shop(self, args: dict) -> dict:
        return {"id": gid("Shop", 60000000001), "name": "Mizan Demo Store", "myshopifyDomain": self.shop,
                "url": f"https://{self.shop}", "email": f"owner@{self.shop}", "currencyCode": self.currency,
                "ianaTimezone": "Asia/Riyadh", "taxesIncluded": self.taxes_included,
                "plan": {"displayName": "Basic", "partnerDevelopment": True}}

    def _q_locations(self, args: dict) -> dict:
        with self._lock:
            return _page([(lid, {"id": gid("Location", lid), "legacyResourceId": str(lid), "name": name,
                                 "isActive": True, "fulfillsOnlineOrders": True,
                                 "address": {"city": name.split()[0], "countryCode": "SA"}})
                          for lid, name in self.locations.items()], args)

    def _q_products(self, args: dict) -> dict:
        """``query`` understands ``sku:X`` and ``title:X``; other search terms are ignored."""
        with self._lock:
            products = list(self._products.values())
            for term, value in re.findall(r"(\w+):(\"[^\"]*\"|\S+)", args.get("query") or ""):
                value = value.strip('"')
                if term == "sku":
                    products = [p for p in products if any(v["sku"] == value for v in p["variants"])]
                elif term == "title":
                    products = [p for p in products if value.lower() in p["title"].lower()]
            return _page(((p["id"], p) for p in products), args, self._product_node)

    def _q_product(self, args: dict) -> dict | None:
        with self._lock:
            number = gid_number(args.get("id"), "Product")
            return self._product_node(self._products[number]) if number in self._products else None

    def _q_variants(self, args: dict) -> dict:
        """``query`` understands ``sku:X``."""
        with self._lock:
            variants = list(self._variants.values())
            match = re.search(r"sku:(\"[^\"]*\"|\S+)", args.get("query") or "")
            if match:
                variants = [v for v in variants if v["sku"] == match.group(1).strip('"')]
            return _page(((v["id"], v) for v in variants), args, self._variant_node)

    def _q_collections(self, args: dict) -> dict:
        with self._lock:
            return _page(self._collections.items(), args, self._collection_node)

    def _q_subscriptions(self, args: dict) -> dict:
        topics = args.get("topics")
        with self._lock:
            return _page([(s["id"], _subscription_node(s)) for s in self._subscriptions.values()
                          if not topics or _topic_enum(s["topic"]) in topics], args)

    def _m_product_create(self, args: dict) -> dict:
        data = args.get("product") or args.get("input")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $product of type ProductCreateInput! was provided invalid value"
                               " (the sandbox reads input objects from variables only)")
        if not data.get("title"):
            return {"product": None, "userErrors": [_user_error(["title"], "Title can't be blank")]}
        with self._lock:
            product = self._new_product(data)
            for collection in data.get("collectionsToJoin") or []:
                self._collect(gid_number(collection, "Collection") or 0, product["id"])
            node, payload = self._product_node(product), self._product_payload(product)
        self._emit_later("products/create", payload)
        return {"product": node, "userErrors": []}

    def _m_product_update(self, args: dict) -> dict:
        data = args.get("product") or args.get("input")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $product of type ProductUpdateInput! was provided invalid value")
        with self._lock:
            number = gid_number(data.get("id"), "Product")
            product = self._products.get(number)
            if product is None:
                return {"product": None, "userErrors": [_user_error(["id"], "Product does not exist")]}
            for source, target in (("title", "title"), ("descriptionHtml", "body_html"), ("vendor", "vendor"),
                                   ("productType", "product_type"), ("handle", "handle")):
                if data.get(source) is not None:
                    product[target] = data[source]
            if data.get("status"):
                product["status"] = str(data["status"]).lower()
            if data.get("tags") is not None:
                product["tags"] = _tags(data["tags"])
            product["updated_at"] = now()
            node, payload = self._product_node(product), self._product_payload(product)
        self._emit_later("products/update", payload)
        return {"product": node, "userErrors": []}

    def _m_variants_update(self, args: dict) -> dict:
        """Variant fields: price, compareAtPrice, barcode, ``inventoryItem{sku cost}`` (or ``sku``)."""
        with self._lock:
            product = self._products.get(gid_number(args.get("productId"), "Product") or 0)
            if product is None:
                return {"product": None, "productVariants": None,
                        "userErrors": [_user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]}
            changed, errors, items = [], [], []
            for index, data in enumerate(args.get("variants") or []):
                variant = self._variants.get(gid_number(data.get("id"), "ProductVariant") or 0)
                if variant is None or variant["product_id"] != product["id"]:
                    errors.append(_user_error(["variants", str(index), "id"], "Product variant does not exist",
                                              "PRODUCT_VARIANT_DOES_NOT_EXIST"))
                    continue
                item = data.get("inventoryItem") or {}
                for key, value in (("price", data.get("price")), ("compare_at_price", data.get("compareAtPrice")),
                                   ("barcode", data.get("barcode")), ("sku", item.get("sku", data.get("sku")))):
                    if value is not None:
                        variant[key] = str(money(value)) if key in ("price", "compare_at_price") else value
                if item.get("cost") is not None and money(item["cost"]) != self._costs.get(variant["inventory_item_id"]):
                    self._costs[variant["inventory_item_id"]] = money(item["cost"])
                    items.append(self._inventory_item_payload(variant["inventory_item_id"]))
                variant["updated_at"] = product["updated_at"] = now()
                changed.append(self._variant_node(variant))
            node, payload = self._product_node(product), self._product_payload(product)
        if changed:
            self._emit_later("products/update", payload)
        for item_payload in items:
            self._emit_later("inventory_items/update", item_payload)
        return {"product": node, "productVariants": changed, "userErrors": errors}

    def _m_set_quantities(self, args: dict) -> dict:
        """All-or-nothing absolute set per (inventory item, location), with compare-and-swap."""
        data = args.get("input")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $input of type InventorySetQuantitiesInput! was provided invalid value")
        quantities = data.get("quantities") or []
        errors = []
        if len(quantities) > MAX_INPUT_ITEMS:
            errors.append(_user_error(["input", "quantities"], f"The input array size of {len(quantities)} is "
                                      f"greater than the maximum allowed of {MAX_INPUT_ITEMS}.",
                                      "MAX_INPUT_SIZE_EXCEEDED"))
        if data.get("name") not in ("available", "on_hand"):
            errors.append(_user_error(["input", "name"], "The quantity name must be either 'available' or "
                                      "'on_hand'.", "INVALID_NAME"))
        if data.get("reason") not in INVENTORY_REASONS:
            errors.append(_user_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
        with self._lock:
            changes, seen = [], set()
            for index, entry in enumerate(quantities if not errors else []):
                path = ["input", "quantities", str(index)]
                item = gid_number(entry.get("inventoryItemId"), "InventoryItem")
                location = gid_number(entry.get("locationId"), "Location")
                quantity, expected = entry.get("quantity"), entry.get("changeFromQuantity")
                if item not in self._costs:
                    errors.append(_user_error([*path, "inventoryItemId"], "The specified inventory item could "
                                              "not be found.", "INVALID_INVENTORY_ITEM"))
                elif location not in self.locations:
                    errors.append(_user_error([*path, "locationId"], "The specified location could not be found.",
                                              "INVALID_LOCATION"))
                elif not isinstance(quantity, int) or isinstance(quantity, bool):
                    errors.append(_user_error([*path, "quantity"], "The quantity must be an integer.",
                                              "INVALID_QUANTITY"))
                elif (item, location) in seen:
                    errors.append(_user_error(path, "The combination of inventoryItemId and locationId must "
                                              "be unique.", "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"))
                elif (expected is not None and not data.get("ignoreCompareQuantity")
                      and expected != self._levels.get((item, location), 0)):
                    errors.append(_user_error([*path, "changeFromQuantity"], "The specified compare quantity "
                                              "does not match the current quantity.", "CHANGE_FROM_QUANTITY_STALE"))
                else:
                    seen.add((item, location))
                    changes.append((item, location, quantity))
            if errors:
                return {"inventoryAdjustmentGroup": None, "userErrors": errors}
            rendered = []
            for item, location, quantity in changes:
                before = self._levels.get((item, location), 0)
                self._levels[(item, location)] = quantity
                sku = next(v["sku"] for v in self._variants.values() if v["inventory_item_id"] == item)
                rendered.append({"name": data["name"], "delta": quantity - before, "quantityAfterChange": quantity,
                                 "item": {"id": gid("InventoryItem", item), "sku": sku or None},
                                 "location": {"id": gid("Location", location), "name": self.locations[location]}})
            return {"inventoryAdjustmentGroup": {
                "id": gid("InventoryAdjustmentGroup", next(self._ids)), "createdAt": now(),
                "reason": data["reason"], "referenceDocumentUri": data.get("referenceDocumentUri"),
                "changes": rendered}, "userErrors": []}

    def _m_subscribe(self, args: dict) -> dict:
        topic = _TOPIC_BY_ENUM.get(str(args.get("topic")))
        data = args.get("webhookSubscription") or {}
        uri = data.get("uri") or data.get("callbackUrl")
        if topic is None:
            return {"webhookSubscription": None,
                    "userErrors": [_user_error(["topic"], f"Topic {args.get('topic')} is not supported")]}
        if not uri:
            return {"webhookSubscription": None,
                    "userErrors": [_user_error(["webhookSubscription", "callbackUrl"], "Address can't be blank")]}
        with self._lock:
            if any(s["topic"] == topic and s["uri"] == uri for s in self._subscriptions.values()):
                return {"webhookSubscription": None, "userErrors": [_user_error(
                    ["webhookSubscription", "callbackUrl"], "Address for this topic has already been taken")]}
            return {"webhookSubscription": _subscription_node(self.subscribe(topic, uri)), "userErrors": []}

    def _m_unsubscribe(self, args: dict) -> dict:
        number = gid_number(args.get("id"), "WebhookSubscription")
        with self._lock:
            if self._subscriptions.pop(number or 0, None) is None:
                return {"deletedWebhookSubscriptionId": None,
                        "userErrors": [_user_error(["id"], "Webhook subscription does not exist")]}
        return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", number or 0), "userErrors": []}

    # --- HTTP ----------------------------------------------------------------------------------

    def _rest_orders(self) -> tuple[list[dict], str | None]:
        """``GET orders.json``: filters ``name`` (with or without "#"), ``ids``, ``status``,
        ``updated_at_min``, ``order`` (``updated_at asc``/``desc``, else ``id asc``) and ``limit``;
        cursor pagination with ``page_info`` (then only ``limit`` may come with it, as on Shopify).
        Returns the page and the ``page_info`` of the next page (None on the last)."""
        args = request.args
        limit = min(max(args.get("limit", 50, type=int) or 50, 1), 250)
        if args.get("page_info"):
            extra = set(args) - {"page_info", "limit", "fields"}
            if extra:
                raise _BadRequest({"page_info": f"cannot be combined with {', '.join(sorted(extra))}"})
            try:
                state = json.loads(base64.urlsafe_b64decode(args["page_info"].encode()))
                filters, offset = dict(state["filters"]), int(state["offset"])
            except (ValueError, KeyError, TypeError):
                raise _BadRequest({"page_info": "Invalid value."}) from None
        else:
            filters = {k: args[k] for k in ("status", "name", "ids", "updated_at_min", "order") if k in args}
            offset = 0
        found = self._filtered_orders(filters)
        following = offset + limit
        next_info = None
        if following < len(found):
            next_info = base64.urlsafe_b64encode(
                json.dumps({"filters": filters, "offset": following}).encode()).decode()
        return found[offset:following], next_info

    def _filtered_orders(self, filters: dict[str, str]) -> list[dict]:
        status, name = filters.get("status", "open"), filters.get("name")
        ids = {int(i) for i in filters.get("ids", "").split(",") if i.strip().isdigit()}
        since = _timestamp(filters["updated_at_min"], "updated_at_min") if filters.get("updated_at_min") else None
        with self._lock:
            found = []
            for order in self._orders.values():
                if name and order["name"] != name and str(order["order_number"]) != name.lstrip("#"):
                    continue
                if ids and order["id"] not in ids:
                    continue
                if since is not None and datetime.fromisoformat(order["updated_at"]) < since:
                    continue
                is_open = not order["cancelled_at"] and not order["closed_at"]
                if (status == "open" and not is_open) or (status == "closed" and not order["closed_at"]) or \
                        (status == "cancelled" and not order["cancelled_at"]):
                    continue
                found.append(copy.deepcopy(order))
        ordering = filters.get("order", "").replace("+", " ").split()
        if ordering[:1] == ["updated_at"]:
            found.sort(key=lambda o: (datetime.fromisoformat(o["updated_at"]), o["id"]),
                       reverse=ordering[1:2] == ["desc"])
        return found

    def annotate(self, order_id: int, changes: dict[str, Any]) -> dict:
        """``PUT orders/{id}.json``: set ``tags`` (a comma-separated text, replacing all tags),
        ``note`` or ``note_attributes``; other fields are ignored. Shopify would also send
        ``orders/updated`` (which the ERP answers "already booked"); the sandbox sends nothing, so a
        write-back adds no delivery to the ones a test counts."""
        with self._lock:
            order = self._order(order_id)
            if "tags" in changes:
                tags = changes["tags"]
                if isinstance(tags, list):
                    tags = ", ".join(str(t) for t in tags)
                names = [t.strip() for t in str(tags or "").split(",") if t.strip()]
                if any(len(t) > 40 for t in names):
                    raise _BadRequest({"tags": "Tags must be 40 characters or fewer"})
                order["tags"] = ", ".join(dict.fromkeys(names))
            if "note" in changes:
                order["note"] = changes["note"]
            if "note_attributes" in changes:
                order["note_attributes"] = list(changes["note_attributes"] or [])
            order["updated_at"] = now()
            return copy.deepcopy(order)

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.json.sort_keys = False  # type: ignore[attr-defined]
        app.json.ensure_ascii = False  # type: ignore[attr-defined]

        @app.before_request
        def guard() -> Any:
            if not request.path.startswith("/admin/"):
                return None
            token = request.headers.get("X-Shopify-Access-Token", "")
            if not hmac.compare_digest(token.encode(), self.access_token.encode()):
                return jsonify(errors=INVALID_TOKEN), 401
            if request.path != f"{API_PREFIX}/graphql.json":
                wait = self.rest_bucket.take()
                if wait is not None:
                    response = jsonify(errors="Exceeded 2 calls per second for api client. Reduce request "
                                              "rates to resume uninterrupted service.")
                    response.status_code = 429
                    response.headers["Retry-After"] = LeakyBucket.header_value(wait)
                    return response
            return None

        @app.after_request
        def record(response: Response) -> Response:
            if request.path.startswith("/admin/"):
                if request.path != f"{API_PREFIX}/graphql.json":
                    used = self.rest_bucket.capacity - self.rest_bucket.remaining()
                    response.headers["X-Shopify-Shop-Api-Call-Limit"] = f"{used}/{self.rest_bucket.capacity}"
                self.log.add(RecordedRequest(request.method, request.path, request.args.to_dict(),
                                             dict(request.headers), request.get_json(silent=True),
                                             response.status_code))
            return response

        @app.errorhandler(404)
        def not_found(error: Exception) -> Any:
            return jsonify(errors="Not Found"), 404

        @app.post(f"{API_PREFIX}/graphql.json")
        def graphql() -> Any:
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                return jsonify(errors={"query": "Required parameter missing or invalid"}), 400
            return self._graphql(body["query"], body.get("variables") or {})

        @app.errorhandler(_BadRequest)
        def bad_request(error: _BadRequest) -> Any:
            return jsonify(errors=error.errors), 400

        @app.get(f"{API_PREFIX}/orders.json")
        def list_orders() -> Any:
            orders, next_info = self._rest_orders()
            response = jsonify(orders=orders)
            if next_info:
                limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 250)
                response.headers["Link"] = f'<{request.base_url}?limit={limit}&page_info={next_info}>; rel="next"'
            return response

        @app.get(f"{API_PREFIX}/orders/<int:order_id>.json")
        def get_order(order_id: int) -> Any:
            with self._lock:
                if order_id not in self._orders:
                    return jsonify(errors="Not Found"), 404
                return jsonify(order=self._orders[order_id])

        @app.put(f"{API_PREFIX}/orders/<int:order_id>.json")
        def update_order(order_id: int) -> Any:
            body = request.get_json(silent=True)
            changes = body.get("order") if isinstance(body, dict) else None
            if not isinstance(changes, dict):
                return jsonify(errors={"order": "Required parameter missing or invalid"}), 400
            with self._lock:
                if order_id not in self._orders:
                    return jsonify(errors="Not Found"), 404
            return jsonify(order=self.annotate(order_id, changes))

        @app.get(f"{API_PREFIX}/orders/<int:order_id>/refunds.json")
        def list_refunds(order_id: int) -> Any:
            with self._lock:
                if order_id not in self._orders:
                    return jsonify(errors="Not Found"), 404
                return jsonify(refunds=copy.deepcopy(self._orders[order_id]["refunds"]))

        self._add_control_routes(app)
        return app

    def _add_control_routes(self, app: Flask) -> None:
        """``/_sandbox/*``: no auth; each answer lists the webhook deliveries the call made."""

        def run(key: str, action: Any) -> Any:
            self._local.collected = []
            try:
                result = action()
            except LookupError as exc:
                return jsonify(error=str(exc.args[0] if exc.args else exc)), 404
            except (ValueError, TypeError) as exc:
                return jsonify(error=str(exc)), 422
            except httpx.HTTPError as exc:
                return jsonify(error=f"webhook delivery failed: {exc}"), 502
            finally:
                collected, self._local.collected = self._local.collected, None
            return jsonify({key: result, "deliveries": [d.summary() for d in collected]})

        def body() -> dict:
            data = request.get_json(silent=True)
            return data if isinstance(data, dict) else {}

        @app.post("/_sandbox/webhook-target")
        def webhook_target() -> Any:
            self.set_webhook_target(body().get("url"))
            return jsonify(url=self.webhook_target)

        @app.post("/_sandbox/products")
        def add_product() -> Any:
            data = body()
            if not data.get("title") or data.get("price") is None:
                return jsonify(error="title and price are required"), 422
            return run("product", lambda: self.add_product(
                data.get("sku"), data["title"], data["price"], data.get("quantity", 0),
                data.get("barcode"), data.get("cost"), data.get("collection_id"), send=data.get("send", True)))

        @app.post("/_sandbox/products/<int:product_id>")
        def edit_product(product_id: int) -> Any:
            """Edit a product as the merchant would (title, price, or its first variant's SKU or barcode)."""
            data = body()
            changes = {k: data[k] for k in ("title", "price", "sku", "barcode") if data.get(k) is not None}
            if not changes:
                return jsonify(error="give title, price, sku or barcode"), 422
            return run("product", lambda: self.update_product(product_id, **changes, send=data.get("send", True)))

        @app.post("/_sandbox/orders")
        def create_order() -> Any:
            data = body()
            items = [(i["sku"] if i.get("sku") else i.get("variant_id"), i.get("quantity", 1),
                      *([i["price"]] if "price" in i else [])) if isinstance(i, dict) else tuple(i)
                     for i in data.get("items") or []]
            return run("order", lambda: self.create_order(
                items, data.get("customer", DEMO_CUSTOMER), data.get("shipping"), data.get("discount"),
                data.get("taxes_included"), paid=data.get("paid", False), send=data.get("send", True)))

        @app.post("/_sandbox/orders/<int:order_id>/<action>")
        def order_action(order_id: int, action: str) -> Any:
            data = body()
            if action == "refund":
                lines = data.get("lines")
                pairs = None if lines is None else [
                    (x["line_item_id"], x.get("quantity", 1)) if isinstance(x, dict) else tuple(x) for x in lines]
                return run("refund", lambda: self.refund(order_id, pairs, data.get("restock", True),
                                                         data.get("shipping", False), data.get("note")))
            actions = {"pay": self.pay_order, "fulfill": self.fulfill_order, "cancel": self.cancel_order}
            if action not in actions:
                return jsonify(error=f"unknown action {action}"), 404
            return run("order", lambda: actions[action](order_id))

        @app.post("/_sandbox/redeliver")
        def redeliver() -> Any:
            return run("status", lambda: self.redeliver(body().get("webhook_id")).status_code)

        @app.post("/_sandbox/throttle")
        def throttle() -> Any:
            count = int(body().get("count", 1))
            self.bucket.throttle_next(count)
            self.rest_bucket.throttle_next(count)
            return jsonify(throttled=count)

        @app.get("/_sandbox/state")
        def state() -> Any:
            return jsonify(self.state())

        add_control_page(app, f"Shopify sandbox · {self.shop}", self._page_products, self._page_orders,
                         self._page_place_order, self._page_act, self._page_credentials, self._page_give_sku)

    # -- the control page (core.testing.sandbox_page) -------------------------------------

    def _page_give_sku(self, key: str, sku: str) -> str:
        with self._lock:
            product_id = self._variants[int(key)]["product_id"]
        self.update_product(product_id, sku=sku)
        self.flush()
        return f"Variant {key} now has SKU {sku} (products/update sent)."

    def _page_credentials(self, url: str) -> dict[str, str]:
        return {"shop_domain": self.shop, "access_token": self.access_token,
                "client_secret": self.client_secret, "api_base": url}

    def _page_products(self) -> list[PageProduct]:
        with self._lock:
            return [PageProduct(v["sku"] or str(v["id"]), v["sku"] or "", self._products[v["product_id"]]["title"],
                                self._total(v["inventory_item_id"]))
                    for v in self._variants.values()]

    def _page_orders(self) -> list[PageOrder]:
        with self._lock:
            orders = [copy.deepcopy(o) for o in self._orders.values()][::-1]
        pages = []
        for o in orders:
            actions = []
            if not o["cancelled_at"]:
                if o["financial_status"] != "paid" and o["financial_status"] not in ("refunded", "partially_refunded"):
                    actions += [("pay", "Mark paid"), ("cancel", "Cancel")]
                elif o["financial_status"] == "paid":
                    actions += [("fulfill", "Fulfil"), ("refund", "Refund")]
            status = f"{o['financial_status']}{' / ' + o['fulfillment_status'] if o['fulfillment_status'] else ''}"
            pages.append(PageOrder(o["id"], o["name"], "cancelled" if o["cancelled_at"] else status,
                                   o["total_price"], actions))
        return pages

    def _page_place_order(self, items: list[tuple[str, int]], shipping: str) -> str:
        with self._lock:
            skus = {v["sku"] for v in self._variants.values() if v["sku"]}
        keys = [(key if key in skus else int(key), qty) for key, qty in items]
        order = self.create_order(keys, shipping=shipping or None)
        self.flush()
        return f"Order {order['name']} placed (pending; mark it paid to book it)."

    def _page_act(self, order_id: int, action: str) -> str:
        actions = {"pay": self.pay_order, "fulfill": self.fulfill_order, "cancel": self.cancel_order,
                   "refund": self.refund}
        if action not in actions:
            return f"Unknown action {action}."
        actions[action](order_id)
        self.flush()
        return f"Order {self.order(order_id)['name']}: {action} sent."


_TOPIC_BY_ENUM = {topic.upper().replace("/", "_"): topic for topic in SUBSCRIBABLE_TOPICS}


def _topic_enum(topic: str) -> str:
    return topic.upper().replace("/", "_")


def _subscription_node(subscription: dict) -> dict:
    return {"id": gid("WebhookSubscription", subscription["id"]), "legacyResourceId": str(subscription["id"]),
            "topic": _topic_enum(subscription["topic"]), "uri": subscription["uri"], "format": "JSON",
            "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": subscription["uri"]},
            "createdAt": subscription["created_at"], "updatedAt": subscription["created_at"]}


def _handle(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"


def _tags(tags: object) -> str:
    return ", ".join(tags) if isinstance(tags, list) else str(tags or "")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m plugins.shopify.sandbox serve --port 5102 [--secret ...] [--token ...]``."""
    parser = argparse.ArgumentParser(prog="python -m plugins.shopify.sandbox",
                                     description="Run the Shopify sandbox store.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the sandbox seeded with the demo catalog")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5102)
    serve.add_argument("--shop", default=DEFAULT_SHOP)
    serve.add_argument("--token", default=DEFAULT_TOKEN, help="the X-Shopify-Access-Token to accept")
    serve.add_argument("--secret", default=DEFAULT_SECRET, help="client secret that signs the webhooks")
    serve.add_argument("--webhook-target", help="URL that receives every webhook topic")
    args = parser.parse_args(argv)
    sandbox = ShopifySandbox(shop=args.shop, access_token=args.token, client_secret=args.secret)
    sandbox.seed_demo()
    sandbox.set_webhook_target(args.webhook_target)
    server = sandbox.serve(args.host, args.port)
    print(f"Shopify sandbox for {args.shop} at {server.url}")
    print(f"  GraphQL Admin API:      {server.url}{API_PREFIX}/graphql.json")
    print(f"  X-Shopify-Access-Token: {args.token}")
    print(f"  client secret (HMAC):   {args.secret}")
    print(f"  locations:              {', '.join(f'{lid} {n}' for lid, n in sandbox.locations.items())}")
    print(f"  control:                {server.url}/_sandbox/state")
    serve_until_interrupted(server)


if __name__ == "__main__":
    main()
