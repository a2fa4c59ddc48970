"""Web pages refuse NUL characters in URLs and forms with 400 instead of crashing the database."""


def test_a_page_search_with_a_nul_character_gets_400(web):
    viewer = web("viewer")
    for path in ("/catalog/products?q=%00", "/catalog/products?q=mug%00"):
        response = viewer.get(path)
        assert response.status_code == 400, path
        assert not response.is_json


def test_a_form_with_a_nul_character_gets_400(web, count_rows):
    from core.models import Warehouse

    before = count_rows(Warehouse)
    response = web("admin").post("/catalog/warehouses/new", {"code": "W\u0000", "name": "Main"})
    assert response.status_code == 400
    assert count_rows(Warehouse) == before
