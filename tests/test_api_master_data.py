"""Master data over the API: create, show and list each kind, with validation and duplicates."""
import pytest

from core.models import Product

RESOURCES = {
    "accounts": {"code": "1150", "name_en": "Petty cash", "name_ar": "العهدة", "type": "asset"},
    "clients": {"name": "Noura", "email": "noura@example.com", "phone": "+966500000000"},
    "categories": {"name": "Coffee", "name_ar": "قهوة"},
    "products": {"code": "COF-250", "name": "Arabic coffee", "barcode": "6281000000017",
                 "purchase_price": "18.00", "sale_price": "35.5"},
    "warehouses": {"code": "JED", "name": "Jeddah warehouse"},
    "branches": {"code": "DMM", "name": "Dammam branch"},
}


@pytest.mark.parametrize("resource", RESOURCES)
def test_create_then_show_then_list(api, resource):
    created = api.post(f"/{resource}", RESOURCES[resource])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert created.headers["Location"] == f"/api/v1/{resource}/{body['id']}"
    shown = api.get(created.headers["Location"].removeprefix("/api/v1"))
    assert shown.status_code == 200 and shown.get_json() == body
    listed = api.get(f"/{resource}?per_page=500").get_json()
    assert body in listed["items"]


def test_product_amounts_are_strings_with_two_places(api):
    body = api.post("/products", RESOURCES["products"]).get_json()
    assert body["sale_price"] == "35.50" and body["purchase_price"] == "18.00"
    assert body["stock_tracked"] is True


def test_account_under_a_group_parent(api):
    parent = api.get("/accounts?per_page=500").get_json()["items"]
    current_assets = next(a for a in parent if a["code"] == "11")
    body = api.post("/accounts", {**RESOURCES["accounts"], "parent_id": current_assets["id"]})
    assert body.status_code == 201 and body.get_json()["parent_id"] == current_assets["id"]
    wrong_type = api.post("/accounts", {**RESOURCES["accounts"], "code": "1151", "type": "expense",
                                        "parent_id": current_assets["id"]})
    assert wrong_type.status_code == 422 and "type" in wrong_type.get_json()["error"]["fields"]


def test_duplicate_code_gets_409_naming_the_field(api):
    for resource in ("products", "warehouses", "branches", "accounts"):
        assert api.post(f"/{resource}", RESOURCES[resource]).status_code == 201
        again = api.post(f"/{resource}", RESOURCES[resource])
        assert again.status_code == 409, resource
        error = again.get_json()["error"]
        assert error["code"] == "conflict" and "code" in error["fields"], resource


def test_duplicate_product_code_writes_nothing(api, count_rows):
    api.post("/products", RESOURCES["products"])
    api.post("/products", {**RESOURCES["products"], "barcode": None})
    assert count_rows(Product) == 1


INVALID_PRODUCTS = {
    "missing code": ({"name": "No code"}, {"code"}),
    "empty code": ({"code": "", "name": "Empty code"}, {"code"}),
    "negative price": ({"code": "X", "name": "X", "sale_price": "-1"}, {"sale_price"}),
    "too many places": ({"code": "X", "name": "X", "sale_price": "1.234"}, {"sale_price"}),
    "not a boolean": ({"code": "X", "name": "X", "sale_price": "12.5", "stock_tracked": "perhaps"}, {"stock_tracked"}),
    "unknown category": ({"code": "X", "name": "X", "category_id": 999999999}, {"category_id"}),
    "id as string": ({"code": "X", "name": "X", "category_id": "1"}, {"category_id"}),
}


def test_invalid_product_gets_422_with_field_messages(api, count_rows):
    for case, (body, fields) in INVALID_PRODUCTS.items():
        response = api.post("/products", body)
        assert response.status_code == 422, case
        error = response.get_json()["error"]
        assert set(error["fields"]) == fields and all(error["fields"][f] for f in fields), case
    assert count_rows(Product) == 0


def test_invalid_client_email_and_account_type(api):
    client = api.post("/clients", {"name": "C", "email": "not-an-email"}).get_json()["error"]
    assert list(client["fields"]) == ["email"]
    account = api.post("/accounts", {**RESOURCES["accounts"], "type": "income"}).get_json()["error"]
    assert list(account["fields"]) == ["type"]


def test_products_filter_by_name_code_or_barcode(api):
    api.post("/products", {"code": "COF-250", "name": "Arabic coffee", "barcode": "111"})
    api.post("/products", {"code": "MUG-01", "name": "Ceramic mug", "barcode": "222"})
    api.post("/products", {"code": "100%-X", "name": "Percent", "barcode": "333"})

    def codes(q):
        return [p["code"] for p in api.get("/products", query_string={"q": q}).get_json()["items"]]

    assert codes("coffee") == ["COF-250"]
    assert codes("mug") == ["MUG-01"]
    assert codes("222") == ["MUG-01"]
    assert codes("%") == ["100%-X"]
    assert codes("nothing") == []
