"""Activating a store whose credentials are missing or incomplete answers 409, never a crash."""
import pytest

from core.extensions import db
from core.models import StoreConnection
from core.plugins import registry
from core.testing.kit.driver import driver_classes


@pytest.mark.parametrize("platform", list(driver_classes()))
def test_activating_a_store_without_credentials_answers_409_naming_them(app, api, platform):
    with app.app_context():
        registry().install(platform)
        registry().enable(platform)
        db.session.remove()
    created = api.post("/stores", {"platform": platform, "name": "Shop"}, role="admin").get_json()
    response = api.post(f"/stores/{created['id']}/activate", {"key": created["connection_key"]}, role="admin")
    assert response.status_code == 409, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and "credentials" in error["message"]
    assert error["fields"] and all(name.startswith("credentials.") for name in error["fields"])
    with app.app_context():
        assert db.session.get(StoreConnection, created["id"]).status == "pending"
        db.session.remove()

