"""The platform-plugin conformance suite; the kit runs it against every installed driver (``test_conformance.py``).

The kit's ``TestConformance`` takes the fixtures from the driver (``plugin_class``,
``signature_header``, ``signed_delivery(kind)``, ``store_quantity``, ``throttle_next``). A plugin
may also subclass :class:`PlatformConformance` itself, providing a few fixtures::

    class TestMyPlatformConformance(PlatformConformance):
        signature_header = "X-My-Signature"

        @pytest.fixture
        def plugin(self) -> MyPlugin: ...
        @pytest.fixture
        def credentials(self, served) -> dict: ...      # point api_base at the running sandbox
        @pytest.fixture
        def signed_delivery(self, sandbox) -> Callable[[str], tuple[dict[str, str], bytes]]: ...
        @pytest.fixture
        def sandbox_client(self, credentials) -> Iterator[StoreAPI]: ...

The suite needs no database. The plugin gets a real, unsaved
:class:`~core.models.stores.StoreConnection` (``store_connection``) whose credentials are
the subclass's ``credentials``, loaded with the plugin's schema and encrypted exactly as
:func:`core.integration.connections.set_credentials` stores them, inside a bare Flask app
context; so ``core.integration.connections.credentials(store)`` works unpatched, however
the plugin imports it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, ClassVar

import pluggy
import pytest
from flask import Flask
from marshmallow import Schema, ValidationError

from core import hookspecs
from core.integration.inbox import kept_headers, webhook_request
from core.integration.results import to_json
from core.models.stores import StoreConnection
from core.platform.base import Credentials, PlatformPlugin, RateLimited
from core.platform.data import (
    LINE_KINDS,
    CategoryData,
    OrderData,
    OrderLineData,
    ProductData,
    ProductPage,
    RefundData,
    StockQuantity,
    StoreEvent,
)
from core.platform.schemas import OrderSchema
from core.platform.webhooks import Verdict, WebhookRequest
from core.secrets import encrypt_json
from core.services.chart import DEFAULT_CHART

#: What ``signed_delivery(kind)`` must be able to produce.
DELIVERY_KINDS = ("order_completed", "order_created", "refund", "product")
#: The methods of :class:`core.platform.base.StoreAPI` (``fetch_product`` is optional there).
STORE_API_METHODS = ("check_credentials", "register_webhooks", "list_categories", "list_products",
                     "fetch_order", "push_stock", "push_product")
#: The webhook inbox keeps delivery keys in a ``String(200)`` column with a unique index.
DELIVERY_KEY_MAX = 200
PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

SignedDelivery = Callable[[str], tuple[dict[str, str], bytes]]


#: Optional capabilities a plugin may declare, and the StoreAPI call each needs (``None``: no call).
CAPABILITIES = {"order_by_id": "fetch_order_by_id", "refunds_via_api": "list_refunds", "reconcile": "list_orders",
                "order_annotation": "annotate_order", "partial_refunds": None, "guest_orders": None}


def as_request(headers: dict[str, str], body: bytes, topic: str | None = None) -> WebhookRequest:
    """A delivery as the inbox hands it to the plugin."""
    return webhook_request(headers, body, topic=topic)


def _events(parsed: StoreEvent | list[StoreEvent]) -> list[StoreEvent]:
    return list(parsed) if isinstance(parsed, list | tuple) else [parsed]


#: Event kinds the core resolves through the store API before acting (see ``StoreEvent``).
REFERENCES = ("order_ref", "refunds_ref")
#: ``authenticity`` modes whose credentials do not cover the body (Basic credentials, a static token).
BODY_NOT_COVERED = ("basic", "token")


def resolve_references(events: list[StoreEvent], client: Any) -> list[StoreEvent]:
    """``events`` with each reference replaced by what the store's API says, as the core's ``_resolve`` does."""
    resolved: list[StoreEvent] = []
    for event in events:
        if event.kind == "order_ref":
            order = client.fetch_order_by_id(event.external_id)
            assert order is not None, f"order_ref {event.external_id}: the store API has no such order"
            resolved.append(StoreEvent("order", event.name, order.external_id, order=order))
        elif event.kind == "refunds_ref":
            resolved += [StoreEvent("refund", event.name, refund.external_id, refund=refund)
                         for refund in client.list_refunds(event.external_id)
                         if event.reference is None or refund.external_id == event.reference]
        else:
            resolved.append(event)
    return resolved


def _missing(fixture: str, what: str) -> Any:
    pytest.fail(f"{fixture}: a PlatformConformance subclass must provide this fixture ({what}).")


def stored_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers the webhook inbox stores with a delivery (lower-cased, only the kept ones)."""
    return kept_headers(headers)


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() != name.lower()}


class PlatformConformance:
    """What every platform plugin must do; subclass it as ``Test<Platform>Conformance``.

    Not collected by itself (no ``Test`` prefix). A subclass sets :attr:`signature_header`
    and provides the four fixtures marked "subclass" below; the others have defaults.
    """

    #: The header carrying the webhook signature (removed by the "missing signature" test).
    signature_header: ClassVar[str] = ""
    #: Bodies that no platform can parse: each must raise ``marshmallow.ValidationError``.
    malformed_bodies: ClassVar[tuple[bytes, ...]] = (b"", b"not json", b"null", b"[]", b"{}", b'"text"',
                                                     b'{"data": null}', b'{"id": 1}')
    #: ``list_products`` must reach ``next_cursor=None`` within this many pages.
    max_pages: ClassVar[int] = 200

    # -- fixtures the subclass provides -------------------------------------------------

    @pytest.fixture
    def plugin(self) -> PlatformPlugin:
        """Subclass: the plugin instance under test."""
        return _missing("plugin", "the PlatformPlugin instance")

    @pytest.fixture
    def credentials(self) -> dict[str, Any]:
        """Subclass: credentials for a store of the running sandbox (API base, tokens, webhook secret)."""
        return _missing("credentials", "a dict the plugin's credentials_schema loads")

    @pytest.fixture
    def signed_delivery(self) -> SignedDelivery:
        """Subclass: ``make(kind) -> (headers, body)``, a new signed delivery from the sandbox per call.

        ``kind`` is one of :data:`DELIVERY_KINDS`: ``order_completed`` (an order whose status is
        in ``completed_statuses``), ``order_created``, ``refund`` and ``product``. The orders
        must exist in the sandbox ``sandbox_client`` talks to (``fetch_order`` finds them).
        """
        return _missing("signed_delivery", "a callable kind -> (headers, body)")

    @pytest.fixture
    def sandbox_client(self) -> Any:
        """Subclass: a StoreAPI client connected to the running sandbox store."""
        return _missing("sandbox_client", "a StoreAPI for a running sandbox")

    # -- optional fixtures --------------------------------------------------------------

    @pytest.fixture
    def sandbox_stock(self) -> Callable[[str], Any] | None:
        """Optional: ``stock(sku)``, the sandbox's quantity where ``push_stock`` puts it."""
        return None

    @pytest.fixture
    def throttle_next(self) -> Callable[[int], None] | None:
        """Optional: ``throttle(n)`` makes the sandbox answer the next ``n`` API calls with a rate limit."""
        return None

    @pytest.fixture
    def demo_sandbox(self) -> Callable[[], Any]:
        """Optional: makes the demo's sandbox (a :class:`core.testing.sandbox.DemoSandbox`)."""
        return _missing("demo_sandbox", "a callable making the demo's DemoSandbox")

    # -- fixtures the suite provides ----------------------------------------------------

    @pytest.fixture(autouse=True)
    def conformance_app(self) -> Iterator[Flask]:
        """A bare Flask app context: enough for ``credentials(store)`` to decrypt (no database)."""
        app = Flask("mizan-conformance")
        app.config.update(SECRET_KEY="conformance-secret", ENCRYPTION_KEY=None)
        with app.app_context():
            yield app

    @pytest.fixture
    def store_connection(self, plugin: PlatformPlugin, credentials: dict[str, Any],
                         conformance_app: Flask) -> StoreConnection:
        """An unsaved store connection of the plugin's platform holding ``credentials``."""
        return self.make_store(plugin, credentials)

    @staticmethod
    def make_store(plugin: PlatformPlugin, credentials: dict[str, Any]) -> StoreConnection:
        """Load ``credentials`` like ``set_credentials`` does and wrap them in a StoreConnection."""
        loaded = plugin.credentials_schema().load(credentials)
        ref = loaded.get("store_ref")
        return StoreConnection(
            id=1, platform=plugin.name, name=f"{plugin.title} conformance store", status="active",
            external_ref=str(ref) if ref else None, key_hash="0" * 64, key_prefix="mzs_confor",
            credentials_encrypted=encrypt_json(loaded),
            settings={"completed_statuses": list(plugin.completed_statuses)})

    def parsed(self, plugin: PlatformPlugin, store: StoreConnection, delivery: tuple[dict[str, str], bytes],
               client: Any = None, want: str | None = None) -> StoreEvent:
        """Parse ``delivery`` as the inbox's job does, from the headers the inbox keeps; references
        (``order_ref``, ``refunds_ref``) are resolved through ``client`` as the core does, keeping the
        events of kind ``want``."""
        headers, body = delivery
        events = _events(plugin.parse(store, as_request(headers, body)))
        assert events and all(isinstance(e, StoreEvent) for e in events), f"parse returned {events!r}"
        assert _events(plugin.parse(store, as_request(stored_headers(headers), body))) == events, (
            "parse must read the headers the inbox keeps (lower-cased, credentials dropped)")
        if any(event.kind in REFERENCES for event in events):
            assert client is not None, "a reference needs the store API to resolve it"
            events = [e for e in resolve_references(events, client) if want is None or e.kind == want]
        assert len(events) == 1, f"parse returned {events!r}, not one StoreEvent"
        event = events[0]
        assert event.external_id, "a parsed event needs an external_id"
        return event

    # -- the plugin describes itself ------------------------------------------------------

    def test_name_title_and_version(self, plugin: PlatformPlugin) -> None:
        assert isinstance(plugin, PlatformPlugin)
        assert PLUGIN_NAME.match(plugin.name), f"name {plugin.name!r} must be lower-case [a-z][a-z0-9_]*"
        assert plugin.name == plugin.name.lower()
        assert isinstance(plugin.title, str) and plugin.title.strip()
        assert isinstance(plugin.version, str) and plugin.version.strip()
        assert plugin.completed_statuses and all(isinstance(s, str) for s in plugin.completed_statuses)

    def test_credentials_schema_loads_the_credentials(self, plugin: PlatformPlugin,
                                                      credentials: dict[str, Any]) -> None:
        assert isinstance(plugin.credentials_schema, type) and issubclass(plugin.credentials_schema, Schema)
        loaded = plugin.credentials_schema().load(credentials)
        json.dumps(loaded)  # stored as encrypted JSON

    def test_secret_fields_are_credential_fields(self, plugin: PlatformPlugin) -> None:
        fields = set(plugin.credentials_schema().fields)
        assert isinstance(plugin.secret_fields, tuple | list)
        assert set(plugin.secret_fields) <= fields, f"not schema fields: {set(plugin.secret_fields) - fields}"

    def test_default_accounts_fit_the_default_chart(self, plugin: PlatformPlugin) -> None:
        chart = {account.code: account for account in DEFAULT_CHART}
        chart_keys = {account.key for account in DEFAULT_CHART if account.key}
        accounts = list(plugin.default_accounts)
        codes = [account.code for account in accounts]
        keys = [account.key for account in accounts]
        assert len(set(codes)) == len(codes), f"duplicate account codes: {codes}"
        assert all(keys) and len(set(keys)) == len(keys), f"every account needs its own key: {keys}"
        assert not set(codes) & set(chart), "an account code clashes with the default chart"
        assert not set(keys) & chart_keys, "an account key clashes with the default chart"
        for account in accounts:
            parent = chart.get(account.parent_code or "")
            assert parent is not None, f"{account.code}: parent {account.parent_code!r} is not in DEFAULT_CHART"
            assert parent.is_group and parent.type == account.type, f"{account.code}: parent is not a {account.type} group"
            assert account.name_en and account.name_ar, f"{account.code}: needs English and Arabic names"
        clearing = getattr(plugin, "clearing_account_key", None)
        if clearing:
            assert clearing in set(keys) | chart_keys, f"clearing_account_key {clearing!r} names no account"

    def test_hook_implementations_pass_pluggy_validation(self, plugin: PlatformPlugin,
                                                         store_connection: StoreConnection,
                                                         signed_delivery: SignedDelivery) -> None:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.register(plugin, name=plugin.name)
        pm.check_pending()
        assert pm.hook.register_default_accounts() == [list(plugin.default_accounts)]
        headers, body = signed_delivery("order_created")
        assert plugin.verify(store_connection, as_request(headers, body)) is Verdict.AUTHENTIC

    def test_declared_capabilities_have_their_store_api_calls(self, plugin: PlatformPlugin,
                                                              store_connection: StoreConnection) -> None:
        """A capability the plugin declares is one the core and the kit rely on: its call must exist."""
        unknown = set(plugin.capabilities) - set(CAPABILITIES)
        assert not unknown, f"unknown capabilities: {sorted(unknown)} (known: {sorted(CAPABILITIES)})"
        client = plugin.client(store_connection, Credentials(plugin.credentials(store_connection)))
        try:
            missing = [CAPABILITIES[name] for name in plugin.capabilities
                       if CAPABILITIES[name] and not callable(getattr(client, CAPABILITIES[name], None))]
            assert not missing, f"declared capabilities without their StoreAPI calls: {missing}"
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()

    @pytest.mark.capability("demo_sandbox")
    def test_demo_sandbox_loads(self, plugin: PlatformPlugin, demo_sandbox: Callable[[], Any]) -> None:
        """The driver's ``demo_sandbox()`` (``make run``'s store): its credentials load and its app is WSGI."""
        demo = demo_sandbox()
        assert callable(demo.app) and callable(demo.set_webhook_target)
        json.dumps(plugin.credentials_schema().load(demo.credentials("http://127.0.0.1:5999")))

    # -- webhooks: verify ---------------------------------------------------------------

    @pytest.mark.parametrize("kind", DELIVERY_KINDS)
    def test_verify_accepts_the_signed_delivery(self, plugin: PlatformPlugin, store_connection: StoreConnection,
                                                signed_delivery: SignedDelivery, kind: str) -> None:
        headers, body = signed_delivery(kind)
        assert plugin.verify(store_connection, as_request(headers, body)) is Verdict.AUTHENTIC

    def test_verify_rejects_a_tampered_body(self, plugin: PlatformPlugin, store_connection: StoreConnection,
                                            signed_delivery: SignedDelivery) -> None:
        headers, body = signed_delivery("order_completed")
        if plugin.authenticity in BODY_NOT_COVERED:
            # The credentials prove the sender, not the body: an order must not be booked as it came.
            events = _events(plugin.parse(store_connection, as_request(headers, body + b" ")))
            assert not [e for e in events if e.kind in ("order", "refund")], (
                f"{plugin.authenticity} credentials do not cover the body: parse order_ref/refunds_ref, not {events!r}")
            return
        assert plugin.verify(store_connection, as_request(headers, body + b" ")) is Verdict.REJECT
        assert plugin.verify(store_connection, as_request(headers, body[:-1] + bytes([body[-1] ^ 1]))) is Verdict.REJECT

    def test_verify_rejects_a_wrong_secret(self, plugin: PlatformPlugin, credentials: dict[str, Any],
                                           signed_delivery: SignedDelivery) -> None:
        assert plugin.secret_fields, "the webhook secret must be one of secret_fields"
        wrong = {**credentials, **{name: f"not-the-{credentials.get(name) or 'secret'}" for name in plugin.secret_fields}}
        headers, body = signed_delivery("order_completed")
        assert plugin.verify(self.make_store(plugin, wrong), as_request(headers, body)) is Verdict.REJECT

    def test_verify_rejects_a_missing_signature(self, plugin: PlatformPlugin, store_connection: StoreConnection,
                                                signed_delivery: SignedDelivery) -> None:
        assert self.signature_header, "set signature_header on the conformance subclass"
        headers, body = signed_delivery("order_completed")
        assert any(key.lower() == self.signature_header.lower() for key in headers), "the delivery is not signed"
        # Refused; a platform whose own calls may come without credentials (Basic, token) may ignore them instead
        # (200, never stored or acted on), never take them as authentic.
        allowed = (Verdict.REJECT, Verdict.IGNORE) if plugin.authenticity in BODY_NOT_COVERED else (Verdict.REJECT,)
        assert plugin.verify(store_connection, as_request(_without(headers, self.signature_header), body)) in allowed
        assert plugin.verify(store_connection, as_request({}, body)) in allowed

    # -- webhooks: delivery key -----------------------------------------------------------

    def test_delivery_key_is_stable_for_one_delivery(self, plugin: PlatformPlugin,
                                                     store_connection: StoreConnection,
                                                     signed_delivery: SignedDelivery) -> None:
        headers, body = signed_delivery("order_completed")
        key = plugin.delivery_key(store_connection, as_request(headers, body))
        assert isinstance(key, str) and 0 < len(key) <= DELIVERY_KEY_MAX
        assert plugin.delivery_key(store_connection, as_request(dict(headers), bytes(body))) == key  # a re-delivery

    def test_delivery_key_differs_between_deliveries(self, plugin: PlatformPlugin,
                                                     store_connection: StoreConnection,
                                                     signed_delivery: SignedDelivery) -> None:
        deliveries = [signed_delivery(kind) for kind in (*DELIVERY_KINDS, "order_created")]
        keys = [plugin.delivery_key(store_connection, as_request(headers, body)) for headers, body in deliveries]
        assert len(set(keys)) == len(keys), f"two different deliveries share a key: {keys}"

    # -- webhooks: parse ------------------------------------------------------------------

    @pytest.mark.parametrize("kind", ["order_completed", "order_created"])
    def test_parse_an_order(self, plugin: PlatformPlugin, store_connection: StoreConnection,
                            signed_delivery: SignedDelivery, sandbox_client: Any, kind: str) -> None:
        event = self.parsed(plugin, store_connection, signed_delivery(kind), sandbox_client, "order")
        order = event.order
        assert event.kind == "order" and isinstance(order, OrderData)
        assert isinstance(order.total, Decimal) and order.total >= 0
        assert order.lines and all(isinstance(line, OrderLineData) for line in order.lines)
        assert all(isinstance(line.quantity, Decimal) and line.quantity > 0 for line in order.lines)
        assert all(isinstance(line.unit_price, Decimal) for line in order.lines)
        assert all(line.kind in LINE_KINDS for line in order.lines), "a line is an item or a fee"
        assert order.external_id and order.number and len(order.currency) == 3
        # the core stores the order as JSON and loads it again for on_order_completed
        assert OrderSchema().load(to_json(order)) == order
        if kind == "order_completed":
            assert order.status in plugin.completed_statuses and not order.cancelled

    def test_parse_a_refund(self, plugin: PlatformPlugin, store_connection: StoreConnection,
                            signed_delivery: SignedDelivery, sandbox_client: Any) -> None:
        event = self.parsed(plugin, store_connection, signed_delivery("refund"), sandbox_client, "refund")
        refund = event.refund
        assert event.kind == "refund" and isinstance(refund, RefundData)
        assert refund.external_id and refund.order_external_id
        assert refund.lines or refund.whole_order or refund.amount is not None, "a refund of nothing"

    def test_parse_a_product(self, plugin: PlatformPlugin, store_connection: StoreConnection,
                             signed_delivery: SignedDelivery) -> None:
        event = self.parsed(plugin, store_connection, signed_delivery("product"))
        product = event.product
        assert event.kind == "product" and isinstance(product, ProductData)
        assert product.external_id and product.name and isinstance(product.price, Decimal)

    def test_a_malformed_body_raises_validation_error(self, plugin: PlatformPlugin,
                                                      store_connection: StoreConnection,
                                                      signed_delivery: SignedDelivery) -> None:
        headers, body = signed_delivery("order_created")
        for bad in (*self.malformed_bodies, body[: len(body) // 2]):
            with pytest.raises(ValidationError):
                plugin.parse(store_connection, as_request(headers, bad))
                pytest.fail(f"parse accepted the malformed body {bad[:60]!r}")

    # -- the store API ------------------------------------------------------------------

    def test_client_is_built_from_the_store_credentials(self, plugin: PlatformPlugin,
                                                        store_connection: StoreConnection) -> None:
        client = plugin.client(store_connection, Credentials(plugin.credentials(store_connection)))
        try:
            missing = [name for name in STORE_API_METHODS if not callable(getattr(client, name, None))]
            assert not missing, f"the client lacks StoreAPI methods: {missing}"
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()

    def test_check_credentials(self, sandbox_client: Any) -> None:
        name = sandbox_client.check_credentials()
        assert isinstance(name, str) and name

    def test_list_products_pages_until_the_end(self, sandbox_client: Any) -> None:
        products: list[ProductData] = []
        cursor: str | None = None
        seen: set[str | None] = set()
        for _ in range(self.max_pages):
            page = sandbox_client.list_products(cursor)
            assert isinstance(page, ProductPage)
            assert all(isinstance(product, ProductData) for product in page.products)
            products.extend(page.products)
            if page.next_cursor is None:
                break
            assert page.next_cursor not in seen, f"cursor {page.next_cursor!r} came back: endless paging"
            seen.add(page.next_cursor)
            cursor = page.next_cursor
        else:
            pytest.fail(f"list_products did not end within {self.max_pages} pages")
        assert any(product.sku for product in products), "the sandbox catalog needs a product with a SKU"

    def test_list_categories(self, sandbox_client: Any) -> None:
        categories = list(sandbox_client.list_categories())
        assert all(isinstance(category, CategoryData) and category.external_id for category in categories)

    def test_fetch_order_finds_a_delivered_order(self, plugin: PlatformPlugin, store_connection: StoreConnection,
                                                 signed_delivery: SignedDelivery, sandbox_client: Any) -> None:
        order = self.parsed(plugin, store_connection, signed_delivery("order_created"), sandbox_client, "order").order
        assert order is not None
        fetched = sandbox_client.fetch_order(order.number)
        assert isinstance(fetched, OrderData) and fetched.external_id == order.external_id
        assert sandbox_client.fetch_order("987654321") is None

    def test_push_stock_of_a_known_sku(self, sandbox_client: Any,
                                       sandbox_stock: Callable[[str], Any] | None) -> None:
        product = next(p for p in sandbox_client.list_products(None).products if p.sku)
        quantity = StockQuantity(sku=product.sku, quantity=Decimal("7"), external_id=product.external_id,
                                 stock_ref=product.stock_ref)
        assert sandbox_client.push_stock([quantity]) is None
        if sandbox_stock is not None:
            assert Decimal(sandbox_stock(product.sku)) == Decimal("7")

    def test_rate_limit_raises_rate_limited(self, sandbox_client: Any,
                                            throttle_next: Callable[[int], None] | None) -> None:
        if throttle_next is None:
            pytest.fail("no throttle_next fixture: the sandbox must be able to force a rate limit")
        throttle_next(1)
        with pytest.raises(RateLimited) as raised:
            sandbox_client.check_credentials()
        assert raised.value.retryable and raised.value.retry_after >= 0
        assert sandbox_client.check_credentials()  # the next call goes through
