"""NUL characters are refused before they reach the database: 400 in URLs, 422 in JSON fields."""
from core.models import Client, Warehouse
from tests.test_api_errors import assert_error

NUL = "\u0000"


def test_nul_in_a_query_string_gets_400_even_for_a_viewer(api, shop):
    for path in ("/products?q=%00", "/clients?q=a%00b", "/invoices?reference=%00", "/journal-entries?source_type=%00",
                 "/store-orders?number=%00", "/products?%00=1"):
        error = assert_error(api.get(path, role="viewer"), 400, "bad_request")
        assert "NUL" in error["message"], path


def test_nul_in_the_path_gets_400(api):
    assert_error(api.post("/plugins/dum%00my/enable", role="admin"), 400, "bad_request")
    assert_error(api.get("/no-such%00thing"), 400, "bad_request")


def test_the_nul_guard_answers_before_authentication(client):
    assert_error(client.get("/api/v1/products?q=%00"), 400, "bad_request")


def test_nul_in_a_json_string_field_gets_422_naming_the_field_and_writes_nothing(api, count_rows):
    response = api.post("/warehouses", {"code": "W" + NUL, "name": "Main"})
    error = assert_error(response, 422, "invalid")
    assert error["fields"] == {"code": ["must not contain NUL characters"]}
    assert count_rows(Warehouse) == 0
    response = api.post("/clients", {"name": "Walk-in", "phone": NUL})
    assert assert_error(response, 422, "invalid")["fields"] == {"phone": ["must not contain NUL characters"]}
    assert count_rows(Client) == 0


def test_nul_in_nested_fields_names_the_line(api, shop):
    body = {
        "client_id": shop.client, "branch_id": shop.branch, "warehouse_id": shop.warehouse,
        "lines": [
            {"product_id": shop.mug, "quantity": "1", "unit_price": "25.00"},
            {"product_id": shop.tea, "quantity": "1", "unit_price": "10.00", "description": "tea" + NUL},
        ],
    }
    error = assert_error(api.post("/invoices", body), 422, "invalid")
    assert error["fields"] == {"lines.1.description": ["must not contain NUL characters"]}
    assert api.get("/invoices").get_json()["total"] == 0


def test_nul_in_free_form_bodies_and_keys_gets_422(api):
    assert_error(api.put("/company", {"name": "Mizan" + NUL}), 422, "invalid")
    error = assert_error(api.put("/stores/1/credentials", {"store_ref" + NUL: "x"}), 422, "invalid")
    assert list(error["fields"]) == ["store_ref\\u0000"]


def test_webhooks_are_not_guarded(client):
    """Webhook bodies are stored as they come; an unknown key still answers the webhook's own 404."""
    response = client.post("/webhooks/no-such-key?x=%00", data=b'{"name": "\\u0000"}',
                           content_type="application/json")
    assert response.status_code == 404
    assert "NUL" not in response.get_data(as_text=True)
