"""The web UI shows deliveries waiting for a store's activation (issue 9 case 3) and lets an admin choose the store's
sales account (issue 9 case 7)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.models import Account, StoreConnection, StoreOrder
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import order_payload


def test_a_delivery_to_a_store_not_active_shows_as_waiting_with_its_reason_in_the_sync_log(app, dummy_shop, sign_in):
    with app.app_context():
        store = db.session.get(StoreConnection, dummy_shop.store_id)
        store.status, store.activated_at = "pending", None
        db.session.commit()
        db.session.remove()
    assert dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25")])).status_code == 200
    page = sign_in("viewer").text("/sync/?status=waiting")
    assert "store_not_active: the store is pending, not active" in page
    store_page = sign_in("admin").text(f"/stores/{dummy_shop.store_id}")
    assert "Deliveries waiting for the activation: 1." in store_page


def test_activating_the_store_in_the_web_ui_books_its_waiting_order(app, dummy_shop, sign_in):
    with app.app_context():
        store = db.session.get(StoreConnection, dummy_shop.store_id)
        store.status, store.activated_at = "pending", None
        db.session.commit()
        db.session.remove()
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25")], number="#WEB"))
    response = sign_in("admin").post(f"/stores/{dummy_shop.store_id}/activate", {"key": dummy_shop.key})
    assert response.status_code == 302
    with app.app_context():
        state = db.session.execute(select(StoreOrder.state).where(StoreOrder.number == "#WEB")).scalar_one()
        assert state == "booked"
        db.session.remove()


def test_an_admin_chooses_the_stores_sales_account(app, dummy_shop, sign_in):
    admin = sign_in("admin")
    with app.app_context():
        chosen = db.session.execute(select(Account.id).where(Account.key == "dummy_sales")).scalar_one()
        receivable = db.session.execute(select(Account.id).where(Account.key == "receivable")).scalar_one()
        db.session.remove()
    page = admin.text(f"/stores/{dummy_shop.store_id}")
    assert f'value="{chosen}"' in page and f'<option value="{receivable}">' not in page  # revenue accounts only
    settings = {"default_client_id": str(dummy_shop.ids.walk_in), "warehouse_id": str(dummy_shop.ids.warehouse),
                "branch_id": str(dummy_shop.ids.branch), "sales_account_id": str(chosen)}
    response = admin.post(f"/stores/{dummy_shop.store_id}/settings", settings, follow_redirects=True)
    assert "The store's settings are saved." in response.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        assert db.session.get(StoreConnection, dummy_shop.store_id).settings["sales_account_id"] == chosen
        db.session.remove()
