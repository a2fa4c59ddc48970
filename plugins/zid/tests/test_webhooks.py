"""Zid webhooks: Basic credentials (through the real endpoint), the delivery key, parsing each topic into events."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from marshmallow import ValidationError
from sqlalchemy import select

from core.extensions import db
from core.integration import connections
from core.integration.inbox import webhook_request
from core.models import StoreConnection, StoreOrder, WebhookDelivery
from core.platform.webhooks import Verdict
from core.plugins import registry
from core.secrets import encrypt_json
from core.testing.kit.builders import count, seed_shop
from plugins.zid import ZidPlugin
from plugins.zid.sandbox import ZidSandbox, basic
from plugins.zid.webhooks import delivery_key, parse_delivery

USER, PASSWORD = "mizan-zid", "webhook-password-for-tests"
SUBSCRIPTION = {"username": USER, "password": PASSWORD}


def delivery(store: ZidSandbox, data: Any, event: str = "order.status.update") -> tuple[dict[str, str], bytes]:
    return store.build_delivery(event, data, SUBSCRIPTION)


def events(topic: str | None, body: bytes, location: str | None = None) -> list[tuple[str, str, str]]:
    return [(e.kind, e.name, e.external_id) for e in parse_delivery(topic, body, location)]


# -- parsing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("envelope", [False, True])
def test_an_order_delivery_names_the_order_to_fetch(store: ZidSandbox, envelope: bool) -> None:
    """The body cannot be proven untampered (Basic only): the core fetches the order by id (order_ref)."""
    store.envelope = envelope
    order = store.create_order([("MUG-01", 1)], send=False)
    _, body = delivery(store, order, "order.create")
    assert ("event" in json.loads(body)) is envelope
    assert events("order.create", body) == [("order_ref", "order.create", str(order["id"]))]


@pytest.mark.parametrize("action", ["refund", "reverse"])
def test_a_refunded_or_reversed_order_also_names_its_refunds(store: ZidSandbox, action: str) -> None:
    """R1: Zid has no refund event; the status says money or goods went back, list_refunds says what."""
    order = store.create_order([("MUG-01", 2)], send=False)
    store.set_status(order["id"], "delivered", send=False)
    store.refund(order["id"], send=False) if action == "refund" else store.reverse(order["id"], 0, 1, send=False)
    _, body = delivery(store, store.order(order["id"]))
    found = parse_delivery("order.status.update", body)
    assert [(e.kind, e.external_id, e.reference) for e in found] == [
        ("order_ref", str(order["id"]), None), ("refunds_ref", str(order["id"]), None)]


def test_a_payment_refund_names_the_refunds_too(store: ZidSandbox) -> None:
    order = store.create_order([("MUG-01", 1)], send=False)
    order["payment_status"] = "refunded"
    _, body = delivery(store, order, "order.payment_status.update")
    assert [e.kind for e in parse_delivery("order.payment_status.update", body)] == ["order_ref", "refunds_ref"]


def test_a_product_delivery_is_each_variant(store: ZidSandbox) -> None:
    parent = store.add_parent({"ar": "دلة", "en": "Pot"})
    small = store.add_product("POT-S", "small", "60.00", 3, parent_id=parent)
    large = store.add_product("POT-L", "large", "80.00", 2, parent_id=parent)
    _, body = delivery(store, store.product_json(parent), "product.update")
    found = parse_delivery("product.update", body)
    assert [(e.kind, e.external_id, e.product.sku) for e in found] == [
        ("product", small["id"], "POT-S"), ("product", large["id"], "POT-L")]


def test_a_product_delivery_reads_the_linked_location(store: ZidSandbox) -> None:
    jeddah = store.locations[1]["id"]
    store.set_quantity("MUG-01", 9, jeddah)
    _, body = delivery(store, store.product_json(store._by_sku("MUG-01")["id"]), "product.update")
    (event,) = parse_delivery("product.update", body, jeddah)
    assert event.product.quantity == 9


@pytest.mark.parametrize(("topic", "payload"), [
    ("product.delete", {"id": "5d5e…", "store_id": 12345}),
    ("customer.create", {"id": 77, "name": "سارة"}),
    ("app.market.application.uninstall", {"store_id": 12345}),
])
def test_other_topics_are_ignored_with_a_reason(topic: str, payload: dict[str, Any]) -> None:
    (event,) = parse_delivery(topic, json.dumps(payload).encode())
    assert event.kind == "ignored" and event.name == topic and topic in (event.reason or "")


def test_without_a_topic_in_the_url_the_body_says_what_it_is(store: ZidSandbox) -> None:
    order = store.create_order([("MUG-01", 1)], send=False)
    _, body = delivery(store, order)
    assert [kind for kind, _, _ in events(None, body)] == ["order_ref"]
    _, body = delivery(store, store.product_json(store._by_sku("MUG-01")["id"]), "product.update")
    assert [kind for kind, _, _ in events(None, body)] == ["product"]
    store.envelope = True
    _, body = delivery(store, order, "order.create")
    assert events(None, body) == [("order_ref", "order.create", str(order["id"]))]


@pytest.mark.parametrize("body", [b"", b"not json", b"null", b"[]", b"{}", b'"text"', b'{"data": null}', b'{"id": 1}',
                                  b'{"event": "order.create", "data": null}', b'{"id": 1, "order_status": "new"}'])
@pytest.mark.parametrize("topic", [None, "order.create"])
def test_a_malformed_body_raises_validation_error(body: bytes, topic: str | None) -> None:
    with pytest.raises(ValidationError):
        parse_delivery(topic, body)


# -- delivery key ----------------------------------------------------------------------------

def test_the_delivery_key_is_stable_and_names_one_change(store: ZidSandbox) -> None:
    """O3: a re-delivery of one change has one key; the next change of the order another."""
    order = store.create_order([("MUG-01", 1)], send=False)
    _, created = delivery(store, order, "order.create")
    key = delivery_key("order.create", created)
    assert key and len(key) == 64 and delivery_key("order.create", bytes(created)) == key
    assert delivery_key("order.status.update", created) != key
    _, delivered = delivery(store, store.set_status(order["id"], "delivered", send=False))
    assert delivery_key("order.status.update", delivered) not in (None, key)
    store.envelope = True
    _, enveloped = delivery(store, order, "order.create")
    assert delivery_key("order.create", enveloped) == key  # the same change, whatever the body's shape


def test_a_variants_change_is_a_new_delivery_of_its_parent(store: ZidSandbox) -> None:
    """Zid sends the parent for a variant's change; the parent's own updated_at need not move."""
    parent = store.add_parent({"ar": "دلة", "en": "Pot"})
    store.add_product("POT-S", "small", "60.00", 3, parent_id=parent)
    _, before = delivery(store, store.product_json(parent), "product.update")
    time.sleep(1.05)  # the sandbox's clock counts whole seconds
    store.update_product("POT-S", send=False, price="65.00")
    _, after = delivery(store, store.product_json(parent), "product.update")
    assert json.loads(before)["updated_at"] == json.loads(after)["updated_at"]
    assert delivery_key("product.update", before) != delivery_key("product.update", after)


def test_a_new_history_entry_is_a_new_delivery_of_an_unchanged_order(store: ZidSandbox) -> None:
    """A second return of a reversed order may leave its status and updated_at as they were."""
    order = store.create_order([("MUG-01", 2)], send=False)
    _, first = delivery(store, order)
    order["histories"] = [*order["histories"], {"comment": "Reverse order created", "created_at": order["updated_at"]}]
    _, second = delivery(store, order)
    assert delivery_key("order.status.update", first) != delivery_key("order.status.update", second)


def test_a_body_without_an_id_leaves_the_key_to_the_core() -> None:
    assert delivery_key("order.create", b"not json") is None
    assert delivery_key("order.create", b'{"code": "x"}') is None
    assert delivery_key("order.create", b'{"id": 501, "order_status": {"code": "new"}}') is None  # no version


# -- verification and the real endpoint --------------------------------------------------------

@pytest.fixture
def endpoint(app, store: ZidSandbox) -> Iterator[SimpleNamespace]:
    """A Zid store connection holding Basic webhook credentials, its settings complete (not activated)."""
    with app.app_context():
        ids = seed_shop()
        registry().install("zid")
        registry().enable("zid")
        created, key = connections.create_store("zid", "Zid webhooks")
        connections.set_credentials(created.id, {
            "authorization": store.authorization, "access_token": store.access_token,
            "store_id": str(store.store_id), "api_base": "http://127.0.0.1:9", "webhook_username": USER,
            "webhook_password": PASSWORD})
        connections.update_settings(created.id, {"default_client_id": ids.walk_in, "warehouse_id": ids.warehouse,
                                                 "branch_id": ids.branch, "create_financial_invoice": True})
        db.session.remove()
    yield SimpleNamespace(key=key, client=app.test_client())


def stored(app) -> int:
    with app.app_context():
        found = count(WebhookDelivery)
        db.session.remove()
    return found


@pytest.mark.parametrize("authorization", [basic(USER, "wrong"), basic("someone", PASSWORD), "Basic !!!", "Bearer x", ""])
def test_wrong_basic_credentials_are_refused_through_the_endpoint(app, endpoint, store: ZidSandbox,
                                                                  authorization: str) -> None:
    headers, body = delivery(store, store.create_order([("MUG-01", 1)], send=False))
    headers["Authorization"] = authorization
    answer = endpoint.client.post(f"/webhooks/{endpoint.key}/order.status.update", data=body, headers=headers)
    assert answer.status_code == 401
    assert stored(app) == 0


def test_a_delivery_without_authorization_gets_200_and_nothing_is_kept(app, endpoint, store: ZidSandbox) -> None:
    """Zid's Partner-Dashboard lifecycle events carry no Basic header: answered 200 (Zid would otherwise
    degrade the webhook), nothing stored, nothing booked."""
    order = store.create_order([("MUG-01", 1)], send=False)
    store.set_status(order["id"], "delivered", send=False)
    headers, body = store.build_delivery("order.status.update", store.order(order["id"]), {})
    assert "Authorization" not in headers
    answer = endpoint.client.post(f"/webhooks/{endpoint.key}/order.status.update", data=body, headers=headers)
    assert answer.status_code == 200
    assert stored(app) == 0
    with app.app_context():
        assert db.session.execute(select(StoreOrder)).first() is None
        db.session.remove()


def test_the_right_basic_credentials_are_stored_once(app, endpoint, store: ZidSandbox) -> None:
    headers, body = delivery(store, store.create_order([("MUG-01", 1)], send=False), "order.create")
    for _ in range(2):
        answer = endpoint.client.post(f"/webhooks/{endpoint.key}/order.create", data=body, headers=headers)
        assert answer.status_code == 200
    assert stored(app) == 1


def test_verify_reads_the_stores_credentials(store: ZidSandbox) -> None:
    flask = Flask(__name__)
    flask.config.update(SECRET_KEY="zid-verify", ENCRYPTION_KEY=None)
    with flask.app_context():
        connection = StoreConnection(platform="zid", credentials_encrypted=encrypt_json(
            {"authorization": "p", "access_token": "m", "store_id": "1", **{
                "webhook_username": USER, "webhook_password": PASSWORD}}))
        headers, body = delivery(store, {"id": 1})
        plugin = ZidPlugin()
        assert plugin.verify(connection, webhook_request(headers, body)) is Verdict.AUTHENTIC
        headers["Authorization"] = basic(USER, "nope")
        assert plugin.verify(connection, webhook_request(headers, body)) is Verdict.REJECT
        del headers["Authorization"]
        assert plugin.verify(connection, webhook_request(headers, body)) is Verdict.IGNORE
