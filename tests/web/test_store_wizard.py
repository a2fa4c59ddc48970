"""The store connection wizard (C1–C4, C6), sending orders by hand (O2, O3) and "Sync all products" (P3, P4)."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Product, ProductSyncRun, SalesInvoice, StoreConnection, Warehouse
from core.platform.data import ProductData
from core.platform.schemas import OrderSchema
from core.plugins import registry
from core.testing.dummy import SIGNATURE_HEADER, DummyStore, sign
from core.testing.kit.driver import driver_classes
from tests.builders import Builders
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import SECRET, WebClient, body, order_payload

KEY = re.compile(r'<code id="connection-key" class="key">(mzs_[^<]+)</code>')


@pytest.fixture
def master(app) -> SimpleNamespace:
    """The dummy plugin enabled, a warehouse, a branch and a client to choose in the settings."""
    DummyStore.reset()
    with app.app_context():
        build = Builders()
        ids = SimpleNamespace(warehouse=build.warehouse("MAIN").id, other=build.warehouse("OTHER").id,
                              branch=build.branch("RUH").id, client=build.client("Walk-in").id,
                              mug=build.product("MUG-01", "25").id)
        build.stock(db.session.get(Product, ids.mug), db.session.get(Warehouse, ids.warehouse), "10", "7.5")
        registry().install("dummy")
        registry().enable("dummy")
        db.session.remove()
    return ids


def _store(app, store_id: int) -> StoreConnection:
    with app.app_context():
        store = db.session.get(StoreConnection, store_id)
        db.session.expunge(store)
        db.session.remove()
    return store


def _deliver(client, key: str, payload: dict):
    body = json.dumps({"event": "order", "data": payload}).encode()
    headers = {SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"}
    return client.post(f"/webhooks/{key}", data=body, headers=headers)


def _create(admin, name: str = "My shop") -> tuple[int, str]:
    response = admin.post("/stores/new", {"platform": "dummy", "name": name})
    assert response.status_code == 302, body(response)
    store_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = admin.text(f"/stores/{store_id}")
    found = KEY.search(page)
    assert found, "the new key is shown on the first visit"
    return store_id, found.group(1)


def test_the_wizard_end_to_end(app, client, master, sign_in):
    """C1–C4: platform and name → key shown once → credentials → activate → settings with the warehouse."""
    admin = sign_in("admin")
    new = admin.text("/stores/new")
    assert '<option value="dummy">Dummy store</option>' in new

    store_id, key = _create(admin)
    first = admin.text(f"/stores/{store_id}")  # reload: the key is gone for good
    assert key not in first and 'id="connection-key"' not in first
    assert key[:10] in first  # only its prefix
    assert 'data-step="credentials"' in first and 'class="current ' in first
    assert 'name="warehouse_id"' not in first and 'id="warehouse-later"' in first

    response = admin.post(f"/stores/{store_id}/credentials",
                          {"cred-store_ref": "shop-1", "cred-secret": SECRET}, follow_redirects=True)
    page = body(response)
    assert response.status_code == 200 and "The credentials are saved" in page
    assert SECRET not in page and "…" in page  # C6: the secret is masked
    assert 'value="shop-1"' in page
    with app.app_context():
        stored = db.session.get(StoreConnection, store_id).credentials_encrypted
        assert SECRET not in stored
        db.session.remove()

    response = admin.post(f"/stores/{store_id}/activate", follow_redirects=True)
    page = body(response)
    assert "The integration is active" in page
    assert _store(app, store_id).status == "active"
    assert 'name="warehouse_id"' in page  # the warehouse choice appears once connected
    assert page.count('name="warehouse_id"') == 1  # a single select: exactly one warehouse

    response = admin.post(f"/stores/{store_id}/settings", {
        "default_client_id": str(master.client), "warehouse_id": str(master.warehouse),
        "branch_id": str(master.branch), "create_financial_invoice": "y", "update_inventory": "y",
        "completed_statuses": "completed, delivered",
    }, follow_redirects=True)
    assert "The store's settings are saved." in body(response)
    settings = _store(app, store_id).settings
    assert settings["warehouse_id"] == master.warehouse and settings["branch_id"] == master.branch
    assert settings["default_client_id"] == master.client
    assert settings["create_financial_invoice"] is True and settings["update_inventory"] is True
    assert settings["product_sync"] is False
    assert settings["completed_statuses"] == ["completed", "delivered"]
    page = admin.text(f"/stores/{store_id}")
    assert 'id="settings-missing"' not in page
    assert f'<option selected value="{master.warehouse}">' in page

    # the connected store books orders sent to the key shown once
    assert _deliver(client, key, order_payload([("MUG-01", "1", "25.00")])).status_code == 200
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SalesInvoice)).scalar_one() == 1
        db.session.remove()


def test_regenerating_the_key_revokes_the_old_one(app, client, master, sign_in):
    """C1: a new key is shown once; the old key's webhook address answers 404 at once."""
    admin = sign_in("admin")
    store_id, old = _create(admin)
    admin.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})
    admin.post(f"/stores/{store_id}/activate")
    admin.post(f"/stores/{store_id}/settings", {"default_client_id": str(master.client),
                                                "warehouse_id": str(master.warehouse), "branch_id": str(master.branch)})
    assert _deliver(client, old, order_payload([("MUG-01", "1", "25.00")])).status_code == 200

    response = admin.post(f"/stores/{store_id}/regenerate-key", follow_redirects=True)
    page = body(response)
    assert "The old key and its webhook address no longer work" in page
    new = KEY.search(page).group(1)
    assert new != old
    assert f"/webhooks/{new}" in page  # the new webhook address, shown with the key
    assert 'id="connection-key"' not in admin.text(f"/stores/{store_id}")

    assert _deliver(client, old, order_payload([("MUG-01", "1", "25.00")])).status_code == 404
    assert _deliver(client, new, order_payload([("MUG-01", "1", "25.00")])).status_code == 200
    # activating again (webhooks to the new address) uses the new key kept for it
    admin.post(f"/stores/{store_id}/activate")
    assert _store(app, store_id).status == "active"


def test_activation_asks_for_the_key_when_this_session_does_not_have_it(app, master, sign_in):
    """C2: a platform that registers webhooks needs the current key; a wrong one is refused next to the field."""
    creator = sign_in("admin")
    store_id, key = _create(creator)
    creator.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})
    with app.app_context():
        from core.services import users

        other_id = users.create_user("second-admin", "password-123", role="admin").id
        db.session.remove()
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = f"{other_id}:0"  # a new user's session version (User.get_id)
    other = WebClient(other, "admin")
    page = other.text(f"/stores/{store_id}")
    assert 'name="key"' in page

    response = other.post(f"/stores/{store_id}/activate", {"key": "mzs_wrong"})
    assert response.status_code == 200
    assert "This is not the store's current connection key." in body(response)
    assert _store(app, store_id).status == "pending"

    response = other.post(f"/stores/{store_id}/activate", {"key": key})
    assert response.status_code == 302
    assert _store(app, store_id).status == "active"


def test_a_store_that_refuses_the_credentials_is_reported_on_the_page(app, master, sign_in):
    admin = sign_in("admin")
    store_id, _key = _create(admin)
    admin.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})
    DummyStore.named("shop-1").failures.append("unauthorised")
    response = admin.post(f"/stores/{store_id}/activate")
    assert response.status_code == 200
    page = body(response)
    assert 'id="activate-error"' in page and "The store refused the connection: unauthorised" in page
    assert _store(app, store_id).status == "pending"


def _platform_not_enabled() -> str:
    """An installed platform other than the dummy (enabled by the fixtures): its plugin is not enabled."""
    return next(name for name in driver_classes() if name != "dummy")


def test_forms_validate_with_messages_next_to_the_fields(app, master, sign_in):
    admin = sign_in("admin")
    page = body(admin.post("/stores/new", {"platform": "", "name": ""}))
    assert "Choose the store's platform." in page and "Give the store a name." in page
    page = body(admin.post("/stores/new", {"platform": _platform_not_enabled(), "name": "x"}))
    assert "Not a valid choice." in page  # a platform whose plugin is not enabled
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(StoreConnection)).scalar_one() == 0
        db.session.remove()

    store_id, _key = _create(admin)
    response = admin.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-1"})
    assert response.status_code == 200
    page = body(response)
    assert re.search(r'has-error">\s*<label for="cred-secret"', page)
    assert "Missing data for required field." in page
    assert _store(app, store_id).credentials_encrypted is None

    admin.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})
    admin.post(f"/stores/{store_id}/activate")
    response = admin.post(f"/stores/{store_id}/settings", {
        "default_client_id": "999999", "warehouse_id": "", "branch_id": str(master.branch),
        "completed_statuses": "x" * 60,
    })
    assert response.status_code == 200
    page = body(response)
    assert "Choose the one warehouse all of this store's stock goes through." in page
    assert "Not a valid choice." in page
    assert "A status has at most 50 characters" in page
    assert page.count('class="field has-error"') == 3
    assert _store(app, store_id).settings.get("branch_id") is None  # nothing saved

    page = body(admin.post(f"/stores/{store_id}/settings", {"warehouse_id": "abc"}))
    assert "Invalid Choice: could not coerce." in page


def test_a_saved_secret_is_kept_when_left_empty(app, master, sign_in):
    admin = sign_in("admin")
    store_id, _key = _create(admin)
    admin.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})
    page = admin.text(f"/stores/{store_id}")
    assert 'type="password"' in page and f'placeholder="…{SECRET[-4:]}"' in page
    response = admin.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-2", "cred-secret": ""})
    assert response.status_code == 302
    with app.app_context():
        from core.integration.connections import credentials

        assert credentials(db.session.get(StoreConnection, store_id)) == {"store_ref": "shop-2", "secret": SECRET}
        db.session.remove()


def test_only_admins_manage_stores_and_viewers_see_the_list(app, master, sign_in):
    admin = sign_in("admin")
    store_id, _key = _create(admin)
    for role in ("viewer", "accountant"):
        user = sign_in(role)
        assert "My shop" in user.text("/stores/")
        assert 'id="new-store"' not in user.text("/stores/")
        assert user.get("/stores/new").status_code == 403
        assert user.post("/stores/new", {"platform": "dummy", "name": "x"}).status_code == 403
        assert user.get(f"/stores/{store_id}").status_code == 403
        for action in ("regenerate-key", "credentials", "activate", "settings", "deactivate"):
            assert user.post(f"/stores/{store_id}/{action}").status_code == 403, action
    viewer = sign_in("viewer")
    assert viewer.get(f"/stores/{store_id}/send-orders").status_code == 403
    assert viewer.post(f"/stores/{store_id}/send-orders", {"numbers": "1"}).status_code == 403
    assert viewer.post(f"/stores/{store_id}/product-sync").status_code == 403
    assert viewer.get(f"/stores/{store_id}/product-sync").status_code == 200
    assert 'id="start-sync"' not in viewer.text(f"/stores/{store_id}/product-sync")
    assert sign_in("admin").get("/stores/999").status_code == 404


# -- "Send order to ERP" (O2, O3) ------------------------------------------------------------------------------


def _remote_order(payload: dict) -> None:
    order = OrderSchema().load(payload)
    DummyStore.named("shop-1").orders[order.external_id] = order


def test_send_orders_by_number_shows_a_result_per_order(app, dummy_shop, sign_in):
    accountant = sign_in("accountant")
    _remote_order(order_payload([("MUG-01", "1", "25.00")], number="A-1", external_id="5001"))
    _remote_order(order_payload([("MUG-01", "1", "25.00")], number="A-2", external_id="5002", status="pending"))
    _remote_order(order_payload([(None, "1", "25.00")], number="A-3", external_id="5003"))
    page = accountant.text(f"/stores/{dummy_shop.store_id}/send-orders")
    assert 'id="send-orders"' in page and 'name="numbers"' in page

    response = accountant.post(f"/stores/{dummy_shop.store_id}/send-orders", {"numbers": "A-1\nA-2, A-3 NOPE"})
    assert response.status_code == 200
    page = body(response)
    table = page[page.index('id="send-results"'):]
    rows = re.findall(r'<tr data-number="([^"]+)" data-outcome="([^"]+)">', table)
    assert rows == [("A-1", "booked"), ("A-2", "skipped"), ("A-3", "needs_attention"), ("NOPE", "not_found")]
    assert "INV-" in table and "has no SKU" in table and "the store has no order with this number" in table
    assert "is not a completed status" in table

    again = body(accountant.post(f"/stores/{dummy_shop.store_id}/send-orders", {"numbers": "A-1"}))
    assert re.findall(r'data-outcome="([^"]+)"', again) == ["already_booked"]
    assert "already booked as INV-" in again
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SalesInvoice)).scalar_one() == 1
        db.session.remove()


def test_send_orders_validates_the_numbers(app, dummy_shop, sign_in):
    accountant = sign_in("accountant")
    url = f"/stores/{dummy_shop.store_id}/send-orders"
    page = body(accountant.post(url, {"numbers": "  "}))
    assert "Enter at least one order number." in page and 'id="send-results"' not in page
    page = body(accountant.post(url, {"numbers": " ".join(str(n) for n in range(60))}))
    assert "Send at most 50 orders at a time." in page
    with app.app_context():
        from core.integration.connections import deactivate

        deactivate(dummy_shop.store_id)
        db.session.remove()
    response = accountant.post(url, {"numbers": "A-1"})
    assert response.status_code == 200
    assert "Activate the store before sending orders." in body(response)


# -- "Sync all products" (P3, P4) -------------------------------------------------------------------------------


def test_product_sync_runs_with_progress_and_a_final_report(app, dummy_shop, sign_in):
    remote = DummyStore.named("shop-1")
    remote.products += [
        ProductData("p-1", "MUG-01", "Mug", Decimal("26")),
        ProductData("p-2", "TEA-9", "Tea", Decimal("10"), quantity=Decimal("3")),
        ProductData("p-3", None, "No code"),
    ]
    accountant = sign_in("accountant")
    url = f"/stores/{dummy_shop.store_id}/product-sync"
    assert 'id="no-run"' in accountant.text(url)
    response = accountant.post(url)
    assert response.status_code == 302
    run_id = int(response.headers["Location"].split("run=")[-1])
    page = accountant.text(response.headers["Location"])
    report = page[page.index('id="sync-report"'):]
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', report))
    assert counts == {"created": "1", "updated": "1", "skipped": "1", "failed": "0"}
    assert 'id="sync-reasons"' in page and "SKU" in page[page.index('id="sync-reasons"'):]
    assert "data-progress-url" not in page  # finished: nothing left to poll

    progress = accountant.get(f"/stores/product-syncs/{run_id}/progress.json").get_json()
    assert progress["done"] is True and progress["percent"] == 100 and progress["reload"] is True
    assert "1 created, 1 updated, 1 skipped, 0 failed" in progress["text"]


def test_progress_of_a_running_sync(app, dummy_shop, sign_in):
    with app.app_context():
        with db.session.begin():
            run = ProductSyncRun(store_id=dummy_shop.store_id, status="running", total=10, processed=4, report=[])
            db.session.add(run)
        run_id = run.id
        db.session.remove()
    viewer = sign_in("viewer")
    page = viewer.text(f"/stores/{dummy_shop.store_id}/product-sync")
    assert f'data-progress-url="/stores/product-syncs/{run_id}/progress.json"' in page
    assert 'id="sync-report"' not in page
    progress = viewer.get(f"/stores/product-syncs/{run_id}/progress.json").get_json()
    assert (progress["percent"], progress["done"], progress["reload"]) == (40, False, False)
    assert "4 of 10" in progress["text"]
    assert viewer.get("/stores/product-syncs/999/progress.json").status_code == 404
    # a second start while one runs follows the running one instead
    response = sign_in("accountant").post(f"/stores/{dummy_shop.store_id}/product-sync")
    assert response.headers["Location"].endswith(f"run={run_id}")


def test_product_sync_of_an_inactive_store_says_why(app, master, sign_in):
    admin = sign_in("admin")
    store_id, _key = _create(admin)
    response = sign_in("accountant").post(f"/stores/{store_id}/product-sync", follow_redirects=True)
    assert response.status_code == 200
    assert "Activate the store before syncing its products." in body(response)


def test_a_job_queue_that_cannot_be_reached_is_reported_without_an_error_page(app, dummy_shop, sign_in,
                                                                              monkeypatch):
    from core.integration import product_sync

    def unreachable(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(product_sync, "enqueue", unreachable)
    accountant = sign_in("accountant")
    response = accountant.post(f"/stores/{dummy_shop.store_id}/product-sync", follow_redirects=True)
    assert response.status_code == 200
    assert "The sync could not be queued." in body(response)
    with app.app_context():
        assert db.session.execute(select(ProductSyncRun.status)).scalar_one() == "failed"
        db.session.remove()
    monkeypatch.undo()
    response = accountant.post(f"/stores/{dummy_shop.store_id}/product-sync")  # not stuck behind the failed one
    assert response.status_code == 302 and "run=" in response.headers["Location"]
