"""Return invoices over the API: partial returns, limits, and books that still balance."""
from decimal import Decimal

import pytest

from core.models import ReturnInvoice


@pytest.fixture
def invoice(api, shop) -> dict:
    body = {
        "client_id": shop.client, "branch_id": shop.branch, "warehouse_id": shop.warehouse,
        "date": "2026-02-01", "status": "paid", "prices_include_vat": True, "shipping": "15.00",
        "order_discount": "5.00",
        "lines": [
            {"product_id": shop.mug, "quantity": "3", "unit_price": "25.00", "discount": "1.00"},
            {"product_id": shop.tea, "quantity": "2", "unit_price": "10.00"},
        ],
    }
    response = api.post("/invoices", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def quantity_on_hand(api, product_id: int) -> str:
    return api.get(f"/stock-levels?product_id={product_id}").get_json()["items"][0]["quantity"]


def test_partial_return_brings_stock_back_and_refunds(api, shop, invoice):
    mug_line = invoice["lines"][0]
    response = api.post("/return-invoices", {
        "invoice_id": invoice["id"], "date": "2026-02-03", "reason": "broken box",
        "lines": [{"invoice_line_id": mug_line["id"], "quantity": "1"}],
    })
    assert response.status_code == 201, response.get_json()
    returned = response.get_json()
    assert response.headers["Location"] == f"/api/v1/return-invoices/{returned['id']}"
    assert returned["status"] == "paid" and returned["invoice_id"] == invoice["id"]
    assert quantity_on_hand(api, shop.mug) == "8.000"
    [line] = returned["lines"]
    assert line["quantity"] == "1.000" and line["restock"] is True
    assert Decimal(returned["total"]) > 0
    assert api.get(f"/return-invoices/{returned['id']}").get_json() == returned
    assert api.get(f"/return-invoices?invoice_id={invoice['id']}").get_json()["items"] == [returned]


def test_not_restocked_lines_leave_stock_alone(api, shop, invoice):
    tea_line = invoice["lines"][1]
    body = {"invoice_id": invoice["id"], "lines": [{"invoice_line_id": tea_line["id"], "quantity": "2", "restock": False}]}
    assert api.post("/return-invoices", body).status_code == 201
    assert quantity_on_hand(api, shop.tea) == "3.000"


def test_returning_more_than_sold_gets_422_and_writes_nothing(api, invoice, count_rows):
    line = invoice["lines"][0]
    response = api.post("/return-invoices", {
        "invoice_id": invoice["id"], "lines": [{"invoice_line_id": line["id"], "quantity": "4"}],
    })
    assert response.status_code == 422
    assert "only 3.000 of 3.000 left" in response.get_json()["error"]["fields"]["lines.0.quantity"][0]
    assert count_rows(ReturnInvoice) == 0


def test_invalid_return_gets_422_naming_the_field(api, invoice, count_rows):
    cases = {
        "unknown invoice": ({"invoice_id": 999999999, "include_shipping": True}, "invoice_id"),
        "nothing returned": ({"lines": []}, "lines"),
        "foreign line": ({"lines": [{"invoice_line_id": 999999999, "quantity": "1"}]}, "lines.0.invoice_line_id"),
        "negative quantity": ({"lines": [{"invoice_line_id": 1, "quantity": "-1"}]}, "lines.0.quantity"),
    }
    for case, (body, field) in cases.items():
        response = api.post("/return-invoices", {"invoice_id": invoice["id"], **body})
        assert response.status_code == 422, case
        assert field in response.get_json()["error"]["fields"], case
    assert count_rows(ReturnInvoice) == 0


def test_trial_balance_sums_to_zero_after_api_invoice_and_full_return(api, shop, invoice):
    lines = [{"invoice_line_id": ln["id"], "quantity": ln["quantity"]} for ln in invoice["lines"]]
    response = api.post("/return-invoices", {"invoice_id": invoice["id"], "lines": lines, "include_shipping": True})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["total"] == invoice["total"]
    report = api.get("/reports/trial-balance").get_json()
    assert report["difference"] == "0.00"
    assert report["total_debit"] == report["total_credit"]
    assert sum(Decimal(r["balance"]) for r in report["rows"]) == 0
    balances = {r["code"]: Decimal(r["balance"]) for r in report["rows"]}
    assert balances["1110"] == 0  # receivable settled both ways
    assert balances["1120"] == Decimal("95.00")  # inventory back to 10 x 7.50 + 5 x 4.00
    assert quantity_on_hand(api, shop.mug) == "10.000"


def test_same_return_key_twice_gets_409_with_existing_id(api, invoice, count_rows):
    line = invoice["lines"][0]
    body = {"invoice_id": invoice["id"], "external_key": "refund-1",
            "lines": [{"invoice_line_id": line["id"], "quantity": "1"}]}
    first = api.post("/return-invoices", body).get_json()
    again = api.post("/return-invoices", body)
    assert again.status_code == 409 and again.get_json()["error"]["existing_id"] == first["id"]
    assert count_rows(ReturnInvoice) == 1


def test_retrying_a_full_return_with_its_key_gets_409_not_422(api, invoice):
    body = {"invoice_id": invoice["id"], "include_shipping": True, "external_key": "refund-2"}
    first = api.post("/return-invoices", body).get_json()
    again = api.post("/return-invoices", body)
    assert again.status_code == 409 and again.get_json()["error"]["existing_id"] == first["id"]
