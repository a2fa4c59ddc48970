"""The integration from the command line: ``flask plugins``, ``flask stores`` and ``flask jobs``."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.integration import connections
from core.models import (
    Account,
    PluginRecord,
    Product,
    SalesInvoice,
    StoreConnection,
    WebhookDelivery,
)
from core.models.base import utcnow
from core.platform.data import ProductData
from core.platform.schemas import OrderSchema
from core.plugins import registry
from core.testing.dummy import SIGNATURE_HEADER, DummyStore, sign
from tests.builders import Builders
from tests.integration.conftest import SECRET, order_payload

KEY = re.compile(r"connection key: (mzs_\S+)")


def count(app, model, *where) -> int:
    with app.app_context():
        value = db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        db.session.remove()
        return value


def run(runner, *args: str):
    return runner.invoke(args=list(args))


def failed_clearly(result, text: str) -> bool:
    return result.exit_code == 1 and text in result.output and "Traceback" not in result.output


@pytest.fixture
def enabled(app):
    """The dummy plugin enabled, a warehouse MAIN, a branch and a default client; ids by name."""
    DummyStore.reset()
    with app.app_context():
        build = Builders()
        ids = {"warehouse": build.warehouse("MAIN").id, "branch": build.branch("RUH").id,
               "client": build.client("Walk-in").id}
        registry().install("dummy")
        registry().enable("dummy")
        db.session.remove()
    return ids


def create(runner) -> tuple[int, str]:
    result = run(runner, "stores", "create", "dummy", "CLI shop")
    assert result.exit_code == 0, result.output
    store_id = int(re.search(r"Created store (\d+)", result.output).group(1))
    return store_id, KEY.search(result.output).group(1)


# -- plugins --------------------------------------------------------------------------------


def test_plugins_install_enable_disable_uninstall_change_the_registry(app, runner):
    listed = run(runner, "plugins", "list")
    assert listed.exit_code == 0 and re.search(r"^dummy\s+1\.0\s+no\s+no\s+Dummy store", listed.output, re.M)
    for action, done in (("install", "installed"), ("enable", "enabled")):
        result = run(runner, "plugins", action, "dummy")
        assert result.exit_code == 0 and f"Plugin dummy {done}." in result.output
    with app.app_context():
        record = db.session.execute(select(PluginRecord).where(PluginRecord.name == "dummy")).scalar_one()
        assert (record.installed, record.enabled) == (True, True)
    assert count(app, Account, Account.key == "dummy_clearing") == 1
    assert re.search(r"^dummy\s+1\.0\s+yes\s+yes", run(runner, "plugins", "list").output, re.M)
    assert run(runner, "plugins", "disable", "dummy").exit_code == 0
    assert run(runner, "plugins", "uninstall", "dummy").exit_code == 0
    with app.app_context():
        record = db.session.execute(select(PluginRecord).where(PluginRecord.name == "dummy")).scalar_one()
        assert (record.installed, record.enabled) == (False, False)


def test_plugin_commands_refuse_unknown_names_and_enabling_before_install(app, runner):
    assert failed_clearly(run(runner, "plugins", "install", "nope"), "No plugin named nope")
    assert failed_clearly(run(runner, "plugins", "enable", "dummy"), "Install plugin dummy before enabling it")
    assert count(app, PluginRecord, PluginRecord.name == "nope") == 0


# -- stores ---------------------------------------------------------------------------------


def test_stores_create_prints_the_key_once_and_list_shows_only_its_prefix(app, runner, enabled):
    store_id, key = create(runner)
    with app.app_context():
        assert connections.store_for_key(key).id == store_id
        db.session.remove()
    listed = run(runner, "stores", "list")
    assert listed.exit_code == 0 and "CLI shop" in listed.output and "pending" in listed.output
    assert key not in listed.output and key[:10] in listed.output


def test_stores_create_for_a_platform_that_is_not_enabled_fails_clearly(app, runner):
    assert failed_clearly(run(runner, "stores", "create", "dummy", "X"), "No enabled plugin for the platform 'dummy'")
    assert count(app, StoreConnection) == 0


def test_stores_credentials_are_validated_and_shown_masked(app, runner, enabled):
    store_id, _ = create(runner)
    missing = run(runner, "stores", "credentials", str(store_id), "store_ref=cli-shop")
    assert failed_clearly(missing, "secret: Missing data for required field")
    saved = run(runner, "stores", "credentials", str(store_id), "store_ref=cli-shop", f"secret={SECRET}")
    assert saved.exit_code == 0, saved.output
    assert "store_ref = cli-shop" in saved.output and SECRET not in saved.output and SECRET[-4:] in saved.output
    malformed = run(runner, "stores", "credentials", str(store_id), "secret")
    assert malformed.exit_code == 2 and "is not key=value" in malformed.output
    assert failed_clearly(run(runner, "stores", "credentials", "999", "a=b"), "No store connection with id 999")


def test_stores_settings_read_values_as_json_and_refuse_unknown_records(app, runner, enabled):
    store_id, _ = create(runner)
    bad = run(runner, "stores", "settings", str(store_id), "warehouse_id=9999")
    assert failed_clearly(bad, "no warehouse with id 9999")
    assert failed_clearly(run(runner, "stores", "settings", str(store_id), "colour=red"), "colour")
    ok = run(runner, "stores", "settings", str(store_id), f"warehouse_id={enabled['warehouse']}",
             "update_inventory=true", 'completed_statuses=["completed","delivered"]')
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        settings = db.session.get(StoreConnection, store_id).settings
        assert settings["warehouse_id"] == enabled["warehouse"] and settings["update_inventory"] is True
        assert settings["completed_statuses"] == ["completed", "delivered"]


def _connected(runner, enabled) -> tuple[int, str]:
    store_id, key = create(runner)
    run(runner, "stores", "credentials", str(store_id), "store_ref=cli-shop", f"secret={SECRET}")
    run(runner, "stores", "settings", str(store_id), f"warehouse_id={enabled['warehouse']}",
        f"branch_id={enabled['branch']}", f"default_client_id={enabled['client']}")
    return store_id, key


def test_stores_activate_needs_the_key_and_reports_a_refusal(app, runner, enabled):
    store_id, key = _connected(runner, enabled)
    assert failed_clearly(run(runner, "stores", "activate", str(store_id)), "needs its current connection key")
    DummyStore.named("cli-shop").failures.append("unauthorised")
    assert failed_clearly(run(runner, "stores", "activate", str(store_id), "--key", key), "refused the connection")
    activated = run(runner, "stores", "activate", str(store_id), "--key", key)
    assert activated.exit_code == 0 and f"Store {store_id} (CLI shop) is active." in activated.output
    assert run(runner, "stores", "activate", str(store_id), "--key", key).exit_code == 0
    assert count(app, Account, Account.key == "dummy_clearing") == 1


def test_stores_rotate_key_revokes_the_old_webhook_url(app, runner, client, enabled):
    store_id, old_key = _connected(runner, enabled)
    run(runner, "stores", "activate", str(store_id), "--key", old_key)
    rotated = run(runner, "stores", "rotate-key", str(store_id))
    assert rotated.exit_code == 0
    new_key = KEY.search(rotated.output).group(1)
    assert new_key != old_key and f"/webhooks/{new_key}" in rotated.output
    body = json.dumps({"event": "ping", "data": {}}).encode()
    headers = {SIGNATURE_HEADER: sign(SECRET, body)}
    assert client.post(f"/webhooks/{old_key}", data=body, headers=headers).status_code == 404
    assert client.post(f"/webhooks/{new_key}", data=body, headers=headers).status_code == 200


def test_stores_send_orders_books_once_and_names_unknown_numbers(app, runner, enabled):
    store_id, key = _connected(runner, enabled)
    run(runner, "stores", "activate", str(store_id), "--key", key)
    remote = DummyStore.named("cli-shop")
    remote.orders["9"] = OrderSchema().load(order_payload([("CUP-1", "1", "40.00")], number="#9"))
    remote.products.append(ProductData("p-1", "CUP-1", "Cup", Decimal("40"), quantity=Decimal("5")))
    first = run(runner, "stores", "send-orders", str(store_id), "#9", "#10")
    assert first.exit_code == 0, first.output
    assert re.search(r"^#9: booked → INV-\d+$", first.output, re.M)
    assert "#10: not_found: the store has no order with this number" in first.output
    second = run(runner, "stores", "send-orders", str(store_id), "#9")
    assert "#9: already_booked" in second.output
    assert count(app, SalesInvoice) == 1


def test_stores_sync_products_prints_the_report(app, runner, enabled):
    store_id, key = _connected(runner, enabled)
    run(runner, "stores", "activate", str(store_id), "--key", key)
    DummyStore.named("cli-shop").products.extend([
        ProductData("p-1", "CUP-1", "Cup", Decimal("40")),
        ProductData("p-2", None, "Gift card", Decimal("100")),
    ])
    result = run(runner, "stores", "sync-products", str(store_id))
    assert result.exit_code == 0, result.output
    assert "done" in result.output and "created 1, updated 0, skipped 1, failed 0" in result.output
    assert "skipped: p-2: store product p-2 (Gift card) has no SKU" in result.output
    assert count(app, Product, Product.code == "CUP-1") == 1


def test_stores_commands_on_a_pending_store_fail_clearly(runner, enabled):
    store_id, _ = create(runner)
    assert failed_clearly(run(runner, "stores", "send-orders", str(store_id), "#1"), "Activate the store")
    assert failed_clearly(run(runner, "stores", "sync-products", str(store_id)), "Activate the store")


# -- jobs -----------------------------------------------------------------------------------


def test_jobs_worker_without_redis_fails_with_a_clear_message(runner):
    result = run(runner, "jobs", "worker", "--burst")
    assert failed_clearly(result, "REDIS_URL is not set")


def test_jobs_recover_queues_deliveries_whose_job_was_lost(app, runner, dummy_shop):
    order = order_payload([("MUG-01", "1", "25.00")])
    with app.app_context():
        db.session.add(WebhookDelivery(
            store_id=dummy_shop.store_id, delivery_key="lost-1", headers={},
            body=json.dumps({"event": "order", "data": order}).encode(),
            received_at=utcnow() - timedelta(minutes=10),
        ))
        db.session.commit()
        db.session.remove()
    assert "Queued 0 deliveries again." in run(runner, "jobs", "recover", "--older-than", "3600").output
    result = run(runner, "jobs", "recover")
    assert result.exit_code == 0 and "Queued 1 deliveries again." in result.output
    assert count(app, SalesInvoice) == 1
    assert count(app, WebhookDelivery, WebhookDelivery.status == "processed") == 1
