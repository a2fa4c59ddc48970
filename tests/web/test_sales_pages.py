"""Sales pages: invoices with filters and the VAT breakdown, the printable invoice, returns, clients."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Client
from tests.integration.conftest import order_payload
from tests.web.conftest import field_errors

ROLES = ("viewer", "accountant", "admin")


def clients_named(app, name: str) -> int:
    with app.app_context():
        found = db.session.execute(select(func.count()).select_from(Client).where(Client.name == name)).scalar_one()
        db.session.remove()
    return found


@pytest.mark.parametrize("role", ROLES)
def test_every_sales_page_renders_for_every_role(web, sale, role):
    client = web(role)
    for path in (
        "/sales/invoices", f"/sales/invoices/{sale.invoice}", f"/sales/invoices/{sale.invoice}/print",
        "/sales/returns", f"/sales/returns/{sale.credit_note}", "/sales/clients",
    ):
        assert client.get(path).status_code == 200, path
    assert ('id="new-client"' in client.text("/sales/clients")) == (role != "viewer")


def test_invoice_list_with_filters(web, sale):
    client = web("viewer")
    page = client.text("/sales/invoices")
    assert sale.invoice_number in page and '<td class="num">80.50</td>' in page
    assert sale.invoice_number in client.text("/sales/invoices?client=noura&status=paid")
    assert sale.invoice_number in client.text(f"/sales/invoices?client_id={sale.client}")
    assert sale.invoice_number in client.text("/sales/invoices?number=ORDER-778")
    assert sale.invoice_number in client.text("/sales/invoices?date_from=2026-01-01&date_to=2026-01-31")
    for query in ("client=Someone+else", "status=approved", "date_from=2026-02-01", "number=INV-9"):
        page = client.text(f"/sales/invoices?{query}")
        assert sale.invoice_number not in page and "No invoices match." in page, query
    # A malformed date is reported next to its field, never as an error page.
    assert field_errors(client.text("/sales/invoices?date_from=soon"), "date_from")


def test_invoice_page_shows_lines_vat_breakdown_payments_and_links(web, sale):
    page = web("viewer").text(f"/sales/invoices/{sale.invoice}")
    assert 'id="status">Paid' in page
    assert "MUG-01" in page and "TEA-1" in page
    for cell, amount in (("discount", "-5.00"), ("net", "55.00"), ("shipping", "15.00"),
                         ("vat", "10.50"), ("total", "80.50")):
        assert f'id="{cell}">{amount}</td>' in page, cell
    assert "PV-000001" in page  # the payment voucher
    assert f'href="/accounting/journal/{sale.invoice_entry}"' in page
    assert f'href="/sales/returns/{sale.credit_note}"' in page
    assert 'id="store-order"' not in page  # not booked from a store


def test_printable_invoice_has_the_total_in_both_languages(web, sale):
    client = web("viewer")
    page = client.text(f"/sales/invoices/{sale.invoice}/print")
    assert 'id="total">80.50' in page and sale.invoice_number in page and "Tax invoice" in page
    assert 'class="topbar"' not in page  # a clean sheet, no navigation
    client.use_language("ar")
    page = client.text(f"/sales/invoices/{sale.invoice}/print")
    assert 'dir="rtl"' in page and 'lang="ar"' in page and 'id="total">80.50' in page
    assert 'dir="rtl"' in client.text(f"/sales/invoices/{sale.invoice}")


def test_return_invoices(web, sale):
    client = web("viewer")
    page = client.text("/sales/returns")
    assert sale.credit_note_number in page and sale.invoice_number in page
    page = client.text(f"/sales/returns/{sale.credit_note}")
    assert f'id="total">{sale.credit_note_total}' in page
    assert f'href="/sales/invoices/{sale.invoice}"' in page and "MUG-01" in page
    assert "PV-000002" in page  # the cash refund


def test_client_search(web, sale):
    client = web("viewer")
    assert "Noura Alharbi" in client.text("/sales/clients?q=noura")
    page = client.text("/sales/clients?q=zzz")
    assert "Noura Alharbi" not in page and "No clients match." in page


def test_accountant_creates_a_client(app, web):
    client = web("accountant")
    response = client.post("/sales/clients/new", {
        "name": "Fahad Store", "email": "fahad@example.com", "phone": "+966500000001", "vat_number": "",
    }, form_page="/sales/clients/new")
    assert response.status_code == 302
    page = client.text(response.headers["Location"])
    assert "Client Fahad Store is saved." in page and "fahad@example.com" in page
    assert clients_named(app, "Fahad Store") == 1


def test_client_form_shows_errors_next_to_the_fields(app, web):
    client = web("accountant")
    response = client.post(
        "/sales/clients/new", {"name": "", "email": "not-an-email"}, form_page="/sales/clients/new"
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "name") and field_errors(page, "email")
    assert 'value="not-an-email"' in page  # what was typed is kept


def test_viewers_cannot_create_clients(app, web):
    client = web("viewer")
    assert client.get("/sales/clients/new").status_code == 403
    assert client.post("/sales/clients/new", {"name": "Sneaky"}).status_code == 403
    assert clients_named(app, "Sneaky") == 0


def test_forms_need_the_csrf_token(app, web):
    response = web("accountant").client.post("/sales/clients/new", data={"name": "No token"})
    assert response.status_code == 400
    assert clients_named(app, "No token") == 0


def test_an_invoice_booked_from_a_store_links_to_its_store_order(app, web, dummy_shop):
    from core.models import SalesInvoice, StoreOrder

    response = dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")], number="W-42"))
    assert response.status_code in (200, 202)
    with app.app_context():
        order_id, invoice_id = db.session.execute(
            select(StoreOrder.id, StoreOrder.invoice_id).where(StoreOrder.number == "W-42")
        ).one()
        assert db.session.get(SalesInvoice, invoice_id) is not None
        db.session.remove()
    page = web("viewer").text(f"/sales/invoices/{invoice_id}")
    if "sync.order" in app.view_functions:
        assert f'id="store-order" href="/sync/orders/{order_id}"' in page
    else:  # the integration pages are not installed: no link, no error
        assert 'id="store-order"' not in page
