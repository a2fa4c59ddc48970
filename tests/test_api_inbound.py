"""Inbound requisitions and opening balances over the API: stock in at a cost."""
import pytest

from core.models import InboundRequisition


@pytest.fixture
def mug(api) -> int:
    return api.post("/products", {"code": "MUG-01", "name": "Mug"}).get_json()["id"]


@pytest.fixture
def warehouse(api) -> int:
    return api.post("/warehouses", {"code": "MAIN", "name": "Main"}).get_json()["id"]


def test_opening_balance_brings_stock_in_at_cost(api, mug, warehouse):
    response = api.post("/inbound-requisitions", {
        "kind": "opening_balance", "warehouse_id": warehouse, "date": "2026-01-01",
        "lines": [{"product_id": mug, "quantity": "4", "unit_cost": "7.5"}],
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["kind"], body["total"], body["number"][:2]) == ("opening_balance", "30.00", body["number"][:2])
    assert body["lines"][0]["unit_cost"] == "7.5000"
    assert api.get(response.headers["Location"].removeprefix("/api/v1")).get_json() == body
    [level] = api.get(f"/stock-levels?warehouse_id={warehouse}").get_json()["items"]
    assert (level["quantity"], level["value"], level["average_cost"]) == ("4.000", "30.00", "7.5000")


def test_moving_average_after_a_second_requisition(api, mug, warehouse):
    for qty, cost in (("4", "7.50"), ("6", "10.00")):
        api.post("/inbound-requisitions", {"warehouse_id": warehouse,
                                           "lines": [{"product_id": mug, "quantity": qty, "unit_cost": cost}]})
    [level] = api.get(f"/stock-levels?product_id={mug}").get_json()["items"]
    assert (level["quantity"], level["average_cost"]) == ("10.000", "9.0000")
    listed = api.get("/inbound-requisitions?kind=inbound_requisition").get_json()
    assert listed["total"] == 2


def test_invalid_requisition_gets_422_naming_the_field(api, mug, warehouse, count_rows):
    cases = {
        "unknown warehouse": ({"warehouse_id": 999999999}, "warehouse_id"),
        "unknown kind": ({"kind": "gift"}, "kind"),
        "no lines": ({"lines": []}, "lines"),
        "unknown product": ({"lines": [{"product_id": 999999999, "quantity": "1", "unit_cost": "1"}]}, "lines.0.product_id"),
        "negative cost": ({"lines": [{"product_id": mug, "quantity": "1", "unit_cost": "-1"}]}, "lines.0.unit_cost"),
        "5 places": ({"lines": [{"product_id": mug, "quantity": "1", "unit_cost": "1.00001"}]}, "lines.0.unit_cost"),
    }
    for case, (change, field) in cases.items():
        body = {"warehouse_id": warehouse, "lines": [{"product_id": mug, "quantity": "1", "unit_cost": "1"}], **change}
        response = api.post("/inbound-requisitions", body)
        assert response.status_code == 422, case
        assert field in response.get_json()["error"]["fields"], case
    assert count_rows(InboundRequisition) == 0
