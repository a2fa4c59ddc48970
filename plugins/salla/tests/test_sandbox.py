"""The Salla sandbox behaves like the Salla Merchant API and signs its webhooks like Salla."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask, request

from core.testing.sandbox import SandboxServer
from plugins.salla.sandbox import ORDER_STATUSES, SallaSandbox, order_amounts, seed_demo

TOKEN = "test-access-token"
SECRET = "test-webhook-secret"


class Receiver:
    """A tiny webhook endpoint that keeps every delivery's raw body and headers."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.answer = 200
        self._lock = threading.Lock()
        self.app = Flask(__name__)
        self.app.add_url_rule("/hook", "hook", self._hook, methods=["POST"])

    def _hook(self) -> tuple[str, int]:
        with self._lock:
            self.deliveries.append((request.get_data(), dict(request.headers)))
        return "", self.answer

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _headers in self.deliveries]

    def events(self) -> list[str]:
        return [payload["event"] for payload in self.payloads()]


@pytest.fixture
def sandbox() -> SallaSandbox:
    store = SallaSandbox(merchant_id=4242, access_token=TOKEN, webhook_secret=SECRET)
    seed_demo(store)
    return store


@pytest.fixture
def server(sandbox: SallaSandbox) -> Iterator[SandboxServer]:
    with sandbox.serve() as running:
        yield running


@pytest.fixture
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/admin/v2",
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest.fixture
def receiver(sandbox: SallaSandbox) -> Iterator[Receiver]:
    hook = Receiver()
    with SandboxServer(hook.app) as running:
        sandbox.set_webhook_target(running.url + "/hook")
        yield hook


def money(value: Any) -> Decimal:
    """Amounts come as JSON numbers; read them without float noise."""
    return Decimal(str(value))


# ---------------------------------------------------------------- auth, pagination, lookups


def test_api_answers_401_salla_error_without_the_right_bearer_token(server: SandboxServer,
                                                                  sandbox: SallaSandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = httpx.get(server.url + "/admin/v2/store/info", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"status": 401, "success": False, "error": {
            "code": "unauthorized", "message": "The access token is invalid"}}
    assert [r.status for r in sandbox.log.matching("GET", "/admin/v2/store/info")] == [401] * 3


def test_store_info_and_branches_are_wrapped_like_salla(api: httpx.Client) -> None:
    info = api.get("/store/info").json()
    assert info["status"] == 200 and info["success"] is True and info["data"]["id"] == 4242
    branches = api.get("/branches").json()["data"]
    assert len(branches) == 2 and [b["is_default"] for b in branches] == [True, False]


def test_products_paginate_through_three_pages_with_totals(sandbox: SallaSandbox,
                                                           api: httpx.Client) -> None:
    for n in range(36):  # 4 seeded + 36 = 40 products → 15 + 15 + 10
        sandbox.add_product(f"BULK-{n:02}", f"Bulk item {n}", "1.00", 1)
    seen: list[str] = []
    url: str | None = "/products"
    pages = []
    while url:
        body = api.get(url).json()
        pages.append(body["pagination"])
        seen.extend(p["sku"] for p in body["data"])
        url = body["pagination"]["links"].get("next")
    assert [p["count"] for p in pages] == [15, 15, 10]
    assert [p["currentPage"] for p in pages] == [1, 2, 3]
    assert {(p["total"], p["perPage"], p["totalPages"]) for p in pages} == {(40, 15, 3)}
    assert "previous" not in pages[0]["links"] and "next" not in pages[2]["links"]
    assert len(seen) == 40 and len(set(seen)) == 40
    capped = api.get("/products", params={"per_page": 500}).json()["pagination"]
    assert (capped["perPage"], capped["count"], capped["totalPages"]) == (60, 40, 1)


def test_product_found_by_sku_and_by_id_and_unknown_sku_is_404(api: httpx.Client) -> None:
    product = api.get("/products/sku/COF-250").json()["data"]
    assert product["name"] == "Arabic coffee 250 g" and product["quantity"] == 120
    assert product["price"] == {"amount": 35, "currency": "SAR"} and product["cost_price"] == 18
    assert product["categories"][0]["name"].endswith("Coffee")
    assert api.get(f"/products/{product['id']}").json()["data"] == product
    missing = api.get("/products/sku/NOPE")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    skus = [p["sku"] for p in api.get("/products").json()["data"]]
    assert "" in skus  # the demo product without SKU is listed with an empty SKU


def test_created_product_is_hidden_and_duplicate_sku_is_422(sandbox: SallaSandbox,
                                                            api: httpx.Client) -> None:
    created = api.post("/products", json={
        "name": "Cardamom 100 g", "price": 19.5, "product_type": "product", "quantity": 7,
        "sku": "CARD-100", "gtin": "123", "cost_price": "8.25", "sale_price": 0})
    assert created.status_code == 201
    product = created.json()["data"]
    assert (product["status"], product["quantity"], product["cost_price"]) == ("hidden", 7, 8.25)
    updated = api.put(f"/products/{product['id']}", json={"price": "21.00", "name": "Cardamom"})
    assert updated.status_code == 201 and updated.json()["data"]["price"]["amount"] == 21
    duplicate = api.post("/products", json={"name": "X", "price": 1, "product_type": "product",
                                            "sku": "CARD-100"})
    assert duplicate.status_code == 422
    assert "sku" in duplicate.json()["error"]["fields"]
    assert sandbox.quantity("CARD-100") == 7


# ---------------------------------------------------------------- quantities


def test_bulk_quantities_overwrite_per_branch_by_sku_and_by_id(sandbox: SallaSandbox,
                                                                api: httpx.Client) -> None:
    main, jeddah = list(sandbox.branches)
    mug_id = api.get("/products/sku/MUG-01").json()["data"]["id"]
    response = api.post("/products/quantities/bulk", json={"products": [
        {"identifer_type": "sku", "identifer": "COF-250", "quantity": 33, "mode": "overwrite",
         "branch": main},
        {"identifer_type": "sku", "identifer": "COF-250", "quantity": 4, "branch": jeddah},
        {"identifer_type": "id", "identifer": str(mug_id), "quantity": 5, "mode": "increment",
         "branch": main},
        {"identifer_type": "sku", "identifer": "DATE-1KG", "quantity": 10, "mode": "decrement"},
        {"identifer_type": "sku", "identifer": "UNKNOWN", "quantity": 1},
    ]})
    assert response.status_code == 201 and response.json()["success"] is True
    assert sandbox.quantity("COF-250", main) == 33 and sandbox.quantity("COF-250", jeddah) == 4
    assert sandbox.quantity("COF-250") == 37
    assert sandbox.quantity("MUG-01") == 65 and sandbox.quantity("DATE-1KG") == 70
    assert [u["identifer"] for u in sandbox.unmatched_quantity_updates] == ["UNKNOWN"]
    listed = api.get("/products/quantities", params={"branch": jeddah}).json()["data"]
    assert {row["sku"]: row["quantity"] for row in listed}["COF-250"] == 4
    assert api.get("/products/sku/COF-250").json()["data"]["quantity"] == 37


def test_bulk_quantities_with_a_bad_entry_change_nothing(sandbox: SallaSandbox,
                                                        api: httpx.Client) -> None:
    response = api.post("/products/quantities/bulk", json={"products": [
        {"identifer_type": "sku", "identifer": "COF-250", "quantity": 1},
        {"identifier_type": "sku", "identifier": "MUG-01", "quantity": 1},  # English spelling
    ]})
    assert response.status_code == 422
    assert "products.1.identifer_type" in response.json()["error"]["fields"]
    assert sandbox.quantity("COF-250") == 120


# ---------------------------------------------------------------- rate limits


def test_throttle_next_answers_429_with_retry_after_then_recovers(sandbox: SallaSandbox,
                                                                  api: httpx.Client) -> None:
    sandbox.bucket.throttle_next(2)
    answers = [api.get("/branches") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json()["error"]["code"] == "too_many_requests"
    assert answers[0].headers["Retry-After"] == "1"
    assert answers[2].headers["X-RateLimit-Limit"] == "120"
    assert int(answers[2].headers["X-RateLimit-Remaining"]) <= 119
    assert int(answers[2].headers["X-RateLimit-Reset"]) > 1_600_000_000


def test_exceeding_the_bucket_capacity_answers_429() -> None:
    store = SallaSandbox(access_token=TOKEN, rate_limit=3, leak_per_second=0.5)
    with store.serve() as running:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        answers = [httpx.get(running.url + "/admin/v2/branches", headers=headers)
                   for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert int(answers[3].headers["Retry-After"]) >= 1


# ---------------------------------------------------------------- webhooks


def test_webhook_signature_verifies_over_the_exact_raw_body(sandbox: SallaSandbox,
                                                            receiver: Receiver) -> None:
    response = sandbox.authorize()
    assert response["access_token"] == TOKEN
    body, headers = receiver.deliveries[-1]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Salla-Signature"], expected)
    assert headers["X-Salla-Security-Strategy"] == "Signature"
    assert headers["Content-Type"] == "application/json"
    envelope = json.loads(body)
    assert envelope["event"] == "app.store.authorize" and envelope["merchant"] == 4242
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{4} \d\d:\d\d:\d\d GMT\+0300",
                        envelope["created_at"])
    assert set(envelope["data"]) == {"access_token", "refresh_token", "expires", "scope"}
    reserialised = json.dumps(envelope).encode()  # what a careless receiver would hash
    assert hmac.new(SECRET.encode(), reserialised, hashlib.sha256).hexdigest() != expected


def test_tampered_delivery_no_longer_matches_its_signature(sandbox: SallaSandbox,
                                                           receiver: Receiver) -> None:
    body, headers = sandbox.build_delivery("product.created", sandbox.product_json(
        next(iter(sandbox.products))))
    tampered = body.replace(b'"price":{"amount":35', b'"price":{"amount":1')
    assert tampered != body
    assert sandbox.deliver("product.created", tampered, headers).status_code == 200
    received, received_headers = receiver.deliveries[-1]
    assert received == tampered
    assert hmac.new(SECRET.encode(), received, hashlib.sha256).hexdigest() != \
        received_headers["X-Salla-Signature"]


def test_redelivery_repeats_the_same_bytes_and_reports_the_receiver_status(
        sandbox: SallaSandbox, receiver: Receiver) -> None:
    sandbox.create_order([("MUG-01", 1)])
    receiver.answer = 500
    assert sandbox.redeliver().status_code == 500
    assert receiver.deliveries[0][0] == receiver.deliveries[1][0]
    assert [d.status for d in sandbox.deliveries] == [200, 500]


# ---------------------------------------------------------------- orders


@pytest.mark.parametrize(("discount", "shipping", "cod"), [
    ("0", "0", "0"), ("10", "25", "0"), ("7.77", "19.99", "12.5"), ("0", "0", "5"),
])
def test_order_totals_add_up_to_the_halala(sandbox: SallaSandbox, receiver: Receiver,
                                           discount: str, shipping: str, cod: str) -> None:
    sandbox.add_product("ODD-1", "Odd price", "33.33", 50)
    order = sandbox.create_order([("COF-250", 3), ("ODD-1", 7), ("MUG-01", 1)],
                                 discount=discount, shipping=shipping, cod=cod)
    amounts = order["amounts"]
    items = order["items"]
    assert sum(money(i["amounts"]["total"]["amount"]) for i in items) == \
        money(amounts["sub_total"]["amount"])
    assert all(money(i["amounts"]["total"]["amount"]) ==
               money(i["amounts"]["price_without_tax"]["amount"]) * i["quantity"] for i in items)
    discounts = sum((money(d["discount"]) for d in amounts["discounts"]), Decimal(0))
    assert discounts == Decimal(discount)
    assert sum(money(i["amounts"]["total_discount"]["amount"]) for i in items) == discounts
    line_tax = sum(money(i["amounts"]["tax"]["amount"]["amount"]) for i in items)
    shipping_tax = (Decimal(shipping) * Decimal("0.15")).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert money(amounts["tax"]["amount"]["amount"]) == line_tax + shipping_tax
    assert money(amounts["total"]["amount"]) == (
        money(amounts["sub_total"]["amount"]) - discounts
        + money(amounts["shipping_cost"]["amount"]) + money(amounts["cash_on_delivery"]["amount"])
        + money(amounts["tax"]["amount"]["amount"]))
    assert receiver.payloads()[-1]["data"] == order and receiver.events() == ["order.created"]


def test_order_amounts_worked_example() -> None:
    result = order_amounts([(Decimal("35.00"), 2), (Decimal("25.00"), 1)],
                           shipping=Decimal("20"), discount=Decimal("10"), cod=Decimal("5"))
    assert [(line.total, line.discount, line.tax) for line in result.lines] == [
        (Decimal("70.00"), Decimal("7.37"), Decimal("9.39")),
        (Decimal("25.00"), Decimal("2.63"), Decimal("3.36"))]
    assert (result.sub_total, result.shipping_tax, result.tax, result.total) == (
        Decimal("95.00"), Decimal("3.00"), Decimal("15.75"), Decimal("125.75"))


def test_order_status_updated_has_the_documented_activity_wrapper(sandbox: SallaSandbox,
                                                                  receiver: Receiver) -> None:
    order = sandbox.create_order([("COF-250", 1)], customer={"email": "a@b.sa"})
    sandbox.set_order_status(order["id"], "completed")
    payload = receiver.payloads()[-1]
    assert payload["event"] == "order.status.updated"
    data = payload["data"]
    assert data["id"] != order["id"] and data["order"]["id"] == order["id"]
    assert data["status"] == ORDER_STATUSES["completed"][1] == "تم التنفيذ"
    assert data["order"]["status"]["slug"] == "completed"
    assert set(data) >= {"id", "status", "customized", "note", "created_at", "order"}
    item = data["order"]["items"][0]
    assert item["product_id"] == order["items"][0]["product"]["id"] and item["sku"] == "COF-250"
    assert data["order"]["amounts"] == order["amounts"]
    assert data["order"]["customer"]["email"] == "a@b.sa"


def test_cancel_and_refund_send_their_events_and_restock_once(sandbox: SallaSandbox,
                                                              receiver: Receiver) -> None:
    first = sandbox.create_order([("DATE-1KG", 5)])
    second = sandbox.create_order([("DATE-1KG", 2)], status="completed")
    assert sandbox.quantity("DATE-1KG") == 73
    sandbox.set_order_status(first["id"], "canceled")
    refunded = sandbox.refund_order(second["id"])
    assert refunded["status"]["slug"] == "restored"
    assert receiver.events() == ["order.created", "order.created", "order.status.updated",
                                 "order.cancelled", "order.refunded"]
    assert receiver.payloads()[3]["data"]["id"] == first["id"]
    assert receiver.payloads()[4]["data"]["items"] == second["items"]
    sandbox.set_order_status(first["id"], "canceled", send=False)
    assert sandbox.quantity("DATE-1KG") == 80


def test_orders_api_gets_by_id_and_finds_by_reference(sandbox: SallaSandbox,
                                                      api: httpx.Client) -> None:
    orders = [sandbox.create_order([("MUG-01", n)], send=False) for n in (1, 2, 3)]
    fetched = api.get(f"/orders/{orders[1]['id']}").json()["data"]
    assert fetched == orders[1]
    found = api.get("/orders", params={"reference_id": orders[2]["reference_id"]}).json()
    assert [o["id"] for o in found["data"]] == [orders[2]["id"]]
    assert found["pagination"]["total"] == 1
    assert api.get("/orders").json()["pagination"]["total"] == 3
    assert api.get("/orders/1").status_code == 404


def test_rotated_tokens_invalidate_the_old_access_token(sandbox: SallaSandbox,
                                                        api: httpx.Client,
                                                        receiver: Receiver) -> None:
    data = sandbox.authorize(rotate=True)
    assert data["access_token"] != TOKEN and data["refresh_token"] != "sandbox-refresh-token"
    assert receiver.payloads()[-1]["data"] == data
    assert api.get("/branches").status_code == 401
    fresh = api.get("/branches", headers={"Authorization": f"Bearer {data['access_token']}"})
    assert fresh.status_code == 200


# ---------------------------------------------------------------- control endpoints


def test_control_endpoints_drive_the_store_and_report_webhook_status(
        sandbox: SallaSandbox, server: SandboxServer) -> None:
    hook = Receiver()
    with SandboxServer(hook.app) as hook_server, httpx.Client(
            base_url=server.url + "/_sandbox") as control:
        assert control.post("/orders", json={"items": [{"sku": "COF-250"}]}).json()[
            "webhook"] is None  # no target yet: nothing sent
        target = control.post("/webhook-target", json={"url": hook_server.url + "/hook"})
        assert target.json()["webhook_target"] == hook_server.url + "/hook"
        assert control.post("/authorize").json()["webhook"]["status"] == 200
        product = control.post("/products", json={"sku": "TEA-1", "name": "Tea", "price": "12.5",
                                                  "quantity": 9}).json()
        assert product["product"]["sku"] == "TEA-1" and product["webhook"]["status"] == 200
        placed = control.post("/orders", json={"items": [{"sku": "TEA-1", "quantity": 2}],
                                               "shipping": 15, "discount": 5, "cod": 0}).json()
        order_id = placed["order"]["id"]
        assert placed["webhook"] == {"event": "order.created", "status": 200}
        hook.answer = 503
        done = control.post(f"/orders/{order_id}/status", json={"slug": "completed"}).json()
        assert done["order"]["status"]["slug"] == "completed"
        assert done["webhook"] == {"event": "order.status.updated", "status": 503}
        hook.answer = 200
        refund = control.post(f"/orders/{order_id}/refund").json()
        assert refund["webhook"]["event"] == "order.refunded"
        assert control.post("/orders/1/refund").status_code == 404
        assert control.post("/orders", json={"items": [{"qty": 1}]}).status_code == 422
        state = control.get("/state").json()
    assert len(state["orders"]) == 2 and state["webhook_target"].endswith("/hook")
    assert [d["status"] for d in state["deliveries"]] == [200, 200, 200, 503, 200]
    tea = next(p for p in state["products"] if p["sku"] == "TEA-1")
    assert tea["quantity"] == 9  # sold 2, refunded 2
    assert [json.loads(b)["event"] for b, _h in hook.deliveries] == [
        "app.store.authorize", "product.created", "order.created", "order.status.updated",
        "order.refunded"]


def test_cli_seed_matches_the_erp_demo_skus() -> None:
    store = SallaSandbox()
    seed_demo(store)
    skus = [p.sku for p in store.products.values()]
    assert skus[:3] == ["COF-250", "DATE-1KG", "MUG-01"] and "" in skus


def test_control_endpoint_edits_a_product_sku_and_sends_product_updated(
        sandbox: SallaSandbox, server: SandboxServer) -> None:
    hook = Receiver()
    mug = next(p.id for p in sandbox.products.values() if p.sku == "MUG-01")
    with SandboxServer(hook.app) as hook_server, httpx.Client(
            base_url=server.url + "/_sandbox") as control:
        control.post("/webhook-target", json={"url": hook_server.url + "/hook"})
        edited = control.post(f"/products/{mug}", json={"sku": "MUG-02"}).json()
        assert edited["product"]["sku"] == "MUG-02"
        assert edited["webhook"] == {"event": "product.updated", "status": 200}
        taken = control.post(f"/products/{mug}", json={"sku": "COF-250"})
        assert taken.status_code == 422 and "already taken" in taken.json()["error"]["fields"]["sku"][0]
        assert control.post("/products/1", json={"sku": "X-1"}).status_code == 404
        assert control.post(f"/products/{mug}", json={}).status_code == 422
    assert [p["event"] for p in hook.payloads()] == ["product.updated"]
    assert hook.payloads()[0]["data"]["id"] == mug and hook.payloads()[0]["data"]["sku"] == "MUG-02"
    assert sandbox.quantity("MUG-02") == 60
