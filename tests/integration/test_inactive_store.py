"""Deliveries to a store that is not active wait, shown with a reason, until it is activated; then O1 decides
(issue 9 case 3, design point 3)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.integration import connections
from core.integration.booking import book_order
from core.models import SalesInvoice, StoreConnection, StoreOrder, SyncLogEntry, WebhookDelivery
from core.platform.schemas import OrderSchema
from tests.integration.conftest import DummyShop, order_payload


@pytest.fixture
def pending_shop(dummy_shop: DummyShop, app) -> DummyShop:
    """The dummy store, its settings and credentials set, but not activated (status pending, no activation time)."""
    with app.app_context():
        store = db.session.get(StoreConnection, dummy_shop.store_id)
        store.status, store.activated_at = "pending", None
        db.session.commit()
        db.session.remove()
    return dummy_shop


def _deliveries(app, store_id: int) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery.status, WebhookDelivery.last_error)
                                  .where(WebhookDelivery.store_id == store_id).order_by(WebhookDelivery.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def _count(app, model) -> int:
    with app.app_context():
        value = db.session.execute(select(func.count()).select_from(model)).scalar_one()
        db.session.remove()
    return value


def _orders(app) -> dict[str, tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(select(StoreOrder.number, StoreOrder.state, StoreOrder.reason)).all()
        db.session.remove()
    return {number: (state, reason) for number, state, reason in rows}


def test_a_delivery_to_a_store_never_activated_waits_and_books_nothing(app, pending_shop):
    response = pending_shop.deliver("order", order_payload([("MUG-01", "1", "25")], number="#W1"))
    assert response.status_code == 200
    [(status, reason)] = _deliveries(app, pending_shop.store_id)
    assert status == "waiting"
    assert reason.startswith("store_not_active: ")
    assert _count(app, SalesInvoice) == 0
    assert _orders(app) == {}
    with app.app_context():
        entry = db.session.execute(select(SyncLogEntry).where(SyncLogEntry.status == "waiting")).scalar_one()
        assert entry.reason.startswith("store_not_active: ") and entry.delivery_id is not None
        db.session.remove()


def test_activating_the_store_processes_its_waiting_deliveries_and_o1_skips_older_orders(app, pending_shop):
    before = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    pending_shop.deliver("order", {**order_payload([("MUG-01", "1", "25")], number="#OLD"), "created_at": before})
    pending_shop.deliver("order", order_payload([("MUG-01", "2", "25")], number="#NEW"))
    assert [status for status, _ in _deliveries(app, pending_shop.store_id)] == ["waiting", "waiting"]

    with app.app_context():
        connections.activate(pending_shop.store_id, pending_shop.key)
        db.session.remove()

    assert [status for status, _ in _deliveries(app, pending_shop.store_id)] == ["processed", "processed"]
    orders = _orders(app)
    assert orders["#OLD"][0] == "skipped" and "(O1" in orders["#OLD"][1]  # created before the activation
    assert orders["#NEW"] == ("booked", None)
    assert _count(app, SalesInvoice) == 1


def test_activating_through_the_api_releases_waiting_deliveries(app, api, pending_shop):
    pending_shop.deliver("order", order_payload([("MUG-01", "1", "25")], number="#API"))
    response = api.post(f"/stores/{pending_shop.store_id}/activate", {"key": pending_shop.key}, role="admin")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _orders(app)["#API"] == ("booked", None)


def test_the_api_lists_waiting_deliveries_with_their_reason(app, api, pending_shop):
    pending_shop.deliver("order", order_payload([("MUG-01", "1", "25")], number="#L"))
    listed = api.get("/webhook-deliveries?status=waiting").get_json()
    items = listed.get("items", listed) if isinstance(listed, dict) else listed
    assert len(items) == 1 and items[0]["status"] == "waiting"


def test_a_store_without_an_activation_time_books_nothing_unless_by_hand(app, pending_shop):
    """O1: without an activation time the date rule cannot hold, so nothing books automatically (issue 9 case 3)."""
    data = OrderSchema().load(order_payload([("MUG-01", "1", "25")], number="#M"))
    with app.app_context():
        store = db.session.get(StoreConnection, pending_shop.store_id)
        store.status = "active"  # e.g. a connection row made active without activation
        db.session.commit()
        automatic = book_order(store, data)
        assert automatic.outcome == "skipped" and "never activated" in automatic.reason
        assert db.session.execute(select(func.count()).select_from(SalesInvoice)).scalar_one() == 0
        by_hand = book_order(db.session.get(StoreConnection, pending_shop.store_id), data, manual=True)
        assert by_hand.outcome == "booked"
        db.session.remove()


def test_activating_through_the_cli_releases_waiting_deliveries(app, runner, pending_shop):
    pending_shop.deliver("order", order_payload([("MUG-01", "1", "25")], number="#CLI"))
    assert _orders(app) == {}
    result = runner.invoke(args=["stores", "activate", str(pending_shop.store_id), "--key", pending_shop.key])
    assert result.exit_code == 0, result.output
    assert _orders(app)["#CLI"] == ("booked", None)
    assert [status for status, _ in _deliveries(app, pending_shop.store_id)] == ["processed"]


def test_a_waiting_delivery_redelivered_is_not_stored_twice_and_books_once_on_activation(app, pending_shop):
    """O3 with waiting: the platform's retry of a waiting delivery is a duplicate; activation books the order once."""
    order = order_payload([("MUG-01", "1", "25")], number="#DUP")
    for _ in range(3):
        assert pending_shop.deliver("order", order, delivery="same-1").status_code == 200
    pending_shop.deliver("order", order, delivery="same-2")  # the same order in another delivery
    with app.app_context():
        connections.activate(pending_shop.store_id, pending_shop.key)
        db.session.remove()
    assert [status for status, _ in _deliveries(app, pending_shop.store_id)] == ["processed", "processed"]
    assert _orders(app)["#DUP"][0] == "booked"
    assert _count(app, SalesInvoice) == 1


def test_a_delivery_marked_waiting_just_after_the_activation_released_is_processed_all_the_same(
        app, pending_shop, monkeypatch):
    """The activation commits and releases while a job is deciding that its delivery waits: the job sees the store
    active once it has marked the delivery, and releases it itself (nothing waits forever)."""
    from core.integration import tasks

    original = tasks._mark

    def mark_then_activate_elsewhere(delivery_id, status, error, **options):
        original(delivery_id, status, error, **options)
        if status == "waiting":  # a concurrent activation, whose release found nothing waiting yet
            with app.app_context():
                store = db.session.get(StoreConnection, pending_shop.store_id)
                store.status, store.activated_at = "active", datetime.now(UTC)
                db.session.commit()
                db.session.remove()

    monkeypatch.setattr(tasks, "_mark", mark_then_activate_elsewhere)
    pending_shop.deliver("order", order_payload([("MUG-01", "1", "25")], number="#RACE"))
    assert [status for status, _ in _deliveries(app, pending_shop.store_id)] == ["processed"]
    assert _orders(app)["#RACE"] == ("booked", None)
