"""Store settings sent to the API are checked as documented before the service sees them."""
import pytest

from tests.integration.test_api_integration import erp, new_store  # noqa: F401  (fixture)


@pytest.mark.parametrize("body, field", [
    ({"update_inventory": 1}, "update_inventory"),
    ({"product_sync": "yes"}, "product_sync"),
    ({"warehouse_id": 2**63}, "warehouse_id"),
    ({"default_client_id": 0}, "default_client_id"),
    ({"completed_statuses": ["ok"] * 21}, "completed_statuses"),
    ({"completed_statuses": [""]}, "completed_statuses.0"),
])
def test_settings_of_the_wrong_type_or_range_get_422_naming_the_field(api, erp, body, field):  # noqa: F811
    store_id, _ = new_store(api, erp)
    response = api.put(f"/stores/{store_id}/settings", body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.get_json()["error"]["fields"]) == [field]


def test_given_settings_change_and_the_others_stay(api, erp):  # noqa: F811
    store_id, _ = new_store(api, erp)
    saved = api.put(f"/stores/{store_id}/settings", {"update_inventory": True, "completed_statuses": ["done"]})
    assert saved.status_code == 200
    settings = saved.get_json()["settings"]
    assert (settings["update_inventory"], settings["completed_statuses"]) == (True, ["done"])
    assert settings["warehouse_id"] == erp.warehouse
