"""The Shopify sandbox behaves like the parts of Shopify's Admin API and webhooks the plugin uses."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from flask import Flask, request

from core.testing.sandbox import SandboxServer
from plugins.shopify.sandbox import API_PREFIX, ShopifySandbox, gid

SECRET = "test-client-secret"
TOKEN = "shpat_test"


class Receiver:
    """A tiny webhook endpoint that verifies Shopify's HMAC over the raw body it received."""

    def __init__(self, secret: str = SECRET) -> None:
        self.received: list[dict] = []
        app = Flask(__name__)

        @app.post("/hooks")
        def hooks() -> tuple[str, int]:
            raw = request.get_data()
            expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
            valid = hmac.compare_digest(expected, request.headers.get("X-Shopify-Hmac-Sha256", ""))
            self.received.append({"raw": raw, "headers": dict(request.headers), "valid": valid,
                                  "topic": request.headers.get("X-Shopify-Topic")})
            return ("", 200) if valid else ("bad signature", 401)

        self.server = SandboxServer(app).start()
        self.url = self.server.url + "/hooks"

    def topics(self) -> list[str]:
        return [r["topic"] for r in self.received]

    def last(self, topic: str) -> dict:
        return json.loads([r for r in self.received if r["topic"] == topic][-1]["raw"])


@pytest.fixture
def sandbox() -> Iterator[ShopifySandbox]:
    shop = ShopifySandbox(access_token=TOKEN, client_secret=SECRET)
    shop.seed_demo()
    yield shop
    shop.flush()


@pytest.fixture
def api(sandbox: ShopifySandbox) -> Iterator[httpx.Client]:
    with sandbox.serve() as server, httpx.Client(base_url=server.url + API_PREFIX,
                                                  headers={"X-Shopify-Access-Token": TOKEN}) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.stop()


def graphql(client: httpx.Client, query: str, **variables: object) -> dict:
    response = client.post("/graphql.json", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


PRODUCTS = """query Products($first: Int!, $after: String) {
  products(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id title variants(first: 5) { nodes { sku inventoryItem { id } } } } }
  }
}"""

SET_QUANTITIES = """mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: "k-1") {
    inventoryAdjustmentGroup { changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}"""


def item_id(client: httpx.Client, sku: str) -> str:
    data = graphql(client, 'query($q: String) { productVariants(first: 1, query: $q) '
                           '{ nodes { inventoryItem { id } } } }', q=f"sku:{sku}")
    return data["productVariants"]["nodes"][0]["inventoryItem"]["id"]


def test_api_calls_without_the_access_token_get_401(sandbox: ShopifySandbox) -> None:
    with sandbox.serve() as server:
        missing = httpx.post(server.url + API_PREFIX + "/graphql.json", json={"query": "{ shop { name } }"})
        wrong = httpx.get(server.url + API_PREFIX + "/orders.json",
                          headers={"X-Shopify-Access-Token": "shpat_wrong"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["errors"].startswith("[API] Invalid API key or access token")


def test_shop_and_locations_answer_in_one_query(api: httpx.Client, sandbox: ShopifySandbox) -> None:
    data = graphql(api, "{ shop { name currencyCode } locs: locations(first: 10) { nodes { id name } } }")
    assert data["shop"]["currencyCode"] == "SAR"
    assert [n["id"] for n in data["locs"]["nodes"]] == [gid("Location", i) for i in sandbox.location_ids]


def test_products_paginate_by_cursor_through_three_pages(api: httpx.Client, sandbox: ShopifySandbox) -> None:
    sandbox.add_product("DALLAH-S", "Brass dallah, small", "149.00", 15)
    first = graphql(api, PRODUCTS, first=2)["products"]
    second = graphql(api, PRODUCTS, first=2, after=first["pageInfo"]["endCursor"])["products"]
    third = graphql(api, PRODUCTS, first=2, after=second["pageInfo"]["endCursor"])["products"]
    titles = [e["node"]["title"] for page in (first, second, third) for e in page["edges"]]
    assert titles == ["Arabic coffee 250 g", "Sukkari dates 1 kg", "Ceramic mug", "Gift wrapping",
                      "Brass dallah, small"]
    assert [p["pageInfo"]["hasNextPage"] for p in (first, second, third)] == [True, True, False]


def test_inventory_set_quantities_sets_each_location(api: httpx.Client, sandbox: ShopifySandbox) -> None:
    item = item_id(api, "COF-250")
    riyadh, jeddah = (gid("Location", i) for i in sandbox.location_ids)
    data = graphql(api, SET_QUANTITIES, input={
        "name": "available", "reason": "correction", "referenceDocumentUri": "gid://mizan/Stock/1",
        "quantities": [{"inventoryItemId": item, "locationId": riyadh, "quantity": 7, "changeFromQuantity": 120},
                       {"inventoryItemId": item, "locationId": jeddah, "quantity": 3, "changeFromQuantity": None}]})
    result = data["inventorySetQuantities"]
    assert result["userErrors"] == []
    assert [(c["delta"], c["quantityAfterChange"]) for c in result["inventoryAdjustmentGroup"]["changes"]] == \
        [(-113, 7), (3, 3)]
    assert sandbox.available("COF-250", sandbox.location_ids[0]) == 7
    assert sandbox.available("COF-250", sandbox.location_ids[1]) == 3
    assert sandbox.available("COF-250") == 10


def test_inventory_set_quantities_rejects_a_stale_compare_quantity(api: httpx.Client, sandbox: ShopifySandbox) -> None:
    item = item_id(api, "MUG-01")
    data = graphql(api, SET_QUANTITIES, input={
        "name": "available", "reason": "correction",
        "quantities": [{"inventoryItemId": item, "locationId": gid("Location", sandbox.location_ids[0]),
                        "quantity": 1, "changeFromQuantity": 59}]})
    assert data["inventorySetQuantities"]["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert sandbox.available("MUG-01") == 60


def test_inventory_set_quantities_rejects_more_than_250_quantities(api: httpx.Client, sandbox: ShopifySandbox) -> None:
    item, location = item_id(api, "DATE-1KG"), gid("Location", sandbox.location_ids[0])
    quantities = [{"inventoryItemId": item, "locationId": location, "quantity": 1, "changeFromQuantity": None}] * 251
    result = graphql(api, SET_QUANTITIES, input={"name": "available", "reason": "correction",
                                                 "quantities": quantities})["inventorySetQuantities"]
    assert result["inventoryAdjustmentGroup"] is None
    assert result["userErrors"][0]["field"] == ["input", "quantities"]
    assert sandbox.available("DATE-1KG") == 80


def test_graphql_answers_carry_cost_and_an_empty_bucket_answers_429(api: httpx.Client, sandbox: ShopifySandbox) -> None:
    ok = api.post("/graphql.json", json={"query": "{ shop { name } }"}).json()
    assert set(ok["extensions"]["cost"]["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable",
                                                              "restoreRate"}
    sandbox.bucket.throttle_next(1)
    throttled = api.post("/graphql.json", json={"query": "{ shop { name } }"})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["errors"][0]["message"] == "Throttled"
    assert api.post("/graphql.json", json={"query": "{ shop { name } }"}).status_code == 200


def test_rest_calls_report_the_call_limit_and_429_when_throttled(api: httpx.Client, sandbox: ShopifySandbox) -> None:
    assert api.get("/orders.json").headers["X-Shopify-Shop-Api-Call-Limit"].endswith("/40")
    sandbox.rest_bucket.throttle_next(1)
    throttled = api.get("/orders.json")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"


def test_webhook_hmac_verifies_over_the_exact_raw_body(sandbox: ShopifySandbox, receiver: Receiver) -> None:
    sandbox.set_webhook_target(receiver.url)
    order = sandbox.create_order([("COF-250", 1)], customer={"first_name": "نورة", "email": "n@example.sa"})
    delivered = receiver.received[0]
    assert delivered["valid"] and delivered["topic"] == "orders/create"
    assert json.loads(delivered["raw"]) == order
    assert "نورة".encode() in delivered["raw"]  # UTF-8 on the wire, not \u escapes
    headers = delivered["headers"]
    assert headers["X-Shopify-Shop-Domain"] == sandbox.shop and headers["X-Shopify-Api-Version"] == "2026-01"
    assert {"X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"} <= set(headers)

    body, tampered_headers = sandbox.build_delivery("orders/create", order)
    tampered = httpx.post(receiver.url, content=body.replace(b'"quantity":1', b'"quantity":9'),
                          headers=tampered_headers)
    assert tampered.status_code == 401


def test_redelivery_reuses_the_webhook_id(sandbox: ShopifySandbox, receiver: Receiver) -> None:
    sandbox.set_webhook_target(receiver.url)
    order = sandbox.create_order([("MUG-01", 1)])
    sandbox.pay_order(order["id"])
    assert sandbox.redeliver().status_code == 200
    first, second = receiver.received[-2:]
    assert first["topic"] == second["topic"] == "orders/paid"
    assert first["headers"]["X-Shopify-Webhook-Id"] == second["headers"]["X-Shopify-Webhook-Id"]
    assert first["raw"] == second["raw"]
    assert receiver.received[0]["headers"]["X-Shopify-Webhook-Id"] != first["headers"]["X-Shopify-Webhook-Id"]


@pytest.mark.parametrize(("taxes_included", "line_taxes", "shipping_tax", "total_tax", "total_price"), [
    (True, ["8.22", "2.93"], "1.96", "13.11", "100.50"),
    (False, ["9.45", "3.38"], "2.25", "15.08", "115.58"),
])
def test_order_totals_add_up_with_discount_and_shipping(sandbox: ShopifySandbox, taxes_included: bool,
                                                        line_taxes: list[str], shipping_tax: str,
                                                        total_tax: str, total_price: str) -> None:
    order = sandbox.create_order([("COF-250", 2), ("MUG-01", 1)], shipping="15.00", discount="10%",
                                 taxes_included=taxes_included)
    lines = order["line_items"]
    assert [line["discount_allocations"][0]["amount"] for line in lines] == ["7.00", "2.50"]
    assert [line["tax_lines"][0]["price"] for line in lines] == line_taxes
    assert order["shipping_lines"][0]["tax_lines"][0]["price"] == shipping_tax
    assert (order["total_line_items_price"], order["total_discounts"], order["subtotal_price"]) == \
        ("95.00", "9.50", "85.50")
    assert (order["total_tax"], order["total_price"]) == (total_tax, total_price)
    # what a connector recomputes from the parts
    d = Decimal
    tax = sum(d(t["price"]) for x in lines + order["shipping_lines"] for t in x["tax_lines"])
    net = sum(d(x["price"]) * x["quantity"] - d(x["total_discount"]) for x in lines)
    shipping = d(order["shipping_lines"][0]["price"])
    assert net + shipping + (0 if taxes_included else tax) == d(order["total_price"])
    assert tax == d(order["total_tax"])


def test_fixed_discount_and_guest_order(sandbox: ShopifySandbox) -> None:
    order = sandbox.create_order([("DATE-1KG", 1), ("MUG-01", 2)], customer=None, discount="10.00")
    assert order["customer"] is None and order["email"] is None
    assert order["discount_codes"] == [{"code": "SANDBOX", "amount": "10.00", "type": "fixed_amount"}]
    assert sum(Decimal(x["total_discount"]) for x in order["line_items"]) == Decimal("10.00")
    assert order["total_price"] == "85.00" and sandbox.available("MUG-01") == 58


def test_partial_refund_payload_and_the_rest(sandbox: ShopifySandbox, receiver: Receiver) -> None:
    sandbox.set_webhook_target(receiver.url)
    order = sandbox.create_order([("COF-250", 2), ("MUG-01", 1)], shipping="15.00")
    sandbox.pay_order(order["id"])
    sandbox.fulfill_order(order["id"])
    coffee = order["line_items"][0]
    assert coffee["tax_lines"][0]["price"] == "9.13"  # 70.00 * 0.15 / 1.15

    refund = sandbox.refund(order["id"], [(coffee["id"], 1)])
    assert receiver.last("refunds/create") == refund
    line = refund["refund_line_items"][0]
    assert (line["line_item_id"], line["line_item"]["sku"], line["quantity"]) == (coffee["id"], "COF-250", 1)
    assert (line["subtotal"], line["total_tax"]) == ("35.00", "4.57")  # half of 9.13, rounded half up
    assert (line["restock_type"], line["location_id"]) == ("return", sandbox.location_ids[0])
    assert refund["transactions"][0]["kind"] == "refund" and refund["transactions"][0]["amount"] == "35.00"
    assert refund["order_adjustments"] == []
    assert sandbox.available("COF-250") == 119
    after = sandbox.order(order["id"])
    assert (after["financial_status"], after["current_total_price"]) == ("partially_refunded", "75.00")

    rest = sandbox.refund(order["id"], [(coffee["id"], 1)], restock=False, shipping=True)
    assert (rest["refund_line_items"][0]["total_tax"], rest["refund_line_items"][0]["restock_type"]) == \
        ("4.56", "no_restock")
    assert rest["order_adjustments"][0]["amount"] == "-15.00"
    assert rest["transactions"][0]["amount"] == "50.00"
    with pytest.raises(ValueError):
        sandbox.refund(order["id"], [(coffee["id"], 1)])


def test_refund_of_a_tax_exclusive_order_adds_the_tax(sandbox: ShopifySandbox) -> None:
    order = sandbox.create_order([("MUG-01", 3)], shipping="10.00", taxes_included=False)
    refund = sandbox.refund(order["id"], shipping=True)
    assert refund["transactions"][0]["amount"] == order["total_price"] == "97.75"
    assert sandbox.order(order["id"])["financial_status"] == "refunded"


def test_rest_order_lookup_by_name_and_id(api: httpx.Client, sandbox: ShopifySandbox, receiver: Receiver) -> None:
    sandbox.set_webhook_target(receiver.url)
    first = sandbox.create_order([("COF-250", 1)])
    second = sandbox.create_order([("MUG-01", 1)])
    sandbox.cancel_order(second["id"])
    found = api.get("/orders.json", params={"name": "#1001", "status": "any"}).json()["orders"]
    assert found == [json.loads(receiver.received[0]["raw"])]  # the webhook's payload shape
    assert api.get("/orders.json", params={"name": "#1002"}).json()["orders"] == []  # cancelled is not open
    assert api.get("/orders.json", params={"name": "1002", "status": "cancelled"}).json()["orders"][0]["id"] == \
        second["id"]
    assert api.get(f"/orders/{first['id']}.json").json()["order"]["name"] == "#1001"
    assert api.get("/orders/1.json").status_code == 404


def test_webhook_subscription_create_routes_topics(api: httpx.Client, sandbox: ShopifySandbox,
                                                   receiver: Receiver) -> None:
    subscribe = """mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
        webhookSubscription { id topic } userErrors { field message } } }"""
    created = graphql(api, subscribe, topic="ORDERS_PAID", sub={"uri": receiver.url, "format": "JSON"})
    assert created["webhookSubscriptionCreate"]["webhookSubscription"]["topic"] == "ORDERS_PAID"
    again = graphql(api, subscribe, topic="ORDERS_PAID", sub={"callbackUrl": receiver.url})
    assert again["webhookSubscriptionCreate"]["userErrors"]
    graphql(api, subscribe, topic="PRODUCTS_CREATE", sub={"uri": receiver.url})

    order = sandbox.create_order([("COF-250", 1)])
    sandbox.pay_order(order["id"])
    assert receiver.topics() == ["orders/paid"]

    made = graphql(api, "mutation($p: ProductCreateInput!) { productCreate(product: $p) { product { id } } }",
                   p={"title": "Cardamom"})
    product_id = made["productCreate"]["product"]["id"]
    variant = graphql(api, "query($id: ID!) { product(id: $id) { variants(first: 1) { nodes { id } } } }",
                      id=product_id)["product"]["variants"]["nodes"][0]["id"]
    updated = graphql(api, """mutation($pid: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $pid, variants: $variants) { productVariants { sku price } } }""",
                      pid=product_id, variants=[{"id": variant, "price": "12.5",
                                                 "inventoryItem": {"sku": "CARD-100", "cost": "6"}}])
    assert updated["productVariantsBulkUpdate"]["productVariants"] == [
        updated["productVariantsBulkUpdate"]["productVariants"][0] | {"sku": "CARD-100", "price": "12.50"}]
    sandbox.flush()
    assert receiver.topics() == ["orders/paid", "products/create"]  # no subscription for products/update


def test_productcreate_needs_its_input_as_a_variable(api: httpx.Client) -> None:
    answer = api.post("/graphql.json", json={"query": "mutation { productCreate(product: {title: \"X\"}) { product { id } } }"}).json()
    assert answer["data"] is None and answer["errors"]


def test_control_endpoints_drive_an_order_and_report_deliveries(sandbox: ShopifySandbox,
                                                                receiver: Receiver) -> None:
    with sandbox.serve() as server, httpx.Client(base_url=server.url + "/_sandbox") as control:
        assert control.post("/webhook-target", json={"url": receiver.url}).json()["url"] == receiver.url
        created = control.post("/orders", json={"items": [{"sku": "DATE-1KG", "quantity": 2}],
                                                "shipping": "15.00", "customer": None}).json()
        order_id = created["order"]["id"]
        assert created["deliveries"][0]["topic"] == "orders/create" and created["deliveries"][0]["status"] == 200
        assert control.post(f"/orders/{order_id}/pay").json()["order"]["financial_status"] == "paid"
        assert control.post(f"/orders/{order_id}/fulfill").json()["deliveries"][0]["topic"] == "orders/fulfilled"
        line_id = created["order"]["line_items"][0]["id"]
        refund = control.post(f"/orders/{order_id}/refund", json={"lines": [{"line_item_id": line_id, "quantity": 1}]})
        assert refund.json()["refund"]["refund_line_items"][0]["quantity"] == 1
        assert control.post(f"/orders/{order_id}/refund", json={"lines": [[line_id, 5]]}).status_code == 422
        assert control.post("/orders/1/pay").status_code == 404
        product = control.post("/products", json={"sku": "TEA-01", "title": "Tea", "price": "12.00", "quantity": 4})
        assert product.json()["deliveries"][0]["topic"] == "products/create"
        state = control.get("/state").json()
        assert [p["variants"][0]["sku"] for p in state["products"]][-1] == "TEA-01"
        assert len(state["deliveries"]) == 5
    assert receiver.topics() == ["orders/create", "orders/paid", "orders/fulfilled", "refunds/create",
                                 "products/create"]


def test_demo_seed_matches_the_erp_demo_and_has_a_variant_without_sku(sandbox: ShopifySandbox) -> None:
    products = sandbox.state()["products"]
    assert [(p["variants"][0]["sku"], p["variants"][0]["price"]) for p in products] == [
        ("COF-250", "35.00"), ("DATE-1KG", "45.00"), ("MUG-01", "25.00"), ("", "10.00")]
    order = sandbox.create_order([(products[3]["variants"][0]["id"], 1)], send=False)
    assert order["line_items"][0]["sku"] is None


def test_control_endpoint_edits_a_variant_sku_and_sends_products_update(sandbox: ShopifySandbox,
                                                                         receiver: Receiver) -> None:
    mug = next(p for p in sandbox.state()["products"] if p["variants"][0]["sku"] == "MUG-01")
    with sandbox.serve() as server, httpx.Client(base_url=server.url + "/_sandbox") as control:
        control.post("/webhook-target", json={"url": receiver.url})
        edited = control.post(f"/products/{mug['id']}", json={"sku": "MUG-02"}).json()
        assert edited["product"]["variants"][0]["sku"] == "MUG-02"
        assert edited["deliveries"][0]["topic"] == "products/update" and edited["deliveries"][0]["status"] == 200
        assert control.post("/products/1", json={"sku": "X-1"}).status_code == 404
        assert control.post(f"/products/{mug['id']}", json={}).status_code == 422
    assert receiver.topics() == ["products/update"]
    assert sandbox.available("MUG-02") == 60
