"""The integration through the REST API: plugins, store connections, syncs, the sync log and order stories."""
from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import (
    Account,
    Category,
    PluginRecord,
    Product,
    SalesInvoice,
    StoreConnection,
    StoreOrder,
)
from core.platform.data import CategoryData, ProductData
from core.platform.schemas import OrderSchema
from core.plugins import registry
from core.testing.dummy import SIGNATURE_HEADER, DummyStore, sign
from tests.builders import Builders
from tests.integration.conftest import SECRET, order_payload


def count(app, model, *where) -> int:
    with app.app_context():
        value = db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        db.session.remove()
        return value


def signed_post(client, key: str, event: str, data: dict, secret: str = SECRET):
    body = json.dumps({"event": event, "data": data}).encode()
    return client.post(f"/webhooks/{key}", data=body, headers={SIGNATURE_HEADER: sign(secret, body)})


@pytest.fixture
def erp(app) -> SimpleNamespace:
    """The dummy plugin enabled; a warehouse, a branch and a default client; an empty dummy store 'shop-2'."""
    DummyStore.reset()
    with app.app_context():
        build = Builders()
        warehouse, branch, walk_in = build.warehouse("MAIN"), build.branch("RUH"), build.client("Walk-in")
        registry().install("dummy")
        registry().enable("dummy")
        ids = SimpleNamespace(warehouse=warehouse.id, branch=branch.id, walk_in=walk_in.id)
        db.session.remove()
    ids.remote = DummyStore.named("shop-2")
    return ids


def new_store(api, erp, name: str = "Second shop") -> tuple[int, str]:
    """A store added, given credentials and settings through the API (not yet activated)."""
    created = api.post("/stores", {"platform": "dummy", "name": name}, role="admin")
    assert created.status_code == 201, created.get_json()
    store_id, key = created.get_json()["id"], created.get_json()["connection_key"]
    assert api.put(f"/stores/{store_id}/credentials", {"store_ref": "shop-2", "secret": "shop-2-secret-value"}
                   ).status_code == 200
    assert api.put(f"/stores/{store_id}/settings", {
        "warehouse_id": erp.warehouse, "branch_id": erp.branch, "default_client_id": erp.walk_in,
    }).status_code == 200
    return store_id, key


def remote_order(number: str, lines: list[tuple[str | None, str, str]], **options):
    """An order as the dummy store's API returns it."""
    return OrderSchema().load(order_payload(lines, number=number, **options))


# -- roles ----------------------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_configure_plugins_or_stores(api, dummy_shop):
    store = dummy_shop.store_id
    assert api.get("/plugins").status_code == 200
    assert api.get("/stores").status_code == 200
    assert api.get(f"/stores/{store}").status_code == 200
    refused = [
        api.post("/plugins/dummy/disable", role="viewer"),
        api.post("/plugins/dummy/disable", role="accountant"),
        api.post("/stores", {"platform": "dummy", "name": "X"}, role="accountant"),
        api.put(f"/stores/{store}/settings", {"update_inventory": False}, role="viewer"),
        api.put(f"/stores/{store}/credentials", {"secret": "x"}, role="accountant"),
        api.post(f"/stores/{store}/key", role="accountant"),
        api.post(f"/stores/{store}/activate", {"key": dummy_shop.key}, role="accountant"),
        api.post(f"/stores/{store}/deactivate", role="accountant"),
        api.post(f"/stores/{store}/send-orders", {"numbers": ["#1"]}, role="viewer"),
        api.post(f"/stores/{store}/product-syncs", role="viewer"),
        api.post("/sync-log/1/retry", role="viewer"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)


def test_an_accountant_may_send_orders_and_sync_products(api, dummy_shop):
    assert api.post(f"/stores/{dummy_shop.store_id}/send-orders", {"numbers": ["#none"]}).status_code == 200
    assert api.post(f"/stores/{dummy_shop.store_id}/product-syncs").status_code == 202


# -- plugins --------------------------------------------------------------------------------


def test_an_admin_installs_enables_disables_and_uninstalls_a_plugin(app, api):
    listed = {p["name"]: p for p in api.get("/plugins").get_json()["items"]}
    assert listed["dummy"]["installed"] is False and listed["dummy"]["title"] == "Dummy store"
    assert "on_stock_changed" in listed["dummy"]["hooks"]

    assert api.post("/plugins/dummy/enable", role="admin").status_code == 409  # not installed yet
    installed = api.post("/plugins/dummy/install", role="admin")
    assert installed.status_code == 200 and installed.get_json()["installed"] is True
    assert count(app, Account, Account.key == "dummy_clearing") == 1
    enabled = api.post("/plugins/dummy/enable", role="admin").get_json()
    assert (enabled["installed"], enabled["enabled"]) == (True, True)
    assert api.post("/plugins/dummy/disable", role="admin").get_json()["enabled"] is False
    uninstalled = api.post("/plugins/dummy/uninstall", role="admin").get_json()
    assert (uninstalled["installed"], uninstalled["enabled"]) == (False, False)
    assert count(app, Account, Account.key == "dummy_clearing") == 1  # accounts stay


def test_an_unknown_plugin_is_404_and_leaves_no_record(app, api):
    for action in ("install", "enable", "disable", "uninstall"):
        assert api.post(f"/plugins/nope/{action}", role="admin").status_code == 404
    assert count(app, PluginRecord, PluginRecord.name == "nope") == 0


# -- store connections ------------------------------------------------------------------


def test_a_new_store_shows_its_key_once_and_never_its_secrets_in_full(app, api, erp):
    created = api.post("/stores", {"platform": "dummy", "name": "Second shop"}, role="admin")
    assert created.status_code == 201
    body = created.get_json()
    key = body["connection_key"]
    assert key.startswith("mzs_") and body["webhook_url"].endswith(f"/webhooks/{key}")
    assert created.headers["Location"].endswith(f"/api/v1/stores/{body['id']}")
    assert body["status"] == "pending" and body["key_prefix"] == key[:10]

    api.put(f"/stores/{body['id']}/credentials", {"store_ref": "shop-2", "secret": "shop-2-secret-value"})
    shown = api.get(f"/stores/{body['id']}")
    listed = api.get("/stores")
    for response in (shown, listed):
        text = response.get_data(as_text=True)
        assert key not in text and "shop-2-secret-value" not in text
        assert "connection_key" not in text and "webhook_url" not in text
    details = shown.get_json()
    assert details["credentials"] == {"store_ref": "shop-2", "secret": "…alue"}
    assert details["key_prefix"] == key[:10] and details["platform"] == "dummy"
    assert {"settings", "activated_at", "last_webhook_at", "status"} <= set(details)
    assert listed.get_json()["total"] == 1
    with app.app_context():
        stored = db.session.get(StoreConnection, body["id"])
        assert "shop-2-secret-value" not in stored.credentials_encrypted and key not in stored.key_hash


def test_a_store_needs_an_enabled_platform_and_a_name(api, erp):
    refused = api.post("/stores", {"platform": "unknown", "name": "X"}, role="admin")
    assert refused.status_code == 422 and "platform" in refused.get_json()["error"]["fields"]
    assert api.post("/stores", {"platform": "dummy"}, role="admin").status_code == 422
    assert api.get("/stores/999").status_code == 404


def test_credentials_are_validated_by_the_plugin_schema(app, api, erp):
    store_id = api.post("/stores", {"platform": "dummy", "name": "S"}, role="admin").get_json()["id"]
    missing = api.put(f"/stores/{store_id}/credentials", {"store_ref": "shop-2"})
    assert missing.status_code == 422
    assert "secret" in missing.get_json()["error"]["fields"]
    unknown = api.put(f"/stores/{store_id}/credentials", {"store_ref": "a", "secret": "b", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.get_json()["error"]["fields"]
    assert api.put(f"/stores/{store_id}/credentials", ["not", "an", "object"]).status_code == 400
    with app.app_context():
        assert db.session.get(StoreConnection, store_id).credentials_encrypted is None


def test_settings_refuse_unknown_records_and_fields(app, api, erp):
    store_id = api.post("/stores", {"platform": "dummy", "name": "S"}, role="admin").get_json()["id"]
    bad_warehouse = api.put(f"/stores/{store_id}/settings", {"warehouse_id": 9999})
    assert bad_warehouse.status_code == 422
    assert bad_warehouse.get_json()["error"]["fields"]["warehouse_id"] == ["no warehouse with id 9999"]
    bad_client = api.put(f"/stores/{store_id}/settings", {"default_client_id": 9999})
    assert "default_client_id" in bad_client.get_json()["error"]["fields"]
    unknown = api.put(f"/stores/{store_id}/settings", {"colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.get_json()["error"]["fields"]
    saved = api.put(f"/stores/{store_id}/settings", {"warehouse_id": erp.warehouse, "update_inventory": True})
    assert saved.status_code == 200
    assert saved.get_json()["settings"]["warehouse_id"] == erp.warehouse
    kept = api.put(f"/stores/{store_id}/settings", {"branch_id": erp.branch}).get_json()["settings"]
    assert (kept["warehouse_id"], kept["branch_id"], kept["update_inventory"]) == (erp.warehouse, erp.branch, True)


def test_activating_twice_imports_categories_and_creates_default_accounts_once(app, api, erp):
    erp.remote.categories.append(CategoryData("c-1", "Mugs"))
    store_id, key = new_store(api, erp)
    first = api.post(f"/stores/{store_id}/activate", {"key": key}, role="admin")
    second = api.post(f"/stores/{store_id}/activate", {"key": key}, role="admin")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.get_json()["status"] == "active" and first.get_json()["activated_at"]
    assert second.get_json()["activated_at"] == first.get_json()["activated_at"]
    assert first.get_json()["settings"]["completed_statuses"] == ["completed"]
    assert count(app, Account, Account.key == "dummy_clearing") == 1
    assert count(app, Category, Category.name == "Mugs") == 1


def test_a_store_that_refuses_the_credentials_answers_409_and_stays_pending(app, api, erp):
    store_id, key = new_store(api, erp)
    erp.remote.failures.append("unauthorised")
    refused = api.post(f"/stores/{store_id}/activate", {"key": key}, role="admin")
    assert refused.status_code == 409
    assert "refused the connection" in refused.get_json()["error"]["message"]
    assert api.get(f"/stores/{store_id}").get_json()["status"] == "pending"


def test_activation_needs_the_current_key_where_the_erp_registers_webhooks(api, erp):
    store_id, _ = new_store(api, erp)
    refused = api.post(f"/stores/{store_id}/activate", role="admin")
    assert refused.status_code == 422 and "key" in refused.get_json()["error"]["fields"]
    assert api.post(f"/stores/{store_id}/activate", {"key": "mzs_wrong"}, role="admin").status_code == 422


def test_rotating_the_key_revokes_the_old_webhook_url(app, api, client, dummy_shop):
    rotated = api.post(f"/stores/{dummy_shop.store_id}/key", role="admin")
    assert rotated.status_code == 200
    new_key = rotated.get_json()["connection_key"]
    assert new_key != dummy_shop.key and rotated.get_json()["webhook_url"].endswith(new_key)
    order = order_payload([("MUG-01", "1", "25.00")])
    assert signed_post(client, dummy_shop.key, "order", order).status_code == 404
    assert count(app, SalesInvoice) == 0
    assert signed_post(client, new_key, "order", order).status_code == 200
    assert count(app, SalesInvoice) == 1
    assert api.get(f"/stores/{dummy_shop.store_id}").get_json()["key_prefix"] == new_key[:10]


def test_a_deactivated_store_refuses_webhooks_and_manual_sends(app, api, client, dummy_shop):
    response = api.post(f"/stores/{dummy_shop.store_id}/deactivate", role="admin")
    assert response.status_code == 200 and response.get_json()["status"] == "disabled"
    assert signed_post(client, dummy_shop.key, "order", order_payload([("MUG-01", "1", "25")])).status_code == 404
    assert api.post(f"/stores/{dummy_shop.store_id}/send-orders", {"numbers": ["#1"]}).status_code == 409


# -- orders sent by hand ---------------------------------------------------------------


def test_send_orders_books_once_then_says_already_booked_and_names_unknown_numbers(app, api, dummy_shop):
    """O2, O3: an order present in the store is booked; sent again, nothing changes."""
    dummy_shop.remote.orders["5001"] = remote_order("#5001", [("MUG-01", "2", "25.00")])
    first = api.post(f"/stores/{dummy_shop.store_id}/send-orders", {"numbers": ["#5001", "#404"]})
    assert first.status_code == 200
    booked, unknown = first.get_json()["results"]
    assert booked["number"] == "#5001" and booked["outcome"] == "booked" and booked["reason"] is None
    assert booked["invoice_number"] and booked["invoice_id"]
    assert unknown["outcome"] == "not_found" and "no order" in unknown["reason"]

    again = api.post(f"/stores/{dummy_shop.store_id}/send-orders", {"numbers": ["#5001"]}).get_json()["results"]
    assert again[0]["outcome"] == "already_booked"
    assert again[0]["invoice_id"] == booked["invoice_id"]
    assert booked["invoice_number"] in again[0]["reason"]
    assert count(app, SalesInvoice) == 1
    with app.app_context():
        invoice = db.session.get(SalesInvoice, booked["invoice_id"])
        assert invoice.total == Decimal("57.50") and invoice.status == "paid"


def test_send_orders_validates_its_body(api, dummy_shop):
    path = f"/stores/{dummy_shop.store_id}/send-orders"
    assert api.post(path, {"numbers": []}).status_code == 422
    assert api.post(path, {}).status_code == 422
    assert api.post("/stores/999/send-orders", {"numbers": ["#1"]}).status_code == 404


def test_send_orders_before_activation_is_409(api, erp):
    store_id, _ = new_store(api, erp)
    refused = api.post(f"/stores/{store_id}/send-orders", {"numbers": ["#1"]})
    assert refused.status_code == 409 and "Activate" in refused.get_json()["error"]["message"]


# -- product syncs ---------------------------------------------------------------------


def test_a_product_sync_reports_created_updated_and_skipped_with_reasons(app, api, dummy_shop):
    """P3, P4: MUG-01 exists (updated), NEW-1 is new (created), a product without SKU is skipped."""
    dummy_shop.remote.products.extend([
        ProductData("p-1", "MUG-01", "Mug, blue", Decimal("27")),
        ProductData("p-2", "NEW-1", "Teapot", Decimal("60"), cost=Decimal("20"), quantity=Decimal("3")),
        ProductData("p-3", None, "Gift card", Decimal("100")),
    ])
    started = api.post(f"/stores/{dummy_shop.store_id}/product-syncs")
    assert started.status_code == 202
    location = started.headers["Location"]
    assert location.endswith(f"/api/v1/product-syncs/{started.get_json()['id']}")
    run = api.get(location.split("/api/v1", 1)[1]).get_json()
    assert run["status"] == "done" and run["finished_at"]
    assert (run["total"], run["processed"]) == (3, 3)
    assert (run["created"], run["updated"], run["skipped"], run["failed"]) == (1, 1, 1, 0)
    assert run["report"] == [{"sku": None, "external_id": "p-3", "outcome": "skipped",
                              "reason": "store product p-3 (Gift card) has no SKU",
                              "code": "no_sku", "params": {"external_id": "p-3", "name": "Gift card"}}]
    with app.app_context():
        names = dict(db.session.execute(select(Product.code, Product.name)).all())
        assert names == {"MUG-01": "Mug, blue", "NEW-1": "Teapot"}
    assert api.get("/product-syncs/999").status_code == 404


def test_a_failed_product_sync_is_retried_from_the_sync_log(app, api, dummy_shop):
    """V1: a failed run leaves a retryable entry; retrying it runs the sync again."""
    dummy_shop.remote.products.append(ProductData("p-2", "NEW-1", "Teapot", Decimal("60")))
    dummy_shop.remote.failures.append("down")
    run_id = api.post(f"/stores/{dummy_shop.store_id}/product-syncs").get_json()["id"]
    assert api.get(f"/product-syncs/{run_id}").get_json()["status"] == "failed"
    failed = api.get("/sync-log", query_string={"status": "failed", "kind": "product_sync"}).get_json()["items"]
    assert len(failed) == 1 and failed[0]["retryable"] is True and failed[0]["reason"] == "down"

    viewer = api.post(f"/sync-log/{failed[0]['id']}/retry", role="viewer")
    assert viewer.status_code == 403
    retried = api.post(f"/sync-log/{failed[0]['id']}/retry")
    assert retried.status_code == 200
    assert retried.get_json()["job"] == "core.integration.product_sync.sync_products"
    run = api.get(f"/product-syncs/{run_id}").get_json()
    assert (run["status"], run["created"], run["processed"]) == ("done", 1, 1)
    assert count(app, Product, Product.code == "NEW-1") == 1


def test_retrying_an_entry_without_a_retry_action_is_409(api, dummy_shop):
    entries = api.get("/sync-log", query_string={"kind": "categories"}).get_json()["items"]
    assert entries and entries[0]["retryable"] is False
    refused = api.post(f"/sync-log/{entries[0]['id']}/retry")
    assert refused.status_code == 409 and "nothing to retry" in refused.get_json()["error"]["message"]
    assert api.post("/sync-log/99999/retry").status_code == 404


# -- sync log, deliveries and store orders -------------------------------------------


def test_the_sync_log_lists_newest_first_and_filters(app, api, dummy_shop):
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]))
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")], status="pending"))
    everything = api.get("/sync-log", query_string={"per_page": 100}).get_json()
    ids = [entry["id"] for entry in everything["items"]]
    assert ids == sorted(ids, reverse=True) and everything["total"] == len(ids) >= 4

    def items(**query):
        return api.get("/sync-log", query_string={"per_page": 100, **query}).get_json()["items"]

    booked = items(status="booked")
    assert len(booked) == 1 and booked[0]["kind"] == "order"
    assert booked[0]["documents"][0]["type"] == "invoice"
    assert [e["status"] for e in items(kind="order")] == ["skipped", "booked"]
    assert {e["direction"] for e in items(direction="outbound")} == {"outbound"}
    assert {e["kind"] for e in items(direction="outbound")} >= {"stock", "categories"}
    assert len(items(store_id=dummy_shop.store_id)) == len(ids)
    assert items(store_id=dummy_shop.store_id + 1) == []
    today = date.today()
    assert len(items(date_from=today.isoformat(), date_to=today.isoformat())) == len(ids)
    assert items(date_from=(today + timedelta(days=2)).isoformat()) == []
    assert items(date_to=(today - timedelta(days=2)).isoformat()) == []
    assert api.get("/sync-log", query_string={"status": "weird"}).status_code == 400
    assert api.get("/sync-log", query_string={"date_from": "yesterday"}).status_code == 400


def test_webhook_deliveries_are_listed_without_their_bodies(api, dummy_shop):
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="d-1")
    dummy_shop.deliver("order", {"external_id": "77"}, delivery="d-2")  # authentic but unusable
    listed = api.get("/webhook-deliveries").get_json()
    assert listed["total"] == 2
    assert [d["delivery_key"] for d in listed["items"]] == ["d-2", "d-1"]
    assert all("body" not in d and "headers" not in d for d in listed["items"])
    attention = api.get("/webhook-deliveries", query_string={"status": "needs_attention"}).get_json()["items"]
    assert [d["delivery_key"] for d in attention] == ["d-2"] and "number" in attention[0]["last_error"]
    processed = api.get("/webhook-deliveries", query_string={"status": "processed", "store_id": dummy_shop.store_id})
    assert [d["event"] for d in processed.get_json()["items"]] == ["order"]


def test_store_orders_filter_by_state_and_number(api, dummy_shop):
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")], number="#A"))
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00"), (None, "1", "5")], number="#B"))
    assert api.get("/store-orders").get_json()["total"] == 2
    held = api.get("/store-orders", query_string={"state": "needs_attention"}).get_json()["items"]
    assert [o["number"] for o in held] == ["#B"] and "SKU" in held[0]["reason"]
    found = api.get("/store-orders", query_string={"number": "#A", "store_id": dummy_shop.store_id}).get_json()
    assert [(o["number"], o["state"]) for o in found["items"]] == [("#A", "booked")]
    assert found["items"][0]["invoice_id"]
    assert api.get("/store-orders", query_string={"state": "lost"}).status_code == 400


def test_a_store_order_page_tells_its_whole_story(app, api, dummy_shop):
    """V2: deliveries, log, invoice, payment, the return of a refund and the stock pushes after booking."""
    order = order_payload([("MUG-01", "3", "25.00")], number="#S-1")
    dummy_shop.deliver("order", order, delivery="o-1")
    dummy_shop.deliver("order", order, delivery="o-2")  # a re-delivery: not booked again
    refund = {"external_id": "r-1", "order_external_id": order["external_id"],
              "lines": [{"line_external_id": order["lines"][0]["external_id"], "quantity": "1"}]}
    dummy_shop.deliver("refund", refund, delivery="r-1")
    with app.app_context():
        order_id = db.session.execute(select(StoreOrder.id)).scalar_one()
        db.session.remove()

    story = api.get(f"/store-orders/{order_id}").get_json()
    assert story["order"]["number"] == "#S-1" and story["order"]["state"] == "partly_returned"  # O11: one of three returned
    assert story["order"]["store_status"] == "completed"
    invoice = story["invoice"]
    assert (invoice["status"], invoice["total"]) == ("paid", "86.25")
    assert invoice["number"].startswith("INV")
    assert len(story["payments"]) == 2  # the invoice's receipt and the refund's payout
    assert [(e["kind"], e["status"]) for e in story["log"]] == [
        ("order", "booked"), ("order", "skipped"), ("refund", "booked")  # V1: the re-delivery is logged too
    ]
    assert [d["delivery_key"] for d in story["deliveries"]] == ["o-1", "o-2", "r-1"]
    (refund_row,) = story["refunds"]
    assert refund_row["external_id"] == "r-1" and refund_row["state"] == "booked"
    assert refund_row["return_invoice"]["total"] == "28.75"
    pushes = [e["reason"] for e in story["stock_pushes"]]
    assert pushes == ["MUG-01=7", "MUG-01=8"]
    assert api.get("/store-orders/999").status_code == 404


def test_every_integration_route_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method in [
        ("/api/v1/plugins", "get"), ("/api/v1/plugins/{name}/install", "post"), ("/api/v1/stores", "post"),
        ("/api/v1/stores/{store_id}/credentials", "put"), ("/api/v1/stores/{store_id}/settings", "put"),
        ("/api/v1/stores/{store_id}/key", "post"), ("/api/v1/stores/{store_id}/activate", "post"),
        ("/api/v1/stores/{store_id}/send-orders", "post"), ("/api/v1/stores/{store_id}/product-syncs", "post"),
        ("/api/v1/product-syncs/{run_id}", "get"), ("/api/v1/sync-log", "get"),
        ("/api/v1/sync-log/{entry_id}/retry", "post"), ("/api/v1/store-orders/{order_id}", "get"),
        ("/api/v1/webhook-deliveries", "get"),
    ]:
        assert method in paths[path], path
    assert "Role: admin" in paths["/api/v1/stores"]["post"]["description"]
    assert "Role: accountant" in paths["/api/v1/stores/{store_id}/send-orders"]["post"]["description"]
    assert "202" in paths["/api/v1/stores/{store_id}/product-syncs"]["post"]["responses"]

