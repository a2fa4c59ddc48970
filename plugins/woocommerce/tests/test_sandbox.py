"""The WooCommerce sandbox over HTTP: Basic consumer keys, WordPress paging headers, the 100-item batch limit,
refunds naming their lines, webhooks pinged on creation and signed at delivery time, lost and failing deliveries."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import httpx
import pytest

from plugins.woocommerce.sandbox import API, WooCommerceSandbox, seed_demo


def hook(api: httpx.Client, receiver, topic: str, secret: str = "s3cret") -> dict:
    answer = api.post("/webhooks", json={"name": topic, "topic": topic, "delivery_url": receiver.url,
                                         "secret": secret, "status": "active"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def signed(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_a_call_without_the_consumer_key_is_refused(store, store_url, api):
    for auth in (None, ("ck_wrong", store.consumer_secret)):
        answer = httpx.get(store_url + API + "/products", auth=auth)
        assert answer.status_code == 401
        assert answer.json() == {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                                 "data": {"status": 401}}
    query = {"consumer_key": store.consumer_key, "consumer_secret": store.consumer_secret}
    assert httpx.get(store_url + API + "/products", params=query).status_code == 200
    assert api.get("/system_status").json()["environment"]["site_url"] == store_url


def test_lists_page_with_wordpress_headers(api):
    first = api.get("/products", params={"per_page": 3, "orderby": "id", "order": "asc"})
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("4", "2")
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    second = api.get("/products", params={"per_page": 3, "page": 2, "orderby": "id", "order": "asc"})
    assert len(first.json()) == 3 and len(second.json()) == 1 and 'rel="prev"' in second.headers["Link"]
    assert {p["sku"] for p in first.json() + second.json()} == {"COF-250", "DATE-1KG", "MUG-01", ""}
    assert api.get("/products", params={"per_page": 101}).status_code == 400


def test_an_sku_lookup_finds_variations_and_categories_name_their_parent():
    store = WooCommerceSandbox()
    seed_demo(store, rich=True)
    with store.serve() as server, httpx.Client(base_url=server.url + API,
                                               auth=(store.consumer_key, store.consumer_secret)) as api:
        [variation] = api.get("/products", params={"sku": "POT-S"}).json()
        assert variation["type"] == "variation" and variation["parent_id"]
        parent = api.get(f"/products/{variation['parent_id']}").json()
        assert parent["type"] == "variable" and len(parent["variations"]) == 2
        assert "POT-S" not in {p["sku"] for p in api.get("/products", params={"per_page": 100}).json()}
        listed = api.get(f"/products/{parent['id']}/variations").json()
        assert {v["sku"] for v in listed} == {"POT-S", "POT-L"}
        categories = api.get("/products/categories").json()
        assert any(c["parent"] for c in categories) and any(c["parent"] == 0 for c in categories)


def test_a_batch_of_more_than_100_items_is_refused_with_413(store, api):
    mug = store.update_product("MUG-01", send=False)
    too_many = {"update": [{"id": mug["id"], "stock_quantity": 1}] * 101}
    refused = api.post("/products/batch", json=too_many)
    assert refused.status_code == 413 and refused.json()["code"] == "woocommerce_rest_request_entity_too_large"
    done = api.post("/products/batch", json={"update": [{"id": mug["id"], "stock_quantity": 7, "manage_stock": True},
                                                        {"id": 999999, "stock_quantity": 1}]})
    assert done.status_code == 200
    assert done.json()["update"][0]["stock_quantity"] == 7 and "error" in done.json()["update"][1]
    assert store.quantity("MUG-01") == 7


def test_order_amounts_are_taxed_per_line_in_both_tax_modes(store):
    """VAT-inclusive prices (the store's default): 2 × 25.00 less 10 % is 45.00 of which 5.87 VAT; exclusive: 15 % on top."""
    inclusive = store.create_order([("MUG-01", 2)], coupon="save10", shipping="15.00", fee=True, send=False)
    line = inclusive["line_items"][0]
    assert (line["subtotal"], line["subtotal_tax"], line["total"], line["total_tax"]) == ("43.48", "6.52", "39.13", "5.87")
    assert inclusive["shipping_lines"][0]["total"] == "13.04" and inclusive["fee_lines"][0]["total_tax"] == "1.30"
    assert inclusive["total"] == "70.00" and inclusive["prices_include_tax"] is True
    exclusive = store.create_order([("MUG-01", 2)], prices_include_tax=False, shipping="10.00", send=False)
    line = exclusive["line_items"][0]
    assert (line["subtotal"], line["total_tax"]) == ("50.00", "7.50") and exclusive["total"] == "69.00"
    guest = store.create_order([("MUG-01", 1)], guest=True, send=False)
    assert guest["customer_id"] == 0 and guest["billing"]["email"]


def test_refunds_name_their_lines_and_a_full_refund_makes_the_order_refunded(store, api):
    order = store.create_order([("MUG-01", 3), ("COF-250", 1)], shipping="15.00", send=False)
    store.set_status(order["id"], "completed", send=False)
    before = store.quantity("MUG-01")
    store.refund(order["id"], [(0, 2)], send=False)
    [partial] = api.get(f"/orders/{order['id']}/refunds").json()
    [item] = partial["line_items"]
    assert item["quantity"] == -2 and item["meta_data"][0]["key"] == "_refunded_item_id"
    assert item["meta_data"][0]["value"] == str(order["line_items"][0]["id"])
    assert store.quantity("MUG-01") == before + 2 and store.order(order["id"])["status"] == "completed"
    store.refund(order["id"], send=False)
    now = api.get(f"/orders/{order['id']}").json()
    assert now["status"] == "refunded" and len(now["refunds"]) == 2
    assert sum(-Decimal(r["total"]) for r in now["refunds"]) == Decimal(now["total"])
    whole = api.get(f"/orders/{order['id']}/refunds/{now['refunds'][0]['id']}").json()
    assert whole["shipping_lines"] and {i["quantity"] for i in whole["line_items"]} == {-1}


def test_creating_a_webhook_pings_it_unsigned_and_never_shows_its_secret(store, api, receiver):
    made = hook(api, receiver, "order.created")
    assert made["status"] == "active" and "secret" not in made
    store.join_pings()
    [(headers, body)] = receiver.received
    assert body == f"webhook_id={made['id']}".encode() and "X-Wc-Webhook-Signature" not in headers
    assert "secret" not in api.get("/webhooks").json()[0]


def test_a_delivery_is_the_order_now_signed_with_the_webhook_secret(store, store_url, api, receiver):
    hook(api, receiver, "order.updated", secret="abc")
    store.join_pings()
    order = store.create_order([("MUG-01", 1)], send=False)
    store.set_status(order["id"], "completed")
    headers, body = receiver.received[-1]
    assert headers["X-Wc-Webhook-Signature"] == signed("abc", body)
    assert headers["X-Wc-Webhook-Topic"] == "order.updated" and headers["X-Wc-Webhook-Source"] == store_url + "/"
    assert headers["User-Agent"].startswith("WooCommerce/")
    assert json.loads(body)["status"] == "completed" and json.loads(body)["date_completed_gmt"]


def test_dropped_deliveries_are_recorded_not_sent(store, api, receiver):
    hook(api, receiver, "order.created")
    store.join_pings()
    store.drop = True
    store.create_order([("MUG-01", 1)])
    assert len(receiver.received) == 1 and store.deliveries[-1].dropped  # only the ping came


def test_a_webhook_is_disabled_after_more_than_five_failures_in_a_row(store, api, receiver):
    made = hook(api, receiver, "order.created")
    store.join_pings()
    receiver.status = 500
    for _ in range(6):
        store.create_order([("MUG-01", 1)])
    assert api.get("/webhooks").json()[0]["status"] == "disabled"
    store.create_order([("MUG-01", 1)])
    assert len(receiver.received) == 1 + 6  # the ping and six failures; nothing retried, nothing after
    assert made["id"] == store.webhooks[0]["id"]


def test_a_deferred_delivery_carries_the_order_as_it_is_when_it_goes_out(store, api, receiver):
    """Completed then refunded before the first delivery: one order.updated, already refunded, still completed once."""
    hook(api, receiver, "order.updated", secret="abc")
    store.join_pings()
    store.deferred = True
    order = store.create_order([("MUG-01", 2)], send=False)
    store.set_status(order["id"], "completed")
    store.refund(order["id"])
    assert len(receiver.received) == 1 and len(store.pending) == 1
    store.flush()
    headers, body = receiver.received[-1]
    sent = json.loads(body)
    assert sent["status"] == "refunded" and sent["date_completed_gmt"] and len(sent["refunds"]) == 1
    assert headers["X-Wc-Webhook-Signature"] == signed("abc", body)


def test_notes_and_the_changed_since_list(store, api):
    first = store.create_order([("MUG-01", 1)], send=False)
    second = store.create_order([("COF-250", 1)], send=False)
    store.set_status(first["id"], "completed", send=False)
    assert api.post(f"/orders/{first['id']}/notes", json={"note": "Mizan invoice INV-1"}).status_code == 201
    assert store.notes(first["id"]) == ["Mizan invoice INV-1"]
    changed = api.get("/orders", params={"modified_after": second["date_modified_gmt"], "dates_are_gmt": "true",
                                         "orderby": "modified", "order": "asc"}).json()
    assert [o["id"] for o in changed] in ([first["id"]], [])  # strictly after, to the second
    everything = api.get("/orders", params={"orderby": "modified", "order": "asc"}).json()
    assert [o["id"] for o in everything][-1] == first["id"]
    assert [o["id"] for o in api.get("/orders", params={"search": str(second["id"])}).json()] == [second["id"]]


@pytest.mark.parametrize("status", [429, 503])
def test_throttled_calls_ask_to_retry_later(store, api, status):
    store.throttle_next(1, status, retry_after=2)
    answer = api.get("/products")
    assert answer.status_code == status and answer.headers["Retry-After"] == "2"
    assert api.get("/products").status_code == 200


def test_the_control_page_places_completes_and_refunds(store):
    page = store.app.test_client()
    assert "WooCommerce" in page.get("/_sandbox/").get_data(as_text=True)
    page.post("/_sandbox/ui/orders", data={"sku_0": "MUG-01", "qty_0": "2", "coupon": "save10", "fee": "1"})
    order_id = max(store.orders)
    assert store.order(order_id)["fee_lines"] and store.order(order_id)["coupon_lines"]
    page.post(f"/_sandbox/ui/orders/{order_id}/complete")
    page.post(f"/_sandbox/ui/orders/{order_id}/refund_line")
    assert store.order(order_id)["status"] == "completed" and len(store.refunds(order_id)) == 1
    page.post(f"/_sandbox/ui/orders/{order_id}/refund")
    assert store.order(order_id)["status"] == "refunded"
    page.post("/_sandbox/ui/drop", data={"drop": "1"})
    assert store.drop


def test_a_disabled_webhook_is_made_active_again_with_a_put(store, api, receiver):
    made = hook(api, receiver, "order.created")
    store.join_pings()
    store.webhooks[0].update(status="disabled", failure_count=6)
    again = api.put(f"/webhooks/{made['id']}", json={"status": "active", "secret": "new"})
    assert again.status_code == 200 and again.json()["status"] == "active" and "secret" not in again.json()
    assert store.webhooks[0]["failure_count"] == 0 and store.webhooks[0]["secret"] == "new"
    assert api.put("/webhooks/999", json={"status": "active"}).status_code == 404


def test_the_batch_limit_is_the_sites(store, api):
    store.batch_limit = 2
    mug = store.update_product("MUG-01", send=False)
    answer = api.post("/products/batch", json={"update": [{"id": mug["id"], "stock_quantity": 1}] * 3})
    assert answer.status_code == 413 and "2 items" in answer.json()["message"]
