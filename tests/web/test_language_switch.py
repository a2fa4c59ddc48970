"""Switching the language returns to a page that answers GET, on this site, whatever page it was pressed on."""
from __future__ import annotations

import re

import pytest

from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import body
from tests.web.test_store_wizard import _create, master  # noqa: F401  (master is a fixture)

NEXT = re.compile(r'<input type="hidden" name="next" value="([^"]*)">')


@pytest.mark.usefixtures("master")
def test_switching_language_right_after_a_failed_form_post_shows_the_form_page(app, sign_in):
    admin = sign_in("admin")
    store_id, _key = _create(admin)
    failed = admin.post(f"/stores/{store_id}/credentials", {"cred-store_ref": "shop-1"})  # the secret is missing
    assert failed.status_code == 200 and "Missing data for required field." in body(failed)
    shown_next = NEXT.search(body(failed)).group(1)  # what the page's language button sends

    response = admin.post("/language/ar", {"next": shown_next}, follow_redirects=True)

    assert response.status_code == 200
    assert response.request.path == f"/stores/{store_id}"
    assert 'dir="rtl"' in body(response)


@pytest.mark.parametrize("target, lands_on", [
    ("/sales/invoices?page=2", "/sales/invoices?page=2"),  # a GET page keeps its query
    ("/stores/999999/activate", "/stores/999999"),  # POST-only: the page above it
    ("/language/en", "/"),  # POST-only with no page above it: the dashboard
    ("/no/such/page", "/"),
    ("//evil.example/steal", "/"),  # never another site
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_the_language_switch_redirects_only_to_pages_that_answer_get_here(app, sign_in, target, lands_on):
    response = sign_in("viewer").post("/language/en", {"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on
