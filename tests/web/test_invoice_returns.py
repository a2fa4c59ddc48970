"""An invoice with returns shows what came back and its net amount, on its page and in the invoice list."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from core.extensions import db
from tests.builders import Builders


@pytest.fixture
def returned_in_full(app) -> tuple[int, str]:
    """A paid invoice of 2 mugs at 25 with 15 shipping (total 74.75), returned in full with its shipping."""
    with app.app_context():
        build = Builders()
        warehouse, branch, client = build.warehouse("MAIN"), build.branch("RUH"), build.client("Sara")
        mug = build.product("MUG-01", "25")
        build.stock(mug, warehouse, "10", "7.5")
        invoice = build.invoice(client, branch, warehouse, [(mug, "2", "25")], status="paid",
                                shipping=Decimal("15"), date=date(2026, 1, 15))
        build.return_(invoice, None, include_shipping=True)
        ids = invoice.id, invoice.number
        db.session.remove()
    return ids


def _row(page: str, number: str) -> str:
    found = re.search(rf"<tr>\s*<td><a [^>]*>{number}</a>.*?</tr>", page, re.S)
    assert found, f"no row for {number}"
    return found.group(0)


def test_an_invoice_returned_in_full_shows_returned_and_a_net_of_zero(web, returned_in_full):
    invoice_id, number = returned_in_full
    viewer = web("viewer")
    page = viewer.text(f"/sales/invoices/{invoice_id}")
    assert 'id="status">Returned<' in page and 'id="status">Paid<' not in page
    assert 'id="returned">-74.75</td>' in page and 'id="net-after-returns">0.00</td>' in page

    row = _row(viewer.text("/sales/invoices"), number)
    assert ">Returned</span>" in row and ">Paid</span>" not in row
    assert '<td class="num">74.75</td>' in row and '<td class="num" data-net="0.00">0.00</td>' in row


def test_a_partly_returned_invoice_stays_paid_and_shows_its_net(web, sale):
    viewer = web("viewer")
    page = viewer.text(f"/sales/invoices/{sale.invoice}")
    assert 'id="status">Paid<' in page and 'id="return-state">Partly returned<' in page
    assert 'id="returned">-26.36</td>' in page and 'id="net-after-returns">54.14</td>' in page

    row = _row(viewer.text("/sales/invoices"), sale.invoice_number)
    assert ">Paid</span>" in row and ">Partly returned</span>" in row
    assert '<td class="num" data-net="54.14">54.14</td>' in row


def test_an_invoice_without_returns_shows_no_return_state(web, returned_in_full, app):
    with app.app_context():
        build = Builders()
        from core.models import Branch, Client, Product, Warehouse

        invoice = build.invoice(db.session.query(Client).one(), db.session.query(Branch).one(),
                                db.session.query(Warehouse).one(), [(db.session.query(Product).one(), "1", "25")])
        invoice_id, number, total = invoice.id, invoice.number, invoice.total
        db.session.remove()
    viewer = web("viewer")
    page = viewer.text(f"/sales/invoices/{invoice_id}")
    assert 'id="status">Approved<' in page
    assert 'id="return-state"' not in page and 'id="net-after-returns"' not in page
    assert f'<td class="num" data-net="{total}">{total}</td>' in _row(viewer.text("/sales/invoices"), number)
