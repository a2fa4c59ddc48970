"""One external store is connectable once: a duplicate store reference is refused with a clear message (C1)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import StoreConnection
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import SECRET, body
from tests.web.test_store_wizard import _create, _store, master  # noqa: F401  (master is a fixture)


def _states(app) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(StoreConnection.name, StoreConnection.status, StoreConnection.external_ref)
            .order_by(StoreConnection.id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


@pytest.mark.usefixtures("master")
def test_saving_the_reference_of_a_store_already_connected_is_refused_on_the_page(app, sign_in):
    admin = sign_in("admin")
    first, _key = _create(admin, "Shop one")
    admin.post(f"/stores/{first}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})
    assert admin.post(f"/stores/{first}/activate").status_code == 302
    second, _key = _create(admin, "Shop one again")

    response = admin.post(f"/stores/{second}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})

    assert response.status_code == 409
    page = body(response)
    assert 'id="duplicate-store"' in page and "already connected as “Shop one”" in page
    assert f'href="/stores/{first}"' in page  # a way to the connection that has it
    assert _store(app, second).credentials_encrypted is None  # nothing half-saved
    assert _states(app) == [("Shop one", "active", "shop-1"), ("Shop one again", "pending", None)]


@pytest.mark.usefixtures("master")
def test_the_api_answers_409_for_a_store_reference_already_connected(app, api):
    ids = [api.post("/stores", {"platform": "dummy", "name": name}, role="admin").get_json()["id"]
           for name in ("Shop one", "Shop two")]
    assert api.put(f"/stores/{ids[0]}/credentials", {"store_ref": "shop-1", "secret": SECRET}).status_code == 200

    response = api.put(f"/stores/{ids[1]}/credentials", {"store_ref": "shop-1", "secret": SECRET})

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "store_already_connected" and "Shop one" in error["message"]
    assert error["fields"] == {"store_ref": ["already connected"]}
    assert _states(app) == [("Shop one", "pending", "shop-1"), ("Shop two", "pending", None)]


@pytest.mark.usefixtures("master")
def test_a_disabled_connection_frees_its_store_and_cannot_come_back_beside_the_new_one(app, sign_in):
    admin = sign_in("admin")
    old, _key = _create(admin, "Old connection")
    admin.post(f"/stores/{old}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET})
    admin.post(f"/stores/{old}/activate")
    admin.post(f"/stores/{old}/deactivate")
    new, _key = _create(admin, "New connection")
    assert admin.post(f"/stores/{new}/credentials", {"cred-store_ref": "shop-1", "cred-secret": SECRET}).status_code == 302
    assert admin.post(f"/stores/{new}/activate").status_code == 302

    response = admin.post(f"/stores/{old}/activate")

    assert response.status_code == 409
    assert "already connected as “New connection”" in body(response)
    assert _states(app) == [("Old connection", "disabled", "shop-1"), ("New connection", "active", "shop-1")]
