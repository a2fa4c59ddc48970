"""API authentication: bearer tokens, and what each role may do."""
from datetime import UTC, datetime

from sqlalchemy import update

from core.extensions import db
from core.models import ApiToken, Warehouse
from core.services.transaction import atomic

NEW_WAREHOUSE = {"code": "W2", "name": "Second"}


def test_requests_without_a_valid_token_get_401_json(api):
    for header in (None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer mzn_not-a-real-token"):
        headers = {"Authorization": header} if header is not None else {}
        response = api.get("/products", role=None, headers=headers)
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        error = response.get_json()["error"]
        assert error["status"] == 401 and error["code"] == "unauthorized" and error["fields"] == {}


def test_a_revoked_token_is_refused(app, api):
    assert api.get("/products", role="viewer").status_code == 200
    with app.app_context():
        with atomic():
            db.session.execute(update(ApiToken).values(revoked_at=datetime.now(UTC)))
        db.session.remove()
    assert api.get("/products", role="viewer").status_code == 401


def test_viewer_may_read_but_not_write(api, count_rows):
    assert api.get("/warehouses", role="viewer").status_code == 200
    response = api.post("/warehouses", NEW_WAREHOUSE, role="viewer")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert count_rows(Warehouse) == 0


def test_accountant_may_create_but_not_change_company_settings(api, count_rows):
    assert api.post("/warehouses", NEW_WAREHOUSE, role="accountant").status_code == 201
    assert count_rows(Warehouse) == 1
    assert api.get("/company", role="accountant").status_code == 200
    response = api.put("/company", {"name": "Taken over"}, role="accountant")
    assert response.status_code == 403
    assert api.get("/company").get_json()["name"] != "Taken over"


def test_admin_may_do_everything(api):
    assert api.post("/warehouses", NEW_WAREHOUSE, role="admin").status_code == 201
    assert api.put("/company", {"name": "Admin Co"}, role="admin").status_code == 200
    assert api.get("/company", role="viewer").get_json()["name"] == "Admin Co"


def test_role_is_checked_before_the_body_is_read(api):
    response = api.post("/invoices", role="viewer", data="{not json", content_type="application/json")
    assert response.status_code == 403


def test_openapi_document_needs_no_token(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
