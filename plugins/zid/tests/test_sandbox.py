"""The Zid sandbox's own behaviour over real HTTP: auth, paging, rate limit, stock, orders, returns, webhooks."""
from __future__ import annotations

import base64
import json
from decimal import Decimal

import httpx
import pytest

from plugins.zid.sandbox import ZidSandbox, seed_demo
from plugins.zid.sandbox_orders import order_amounts
from plugins.zid.tests.conftest import Receiver

ORDERS = "/v1/managers/store/orders"


def get(url: str, headers: dict[str, str], **params: object) -> httpx.Response:
    return httpx.get(url, headers=headers, params=params)


@pytest.mark.parametrize("drop", ["Authorization", "X-Manager-Token"])
def test_a_call_without_either_token_is_unauthenticated(store_url, api_headers, drop):
    """Both the partner token (Bearer) and the manager token are needed."""
    headers = {k: v for k, v in api_headers.items() if k != drop}
    answer = get(store_url + "/v1/managers/account/profile", headers)
    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthenticated"})


def test_the_manager_token_may_come_as_access_token_and_the_profile_names_the_store(store, store_url, api_headers):
    headers = {**{k: v for k, v in api_headers.items() if k != "X-Manager-Token"}, "Access-Token": store.access_token}
    answer = get(store_url + "/v1/managers/account/profile", headers)
    assert answer.status_code == 200
    assert answer.json()["user"]["store"] == {"id": 12345, "title": "متجر زد التجريبي", "currency": {"code": "SAR"}}
    wrong = get(store_url + "/v1/managers/account/profile", {**api_headers, "X-Manager-Token": "nope"})
    assert wrong.status_code == 401


def test_products_page_with_absolute_next_and_previous_urls(store, store_url, api_headers):
    for number in range(6):
        store.add_product(f"TEA-{number}", f"Tea {number}", "10.00", 1)
    first = get(store_url + "/v1/products/", api_headers, page=1, page_size=5).json()
    assert first["count"] == 10 and first["previous"] is None and len(first["results"]) == 5
    assert first["next"].startswith(store_url + "/v1/products/") and "page=2" in first["next"]
    seen, url = [p["id"] for p in first["results"]], first["next"]
    while url:
        page = httpx.get(url, headers=api_headers).json()
        assert page["previous"].startswith(store_url)
        seen += [p["id"] for p in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 10


def test_a_product_with_variants_and_the_sku_filter():
    store = ZidSandbox()
    seed_demo(store, rich=True)
    with store.serve() as server:
        check_variants_and_sku_filter(store, server.url, {"Authorization": f"Bearer {store.authorization}",
                                                          "X-Manager-Token": store.access_token})


def check_variants_and_sku_filter(store, store_url, api_headers):
    found = get(store_url + "/v1/products/", api_headers, sku="POT-L").json()["results"]
    assert len(found) == 1 and found[0]["structure"] == "parent" and found[0]["sku"] == ""
    assert [v["sku"] for v in found[0]["variants"]] == ["POT-S", "POT-L"]
    assert all(v["structure"] == "child" and v["parent_id"] == found[0]["id"] for v in found[0]["variants"])
    mug = get(store_url + "/v1/products/", api_headers, sku="MUG-01").json()["results"][0]
    assert mug["name"] == {"ar": "كوب خزفي", "en": "Ceramic mug"} and mug["price"] == 25.0
    assert mug["categories"][0]["name"] == {"ar": "أدوات المطبخ", "en": "Kitchenware"}
    assert get(store_url + f"/v1/products/{mug['id']}/", api_headers).json()["sku"] == "MUG-01"
    missing = get(store_url + "/v1/products/no-such-id/", api_headers)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not found"})


def test_categories_carry_their_sub_categories(store_url, api_headers):
    categories = get(store_url + "/v1/managers/store/categories", api_headers).json()["categories"]
    coffee = next(c for c in categories if c["slug"] == "coffee")
    assert coffee["names"] == {"ar": "قهوة", "en": "Coffee"}
    assert [s["names"]["en"] for s in coffee["sub_categories"]] == ["Arabic coffee"]


def test_calls_over_the_limit_answer_429_with_retry_after():
    store = ZidSandbox(rate_limit=3, leak_per_second=0.01)
    with store.serve() as server:
        headers = {"Authorization": f"Bearer {store.authorization}", "X-Manager-Token": store.access_token}
        answers = [get(server.url + "/v1/locations", headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json() == {"message": "Too Many Attempts."}
    assert int(answers[3].headers["Retry-After"]) >= 1


def test_a_forced_throttle_answers_429_once(store, store_url, api_headers):
    store.bucket.throttle_next(1)
    assert get(store_url + "/v1/locations", api_headers).status_code == 429
    assert get(store_url + "/v1/locations", api_headers).status_code == 200


def test_a_throttled_path_answers_429_and_other_paths_go_through(store, store_url, api_headers):
    store.throttle_path("/v1/products", 1)
    assert get(store_url + "/v1/locations", api_headers).status_code == 200
    throttled = get(store_url + "/v1/products/", api_headers, sku="MUG-01")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert get(store_url + "/v1/products/", api_headers, sku="MUG-01").status_code == 200


def test_a_bulk_update_takes_at_most_50_products(store, store_url, api_headers):
    too_many = [{"sku": "MUG-01", "quantity": 1}] * 51
    answer = httpx.patch(store_url + "/v1/products/", headers=api_headers, json=too_many)
    assert (answer.status_code, answer.json()) == (400, {"message": "Maximum 50 products per request"})
    assert store.quantity("MUG-01") == 60
    mug_id = store._by_sku("MUG-01")["id"]
    answer = httpx.patch(store_url + "/v1/products/", headers=api_headers,
                         json=[{"id": mug_id, "quantity": 7}, {"sku": "COF-250", "quantity": 9}])
    assert answer.status_code == 200
    assert [(p["sku"], p["quantity"]) for p in answer.json()["results"]] == [("MUG-01", 7), ("COF-250", 9)]
    assert (store.quantity("MUG-01"), store.quantity("COF-250")) == (7, 9)


def test_stocks_are_kept_per_location(store, store_url, api_headers):
    locations = get(store_url + "/v1/locations", api_headers).json()["results"]
    main, jeddah = locations
    assert main["is_default"] and not jeddah["is_default"] and main["name"]["en"] == "Main warehouse"
    mug_id = store._by_sku("MUG-01")["id"]
    url = store_url + f"/v1/products/{mug_id}/stocks/"
    answer = httpx.patch(url, headers=api_headers,
                         json=[{"location": jeddah["id"], "available_quantity": 4, "is_infinite": False}])
    assert answer.status_code == 204
    stocks = {s["location"]["id"]: s["available_quantity"] for s in get(url, api_headers).json()["results"]}
    assert stocks == {main["id"]: 60, jeddah["id"]: 4}
    assert get(store_url + f"/v1/products/{mug_id}", api_headers).json()["quantity"] == 60  # the default's
    unknown = httpx.patch(url, headers=api_headers, json=[{"location": "nowhere", "available_quantity": 1}])
    assert unknown.status_code == 400 and store.quantity("MUG-01", jeddah["id"]) == 4


def test_an_order_with_a_coupon_and_shipping_totals_to_the_halala(store, store_url, api_headers):
    """The design's math: net lines − coupon + net shipping, VAT rounded to 0.01, 14-decimal strings."""
    order = store.create_order([("MUG-01", 2), ("COF-250", 3)], shipping="15.00", coupon="SAVE10")
    fetched = get(store_url + f"{ORDERS}/{order['id']}/view", api_headers).json()["order"]
    invoice = {row["code"]: Decimal(row["value"]) for row in fetched["payment"]["invoice"]}
    lines = {p["sku"]: p for p in fetched["products"]}
    assert lines["MUG-01"]["price"] == "25.00000000000000" and lines["MUG-01"]["net_price"] == "21.73913043478261"
    assert lines["COF-250"]["total"] == "105.00000000000000"
    net = Decimal("21.73913043478261") * 2 + Decimal("30.43478260869565") * 3
    assert invoice["sub_totals_before_vat"] == net and invoice["coupon"] == Decimal("-10")
    assert invoice["shipping"] == Decimal("13.04347826086957")
    assert invoice["taxable_amount"] == net - 10 + Decimal("13.04347826086957")
    assert invoice["vat"] == (invoice["taxable_amount"] * Decimal("0.15")).quantize(Decimal("0.01"))
    assert fetched["order_total"] == f"{invoice['total']:.14f}" == "158.49608695652174"
    # what the buyer paid, gross: 50 + 105 + 15 shipping − 11.50 coupon (10 net + VAT)
    assert Decimal(fetched["order_total"]).quantize(Decimal("0.01")) == Decimal("158.50")
    assert fetched["coupon"]["code"] == "SAVE10" and fetched["coupon"]["discount"] == "-10.00000000000000"
    assert order_amounts([(Decimal("10"), 1)]).total == Decimal("11.50")


def test_a_guest_order_and_a_kwd_order(store):
    guest = store.create_order([("MUG-01", 1)], guest=True, send=False)
    assert guest["is_guest_customer"] == 1 and guest["customer"]["name"]
    kwd = store.create_order([("MUG-01", 1)], currency="KWD", send=False)
    assert kwd["currency_code"] == "KWD" and kwd["currency"]["order_currency"] == {"code": "KWD", "exchange_rate": "12.2"}
    assert kwd["created_at"][4] == "-" and len(kwd["updated_at"]) == 19  # store-local time, no zone


def test_orders_page_and_filter_by_change(store, store_url, api_headers):
    first = store.create_order([("MUG-01", 1)], send=False)
    second = store.create_order([("COF-250", 1)], send=False)
    store.set_status(first["id"], "delivered", send=False)  # changed last
    page = get(store_url + ORDERS, api_headers, page=1, per_page=1, sort_by="asc",
               updated_at_from="2000-01-01T00:00:00+03:00").json()
    assert (page["total_order_count"], page["next_page"]) == (2, 2)
    assert page["orders"][0]["id"] == second["id"]  # oldest change first
    last = get(store_url + ORDERS, api_headers, page=2, per_page=1, sort_by="asc", updated_at_from="2000-01-01").json()
    assert last["orders"][0]["id"] == first["id"] and last["next_page"] is None
    later = get(store_url + ORDERS, api_headers, updated_at_from="2999-01-01T00:00:00Z").json()
    assert later["orders"] == []
    found = get(store_url + ORDERS, api_headers, search_term=str(second["id"])).json()["orders"]
    assert [o["id"] for o in found] == [second["id"]]
    assert get(store_url + f"{ORDERS}/987654/view", api_headers).status_code == 404
    assert get(store_url + ORDERS, api_headers, updated_at_from="yesterday").status_code == 422


def test_a_comment_is_added_to_the_order_histories(store, store_url, api_headers):
    order = store.create_order([("MUG-01", 1)], send=False)
    url = store_url + f"{ORDERS}/{order['id']}/add-order-comment"
    answer = httpx.post(url, headers=api_headers, json={"comment": "Mizan: INV-0001"})
    assert answer.status_code == 200
    assert answer.json()["order"]["histories"][-1]["description"] == "Mizan: INV-0001"
    assert httpx.post(url, headers=api_headers, json={"comment": "x" * 101}).status_code == 422


def test_partial_reverse_orders_are_listed_and_the_order_is_reversed(store, store_url, api_headers):
    order = store.create_order([("MUG-01", 3), ("COF-250", 1)], send=False)
    store.set_status(order["id"], "delivered", send=False)
    store.reverse(order["id"], 0, 1, send=False)
    store.reverse(order["id"], 0, 2, send=False)
    listed = get(store_url + "/v1/managers/store/reverse-orders", api_headers, order_id=order["id"]).json()
    reverses = listed["order_reverses"]
    assert [r["is_partial"] for r in reverses] == [True, True]
    assert [r["products"][0]["reversed_quantity"] for r in reverses] == [1, 2]
    assert reverses[0]["products"][0]["order_product_id"] == order["products"][0]["order_product_id"]
    assert store.order(order["id"])["order_status"]["code"] == "reversed"
    with pytest.raises(Exception, match="Only 0"):
        store.reverse(order["id"], 0, 1, send=False)
    other = get(store_url + "/v1/managers/store/reverse-orders", api_headers, order_id=1).json()
    assert other["order_reverses"] == []


def test_webhooks_subscribed_through_the_api_carry_their_basic_credentials(store, store_url, api_headers,
                                                                           receiver: Receiver):
    subscription = {"event": "order.create", "target_url": receiver.url + "/order.create", "original_id": "mizan",
                    "subscriber": "Mizan", "username": "mizan-ab12", "password": "s3cret"}
    created = httpx.post(store_url + "/v1/managers/webhooks", headers=api_headers, json=subscription)
    assert created.status_code == 201 and created.json()["webhook"]["active"] is True
    listed = get(store_url + "/v1/managers/webhooks", api_headers).json()["webhooks"]
    assert len(listed) == 1 and "password" not in listed[0] and listed[0]["event"] == "order.create"
    order = store.create_order([("MUG-01", 2)])
    store.set_status(order["id"], "delivered")  # not subscribed: not sent
    [(topic, headers, body)] = receiver.received
    assert topic == "order.create" and headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"mizan-ab12:s3cret").decode()
    assert json.loads(body)["id"] == order["id"] and json.loads(body)["order_status"]["code"] == "new"
    store.envelope = True
    store.redeliver()  # the same bytes again
    store.create_order([("MUG-01", 1)])
    assert receiver.received[1][2] == body
    wrapped = json.loads(receiver.received[2][2])
    assert wrapped["event"] == "order.create" and wrapped["store_id"] == 12345 and wrapped["data"]["id"]
    deleted = httpx.delete(store_url + "/v1/managers/webhooks", headers=api_headers, params={"original_id": "mizan"})
    assert deleted.status_code == 200 and store.subscriptions == []


def test_dropped_and_captured_deliveries_never_reach_the_receiver(store, receiver: Receiver):
    store.subscribe({"event": "order.create", "target_url": receiver.url + "/order.create",
                     "username": "u", "password": "p"})
    store.drop = True
    store.create_order([("MUG-01", 1)])
    assert receiver.received == [] and store.deliveries[-1].dropped
    store.drop, store.captured = False, []
    store.create_order([("MUG-01", 1)])
    assert receiver.received == [] and store.captured[0][0] == receiver.url + "/order.create"


def test_a_refund_sends_the_status_and_the_payment_status(store, receiver: Receiver):
    for event in ("order.status.update", "order.payment_status.update"):
        store.subscribe({"event": event, "target_url": f"{receiver.url}/{event}", "username": "u", "password": "p"})
    order = store.create_order([("MUG-01", 1)])
    store.set_status(order["id"], "delivered")
    store.refund(order["id"])
    assert [topic for topic, _, _ in receiver.received] == [
        "order.status.update", "order.status.update", "order.payment_status.update"]
    refunded = json.loads(receiver.received[-1][2])
    assert refunded["order_status"]["code"] == "refunded" and refunded["payment_status"] == "refunded"


def test_each_change_moves_updated_at_on(store):
    order = store.create_order([("MUG-01", 3)], send=False)
    stamps = [order["updated_at"]]
    for step in (lambda: store.set_status(order["id"], "delivered", send=False),
                 lambda: store.reverse(order["id"], 0, 1, send=False),
                 lambda: store.reverse(order["id"], 0, 1, send=False)):
        step()
        stamps.append(store.order(order["id"])["updated_at"])
    assert stamps == sorted(set(stamps))


def test_the_control_page_places_completes_returns_and_gives_an_sku(store):
    page = store.app.test_client()
    html = page.get("/_sandbox/").get_data(as_text=True)
    assert "Zid options" in html and "SAVE10" in html and "KWD" in html
    placed = page.post("/_sandbox/ui/orders", data={"sku_0": "MUG-01", "qty_0": "2", "coupon": "SAVE10",
                                                    "currency": "KWD"})
    assert "placed" in placed.headers["Location"]
    order_id = max(store.orders)
    assert store.order(order_id)["coupon"]["code"] == "SAVE10" and store.order(order_id)["currency_code"] == "KWD"
    page.post(f"/_sandbox/ui/orders/{order_id}/complete")
    page.post(f"/_sandbox/ui/orders/{order_id}/reverse")
    assert store.order(order_id)["order_status"]["code"] == "reversed" and len(store.reverses) == 1
    no_sku = next(p["id"] for p in store.products.values() if not p["sku"])
    page.post(f"/_sandbox/ui/products/{no_sku}/sku", data={"sku": "WRAP-9"})
    assert store.products[no_sku]["sku"] == "WRAP-9"


def test_a_product_created_through_the_api(store, store_url, api_headers):
    answer = httpx.post(store_url + "/v1/products/", headers=api_headers,
                        json={"name": {"ar": "شاي", "en": "Tea"}, "price": 12.5, "sku": "TEA-1", "quantity": 4})
    assert answer.status_code == 201 and answer.json()["structure"] == "standalone"
    assert store.quantity("TEA-1") == 4
    taken = httpx.post(store_url + "/v1/products/", headers=api_headers, json={"name": "x", "price": 1, "sku": "TEA-1"})
    assert taken.status_code == 422
    changed = httpx.patch(store_url + f"/v1/products/{answer.json()['id']}", headers=api_headers, json={"price": 13})
    assert changed.json()["price"] == 13.0


def test_the_control_routes_drive_the_store_as_the_readme_shows(store, receiver: Receiver):
    """``curl`` works too: place (with a coupon, in KWD), complete, return one item, refund, edit an SKU, switches."""
    store.subscribe({"event": "order.status.update", "target_url": receiver.url + "/order.status.update",
                     "username": "u", "password": "p"})
    page = store.app.test_client()
    placed = page.post("/_sandbox/orders", json={"items": [["COF-250", 2]], "shipping": "15", "coupon": "SAVE10",
                                                  "currency": "KWD"}).get_json()
    order_id = placed["order"]["id"]
    assert placed["order"]["coupon"]["code"] == "SAVE10" and placed["deliveries"] == []  # order.create not subscribed
    done = page.post(f"/_sandbox/orders/{order_id}/status", json={"status": "delivered"}).get_json()
    assert done["order"]["order_status"]["code"] == "delivered" and done["deliveries"][0]["status"] == 200
    returned = page.post(f"/_sandbox/orders/{order_id}/reverse", json={"line": 0, "quantity": 1}).get_json()
    assert returned["reverse"]["products"][0]["reversed_quantity"] == 1
    assert page.post(f"/_sandbox/orders/{order_id}/status", json={"status": "nope"}).status_code == 422
    edited = page.post("/_sandbox/products/MUG-01", json={"sku": "MUG-02", "send": False}).get_json()
    assert edited["product"]["sku"] == "MUG-02" and store.quantity("MUG-02") == 60
    assert page.post("/_sandbox/switches", json={"drop": True}).get_json() == {"drop": True, "envelope": False}
    page.post(f"/_sandbox/orders/{order_id}/status", json={"status": "refunded"})
    assert store.deliveries[-1].dropped and len(receiver.received) == 2
    state = page.get("/_sandbox/state").get_json()
    assert state["drop"] and len(state["reverse_orders"]) == 1 and "password" not in state["webhooks"][0]
