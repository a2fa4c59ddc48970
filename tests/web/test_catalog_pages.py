"""Catalog pages: products (search, create, stock card), categories, warehouses, branches, stock, inbound."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Category, InboundRequisition, Product
from core.services.reports import stock_levels
from tests.web.conftest import field_errors

ROLES = ("viewer", "accountant", "admin")


def count(app, model) -> int:
    with app.app_context():
        value = db.session.execute(select(func.count()).select_from(model)).scalar_one()
        db.session.remove()
    return value


def rows(**filled: tuple[str, str, str]) -> dict[str, str]:
    """All five line rows as a browser posts them; ``r2=("TEA-1", "1", "4")`` fills row 2."""
    data = {}
    for index in range(5):
        product, quantity, unit_cost = filled.get(f"r{index}", ("", "", ""))
        data |= {f"lines-{index}-product": product, f"lines-{index}-quantity": quantity,
                 f"lines-{index}-unit_cost": unit_cost}
    return data


def on_hand(app, product_id: int, warehouse_id: int) -> Decimal:
    with app.app_context():
        levels = stock_levels(warehouse_id=warehouse_id, product_id=product_id)
        db.session.remove()
    return levels[0].quantity if levels else Decimal("0.000")


@pytest.mark.parametrize("role", ROLES)
def test_every_catalog_page_renders_for_every_role(web, sale, role):
    client = web(role)
    for path in (
        "/catalog/products", f"/catalog/products/{sale.mug}", "/catalog/categories", "/catalog/warehouses",
        "/catalog/branches", "/catalog/stock", "/catalog/inbound",
    ):
        assert client.get(path).status_code == 200, path
    buttons = {
        "/catalog/products": "new-product", "/catalog/categories": "new-category",
        "/catalog/warehouses": "new-warehouse", "/catalog/branches": "new-branch",
        "/catalog/inbound": "new-requisition",
    }
    for path, button in buttons.items():
        assert (f'id="{button}"' in client.text(path)) == (role != "viewer"), button


def test_one_search_box_finds_products_by_name_sku_or_barcode(web, sale):
    client = web("viewer")
    for query in ("6281000000017", "mug-0", "Product MUG"):
        page = client.text(f"/catalog/products?q={query}")
        assert "MUG-01" in page and "TEA-1" not in page, query
    page = client.text("/catalog/products?q=nothing-like-it")
    assert "No products match." in page


def test_product_page_shows_stock_per_warehouse_and_the_stock_card(web, sale):
    page = web("viewer").text(f"/catalog/products/{sale.mug}")
    assert "Warehouse MAIN" in page and 'id="total-quantity">9<' in page  # 10 in, 2 sold, 1 back
    # The card: in 10 → 10, out 2 → 8, back 1 → 9.
    running = [cell for cell in ("<td class=\"num\">10</td>", "<td class=\"num\">8</td>", "<td class=\"num\">9</td>")]
    positions = [page.index(cell, page.index('id="list"')) for cell in running]
    assert positions == sorted(positions)
    assert sale.invoice_number in page and sale.credit_note_number in page


def test_accountant_creates_a_product(app, web, sale):
    client = web("accountant")
    response = client.post("/catalog/products/new", {
        "code": "CUP-9", "name": "Paper cup", "name_ar": "كوب ورقي", "barcode": "",
        "category_id": "", "purchase_price": "1.20", "sale_price": "2.50", "stock_tracked": "y",
    }, form_page="/catalog/products/new")
    assert response.status_code == 302
    page = client.text(response.headers["Location"])
    assert "Product CUP-9 is saved." in page and "2.50" in page
    # An empty barcode is stored as none, so a second product without barcode is fine too.
    response = client.post("/catalog/products/new", {"code": "CUP-10", "name": "Lid", "barcode": ""},
                           form_page="/catalog/products/new")
    assert response.status_code == 302


def test_a_duplicate_sku_is_shown_next_to_the_code_field(app, web, sale):
    before = count(app, Product)
    response = web("accountant").post("/catalog/products/new", {
        "code": "MUG-01", "name": "Another mug", "barcode": "999", "sale_price": "10",
    }, form_page="/catalog/products/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "code") == ["already exists"]
    assert field_errors(page, "barcode") == []  # the barcode is free; only the SKU clashes
    assert 'value="Another mug"' in page
    assert count(app, Product) == before


def test_product_form_validates_its_fields(web, sale):
    response = web("accountant").post(
        "/catalog/products/new", {"code": "", "name": "", "sale_price": "abc"}, form_page="/catalog/products/new"
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "code") and field_errors(page, "name") and field_errors(page, "sale_price")


def test_categories_form_a_tree(app, web):
    client = web("accountant")
    assert client.post("/catalog/categories/new", {"name": "Kitchen"},
                       form_page="/catalog/categories/new").status_code == 302
    with app.app_context():
        kitchen = db.session.execute(select(Category.id).where(Category.name == "Kitchen")).scalar_one()
        db.session.remove()
    response = client.post("/catalog/categories/new", {"name": "Mugs", "name_ar": "أكواب", "parent_id": str(kitchen)},
                           form_page="/catalog/categories/new")
    assert response.status_code == 302
    page = client.text("/catalog/categories")
    tree = page[page.index('id="list"'):]
    assert tree.index("Kitchen") < tree.index("Mugs")
    assert tree.count("<ul>") == 2  # Mugs sits in Kitchen's list
    assert field_errors(
        client.post("/catalog/categories/new", {"name": ""}, form_page="/catalog/categories/new").get_data(as_text=True),
        "name",
    )


@pytest.mark.parametrize("kind", ["warehouses", "branches"])
def test_warehouses_and_branches_are_created_once_per_code(web, kind):
    client = web("accountant")
    form = f"/catalog/{kind}/new"
    response = client.post(form, {"code": "JED", "name": "Jeddah", "name_ar": "جدة"}, form_page=form)
    assert response.status_code == 302
    page = client.text(f"/catalog/{kind}")
    assert "JED" in page and "Jeddah" in page and "is saved" in page
    response = client.post(form, {"code": "JED", "name": "Jeddah again"}, form_page=form)
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "code") == ["already exists"]


def test_stock_on_hand_per_warehouse(app, web, sale):
    client = web("viewer")
    page = client.text("/catalog/stock")
    assert "MUG-01" in page and "TEA-1" in page and 'id="total-value">' in page
    page = client.text(f"/catalog/stock?warehouse_id={sale.warehouse}")
    assert "MUG-01" in page
    with app.app_context():
        from tests.builders import Builders

        empty = Builders().warehouse("EMPTY").id
        db.session.remove()
    page = client.text(f"/catalog/stock?warehouse_id={empty}")
    assert "MUG-01" not in page and "No stock on hand." in page


def test_accountant_posts_an_inbound_requisition(app, web, sale):
    client = web("accountant")
    form = "/catalog/inbound/new"
    response = client.post(form, {
        "kind": "inbound_requisition", "date": "2026-02-01", "warehouse_id": str(sale.warehouse), "branch_id": "",
        "reference": "PO-17",
        **rows(r0=("MUG-01", "5", "8"), r2=("6281000000017", "1", "8"), r3=("TEA-1", "2.5", "4")),  # r2 by barcode
    }, form_page=form)
    assert response.status_code == 302
    page = client.text(response.headers["Location"])
    assert "is posted: 3 lines" in page and 'id="total">58.00' in page and "PO-17" in page
    assert on_hand(app, sale.mug, sale.warehouse) == Decimal("15.000")
    assert on_hand(app, sale.tea, sale.warehouse) == Decimal("6.500")
    assert "PO-17" in client.text("/catalog/inbound")


def test_inbound_errors_are_shown_on_their_rows(app, web, sale):
    client = web("accountant")
    form = "/catalog/inbound/new"
    before = count(app, InboundRequisition)
    response = client.post(form, {
        "kind": "inbound_requisition", "date": "2026-02-01", "warehouse_id": str(sale.warehouse),
        **rows(r0=("NOPE", "1", "1"), r1=("MUG-01", "", "1")),
    }, form_page=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "lines-0-product") == ["No product has the SKU or barcode NOPE."]
    assert field_errors(page, "lines-1-quantity") == ["Enter a quantity."]
    # A rule the service checks (quantity > 0) comes back next to the row it concerns.
    response = client.post(form, {
        "kind": "inbound_requisition", "date": "2026-02-01", "warehouse_id": str(sale.warehouse),
        **rows(r2=("TEA-1", "0", "1")),
    }, form_page=form)
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "lines-2-quantity") == ["must be greater than 0"]
    response = client.post(form, {"kind": "inbound_requisition", "date": "2026-02-01",
                                  "warehouse_id": str(sale.warehouse), **rows()}, form_page=form)
    assert field_errors(response.get_data(as_text=True), "lines-0-product") == ["Enter at least one line."]
    assert count(app, InboundRequisition) == before


def test_rows_left_out_of_the_post_are_not_filled_twice(app, web, sale):
    """A client posting only some rows (no browser does) still books each row once."""
    response = web("accountant").post("/catalog/inbound/new", {
        "kind": "inbound_requisition", "date": "2026-02-01", "warehouse_id": str(sale.warehouse),
        "lines-0-product": "MUG-01", "lines-0-quantity": "1", "lines-0-unit_cost": "8",
        "lines-3-product": "TEA-1", "lines-3-quantity": "1", "lines-3-unit_cost": "4",
    }, form_page="/catalog/inbound/new")
    assert response.status_code == 302
    assert on_hand(app, sale.tea, sale.warehouse) == Decimal("5.000")  # 5 - 1 sold + 1


def test_viewers_get_403_on_every_create_form(app, web, sale):
    client = web("viewer")
    for path in ("/catalog/products/new", "/catalog/categories/new", "/catalog/warehouses/new",
                 "/catalog/branches/new", "/catalog/inbound/new"):
        assert client.get(path).status_code == 403, path
        assert client.post(path, {"code": "X", "name": "X"}).status_code == 403, path
    assert count(app, Category) == 0


def test_catalog_in_arabic(web, sale):
    client = web("viewer")
    client.use_language("ar")
    page = client.text(f"/catalog/products/{sale.mug}")
    assert 'dir="rtl"' in page and "كوب" in page
    assert 'dir="rtl"' in client.text("/catalog/products?q=6281000000017")
