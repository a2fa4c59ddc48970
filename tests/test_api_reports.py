"""Reports and company settings over the API."""
def test_stock_levels_filter_by_warehouse_and_product(api, shop):
    both = api.get("/stock-levels").get_json()["items"]
    assert {(ln["product_id"], ln["quantity"], ln["value"]) for ln in both} == {
        (shop.mug, "10.000", "75.00"), (shop.tea, "5.000", "20.00")
    }
    assert api.get(f"/stock-levels?warehouse_id={shop.warehouse + 1}").get_json()["total"] == 0
    [tea] = api.get(f"/stock-levels?product_id={shop.tea}").get_json()["items"]
    assert tea["average_cost"] == "4.0000"


def test_stock_card_shows_each_movement_with_running_quantity(api, shop):
    api.post("/invoices", {"client_id": shop.client, "branch_id": shop.branch, "warehouse_id": shop.warehouse,
                           "lines": [{"product_id": shop.mug, "quantity": "3", "unit_price": "25"}]})
    card = api.get(f"/products/{shop.mug}/stock-card").get_json()
    assert [(m["kind"], m["quantity"], m["balance"]) for m in card["items"]] == [
        ("inbound_requisition", "10.000", "10.000"), ("sale", "-3.000", "7.000")
    ]
    assert card["items"][1]["value"] == "-22.50"
    assert api.get(f"/products/{shop.mug}/stock-card?warehouse_id={shop.warehouse + 1}").get_json()["total"] == 0
    assert api.get("/products/999999999/stock-card").status_code == 404


def test_trial_balance_as_of_a_date(api, shop):
    api.post("/invoices", {"client_id": shop.client, "branch_id": shop.branch, "warehouse_id": shop.warehouse,
                           "date": "2030-01-01", "lines": [{"product_id": shop.mug, "quantity": "1", "unit_price": "20"}]})
    now = api.get("/reports/trial-balance").get_json()
    assert now["difference"] == "0.00" and "4101" in {r["code"] for r in now["rows"]}
    before = api.get("/reports/trial-balance?as_of=2029-12-31").get_json()
    assert before["as_of"] == "2029-12-31" and "4101" not in {r["code"] for r in before["rows"]}
    assert api.get("/reports/trial-balance?as_of=31-12-2029").status_code == 400


def test_company_settings_read_by_anyone_changed_by_admin(api):
    assert api.get("/company", role="viewer").get_json() == {
        "name": "My company", "vat_number": None, "base_currency": "SAR", "vat_rate": "0.1500",
    }
    response = api.put("/company", {"name": "Mizan Trading", "vat_number": "300000000000003", "vat_rate": "0.05"})
    assert response.status_code == 200
    assert response.get_json() == {
        "name": "Mizan Trading", "vat_number": "300000000000003", "base_currency": "SAR", "vat_rate": "0.0500",
    }
    assert api.get("/company").get_json()["vat_rate"] == "0.0500"


def test_new_vat_rate_applies_to_the_next_invoice(api, shop):
    api.put("/company", {"vat_rate": "0.05"})
    invoice = api.post("/invoices", {"client_id": shop.client, "branch_id": shop.branch, "warehouse_id": shop.warehouse,
                                     "lines": [{"product_id": shop.tea, "quantity": "1", "unit_price": "100"}]}).get_json()
    assert (invoice["vat_rate"], invoice["total"]) == ("0.0500", "105.00")


def test_invalid_company_settings_get_422(api):
    cases = [({"vat_rate": "1.5"}, "vat_rate"), ({"vat_rate": "-0.1"}, "vat_rate"),
             ({"base_currency": "riyal"}, "base_currency"), ({"name": ""}, "name"), ({"name": None}, "name")]
    for body, field in cases:
        response = api.put("/company", body)
        assert response.status_code == 422 and list(response.get_json()["error"]["fields"]) == [field], body
    assert api.get("/company").get_json() == {
        "name": "My company", "vat_number": None, "base_currency": "SAR", "vat_rate": "0.1500",
    }
