"""Every list is paginated: ?page=&per_page=, with totals and limits."""
import pytest

from core.extensions import db
from core.models import Warehouse
from core.services.master_data import create_record


@pytest.fixture
def seven_warehouses(app):
    with app.app_context():
        for number in range(1, 8):
            create_record(Warehouse, {"code": f"W{number}", "name": f"Warehouse {number}"})
        db.session.remove()


def test_pages_split_the_list_and_report_totals(api, seven_warehouses):
    body = api.get("/warehouses?page=3&per_page=3").get_json()
    assert [w["code"] for w in body["items"]] == ["W7"]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (3, 3, 7, 3)
    first = api.get("/warehouses?per_page=3").get_json()
    assert [w["code"] for w in first["items"]] == ["W1", "W2", "W3"]


def test_default_page_size_comes_from_config(app, api, seven_warehouses, monkeypatch):
    monkeypatch.setitem(app.config, "API_PAGE_SIZE", 5)
    body = api.get("/warehouses").get_json()
    assert (len(body["items"]), body["per_page"], body["pages"]) == (5, 5, 2)


def test_a_page_past_the_end_is_empty(api, seven_warehouses):
    body = api.get("/warehouses?page=9&per_page=5").get_json()
    assert body["items"] == [] and body["total"] == 7


def test_bad_page_parameters_get_400_with_the_field(api):
    for query, field in (("page=0", "page"), ("page=abc", "page"), ("per_page=0", "per_page"),
                         ("per_page=501", "per_page")):
        response = api.get(f"/warehouses?{query}")
        assert response.status_code == 400, query
        error = response.get_json()["error"]
        assert error["code"] == "bad_request" and list(error["fields"]) == [field], query


def test_reports_lists_are_paginated_too(api, shop):
    body = api.get("/stock-levels?per_page=1").get_json()
    assert (len(body["items"]), body["total"], body["pages"]) == (1, 2, 2)
