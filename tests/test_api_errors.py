"""API errors are always one JSON shape, with the right status and never a stack trace."""
from core.api import stock


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["status"] == status and error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


def test_a_body_that_is_not_a_json_object_gets_400(api):
    for body, message in (("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object"), ("", "required")):
        response = api.post("/warehouses", data=body, content_type="application/json")
        assert message in assert_error(response, 400, "bad_request")["message"], body


def test_unknown_api_url_gets_json_404_even_without_a_token(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_unknown_id_gets_json_404(api):
    error = assert_error(api.get("/invoices/999999999"), 404, "not_found")
    assert "999999999" in error["message"]


def test_ids_beyond_the_database_range_are_404_or_400_not_500(api):
    for path in ("/invoices/99999999999999999999", "/products/3000000000/stock-card", "/accounts/2147483648/ledger"):
        assert_error(api.get(path), 404, "not_found")
    error = assert_error(api.get("/stock-levels?product_id=99999999999999999999"), 400, "bad_request")
    assert list(error["fields"]) == ["product_id"]


def test_wrong_method_gets_json_405_with_allow_header(api):
    response = api.open("DELETE", "/invoices", role="admin")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_pages_outside_the_api_keep_flask_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response.is_json


def test_unknown_body_fields_are_named(api):
    response = api.post("/warehouses", {"code": "W1", "name": "W", "colour": "red"})
    error = assert_error(response, 422, "invalid")
    assert error["fields"] == {"colour": ["Unknown field."]}


def test_a_crash_answers_json_500_without_details(app, api, monkeypatch):
    def explode(**_):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(stock, "stock_levels", explode)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = api.get("/stock-levels")
    error = assert_error(response, 500, "internal_error")
    body = response.get_data(as_text=True)
    assert "hunter2" not in body and "Traceback" not in body and "RuntimeError" not in body
    assert error["fields"] == {}


def test_decimals_must_be_decimal_strings(api, count_rows):
    from core.models import Product

    for price in (12.5, 12, "1e3", "1E+2", " 12", "١٢", "12.", "NaN"):
        error = assert_error(api.post("/products", {"code": "X", "name": "X", "sale_price": price}), 422, "invalid")
        assert list(error["fields"]) == ["sale_price"], price
    assert count_rows(Product) == 0
    assert api.post("/products", {"code": "X", "name": "X", "sale_price": "-0.50"}).status_code == 422
    assert api.post("/products", {"code": "X", "name": "X", "sale_price": "12.50"}).status_code == 201


def test_booleans_must_be_json_booleans(api, count_rows):
    from core.models import Account

    for flag in (0, 1, "true", "yes", None):
        body = {"code": "9999", "name_en": "X", "name_ar": "X", "type": "asset", "is_group": flag}
        error = assert_error(api.post("/accounts", body), 422, "invalid")
        assert list(error["fields"]) == ["is_group"], flag
    before = count_rows(Account)
    assert api.post("/accounts", {"code": "9999", "name_en": "X", "name_ar": "X", "type": "asset",
                                  "is_group": True}).status_code == 201
    assert count_rows(Account) == before + 1


def test_a_body_nested_too_deeply_gets_400_not_500(api, count_rows):
    from core.models import Client

    for depth in (33, 900, 50_000):
        body = '{"a": ' * depth + "1" + "}" * depth
        error = assert_error(api.post("/clients", data=body, content_type="application/json"), 400, "bad_request")
        assert "nested" in error["message"], depth
    assert count_rows(Client) == 0
    assert api.post("/clients", data='{"name": "x", "phone": null}', content_type="application/json").status_code == 201
