"""Choosing the store's inventory location once connected (C2): the store page and the API, with the dummy store."""
from __future__ import annotations

import re

from core.extensions import db
from core.integration.connections import credentials, get_store
from core.platform.data import LocationData
from core.testing.dummy import DummyStore
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import body

LOCATIONS = [LocationData("loc-1", "Riyadh warehouse", is_default=True), LocationData("loc-2", "Jeddah branch")]


def _with_locations() -> DummyStore:
    remote = DummyStore.named("shop-1")
    remote.locations = list(LOCATIONS)
    return remote


def _location_id(app, store_id: int) -> str | None:
    with app.app_context():
        value = credentials(get_store(store_id)).get("location_id")
        db.session.remove()
    return value


def _selected(page: str) -> str:
    form = page[page.index('id="location-form"'):page.index("</form>", page.index('id="location-form"'))]
    return re.search(r'<option selected value="([^"]*)"', form).group(1)


def test_the_store_page_links_the_chosen_location_to_the_warehouse(app, dummy_shop, sign_in):
    """C2: the connected store's locations are offered, the default selected; the one saved is kept in the
    credentials (location_id) and selected from then on."""
    _with_locations()
    admin = sign_in("admin")
    page = admin.text(f"/stores/{dummy_shop.store_id}")
    assert 'id="location"' in page and "Riyadh warehouse (default)" in page and "Jeddah branch" in page
    assert _selected(page) == "loc-1"

    response = admin.post(f"/stores/{dummy_shop.store_id}/location", {"location_id": "loc-2"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#location")
    assert _location_id(app, dummy_shop.store_id) == "loc-2"
    page = admin.text(f"/stores/{dummy_shop.store_id}")
    assert "The store location is saved" in page and _selected(page) == "loc-2"


def test_a_location_the_store_does_not_have_is_refused_and_nothing_changes(app, dummy_shop, sign_in):
    """C2: only one of the store's own locations can be linked; viewers cannot change it."""
    _with_locations()
    admin = sign_in("admin")
    response = admin.post(f"/stores/{dummy_shop.store_id}/location", {"location_id": "loc-9"},
                          follow_redirects=True)
    assert "Choose one of the store's locations." in body(response)
    assert _location_id(app, dummy_shop.store_id) is None
    assert sign_in("viewer").post(f"/stores/{dummy_shop.store_id}/location",
                                  {"location_id": "loc-2"}).status_code == 403


def test_a_store_without_locations_shows_no_choice_and_an_unreachable_one_says_so(app, dummy_shop, sign_in):
    """A platform without locations has no location section; a store that cannot be reached is named, the
    page still works."""
    admin = sign_in("admin")
    assert 'id="location"' not in admin.text(f"/stores/{dummy_shop.store_id}")
    _with_locations().failures.append("down")
    page = admin.text(f"/stores/{dummy_shop.store_id}")
    assert 'id="locations-error"' in page and "could not be read now: down" in page
    assert 'id="settings-form"' in page


def test_the_api_lists_the_locations_and_the_credentials_api_links_one(app, api, dummy_shop):
    """C2: GET /stores/<id>/locations lists them with the linked one; PUT credentials location_id links another."""
    path = f"/stores/{dummy_shop.store_id}/locations"
    assert api.get(path, role="admin").status_code == 404  # no locations in this store yet
    _with_locations()
    answer = api.get(path, role="admin")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {
        "locations": [{"external_id": "loc-1", "name": "Riyadh warehouse", "is_default": True},
                      {"external_id": "loc-2", "name": "Jeddah branch", "is_default": False}],
        "location_id": "loc-1",
    }
    assert api.get(path, role="viewer").status_code == 403
    assert api.put(f"/stores/{dummy_shop.store_id}/credentials", {"location_id": "loc-2"}).status_code == 200
    assert api.get(path, role="admin").get_json()["location_id"] == "loc-2"
