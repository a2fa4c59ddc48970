"""Sales invoices over the API: posting, reading, validation, idempotency and stock limits."""
from decimal import Decimal

from core.models import JournalEntry, PaymentVoucher, SalesInvoice, StockMovement


def sale(shop, **overrides) -> dict:
    """The README's example: 2 mugs at 25.00 including VAT, 15.00 shipping, paid."""
    body = {
        "client_id": shop.client,
        "branch_id": shop.branch,
        "warehouse_id": shop.warehouse,
        "date": "2026-02-01",
        "status": "paid",
        "prices_include_vat": True,
        "shipping": "15.00",
        "lines": [{"product_id": shop.mug, "quantity": "2", "unit_price": "25.00"}],
    }
    body.update(overrides)
    return body


def stock_of(api, product_id: int) -> str:
    items = api.get(f"/stock-levels?product_id={product_id}").get_json()["items"]
    return items[0]["quantity"]


def test_posting_a_paid_invoice_books_everything(api, shop):
    response = api.post("/invoices", sale(shop, reference="ORDER-1"))
    assert response.status_code == 201, response.get_json()
    invoice = response.get_json()
    assert response.headers["Location"] == f"/api/v1/invoices/{invoice['id']}"
    assert (invoice["total"], invoice["vat_total"], invoice["shipping_net"]) == ("65.00", "8.48", "13.04")
    assert invoice["status"] == "paid" and invoice["reference"] == "ORDER-1"
    assert invoice["number"].startswith("INV-") and invoice["journal_entry_id"]
    assert invoice["cost_total"] == "15.00"
    [line] = invoice["lines"]
    assert (line["product_id"], line["quantity"], line["unit_price"]) == (shop.mug, "2.000", "25.00")
    [payment] = invoice["payments"]
    assert (payment["direction"], payment["amount"]) == ("received", "65.00")
    assert stock_of(api, shop.mug) == "8.000"
    entry = api.get(f"/journal-entries/{invoice['journal_entry_id']}").get_json()
    assert entry["source_number"] == invoice["number"]
    assert sum(Decimal(ln["debit"]) for ln in entry["lines"]) == sum(Decimal(ln["credit"]) for ln in entry["lines"])


def test_get_and_list_show_the_posted_invoice(api, shop):
    posted = api.post("/invoices", sale(shop, status="approved")).get_json()
    assert posted["payments"] == []
    assert api.get(f"/invoices/{posted['id']}").get_json() == posted
    listed = api.get("/invoices").get_json()
    assert listed["total"] == 1 and listed["items"] == [posted]
    assert api.get(f"/invoices?client_id={shop.client + 1}").get_json()["total"] == 0
    assert api.get("/invoices?date_from=2026-02-02").get_json()["total"] == 0


def test_defaults_approved_exclusive_prices_today(api, shop):
    body = {k: v for k, v in sale(shop).items() if k not in ("status", "prices_include_vat", "date", "shipping")}
    invoice = api.post("/invoices", body).get_json()
    assert (invoice["status"], invoice["prices_include_vat"], invoice["total"]) == ("approved", False, "57.50")


INVALID_INVOICES = {
    "empty lines": ({"lines": []}, "lines"),
    "null lines": ({"lines": None}, "lines"),
    "zero product id": ({"lines": [{"product_id": 0, "quantity": "1", "unit_price": "1"}]}, "lines.0.product_id"),
    "negative quantity": ({"lines": [{"product_id": 1, "quantity": "-1", "unit_price": "1"}]}, "lines.0.quantity"),
    "zero quantity": ({"lines": [{"product_id": 1, "quantity": "0", "unit_price": "1"}]}, "lines.0.quantity"),
    "missing price": ({"lines": [{"product_id": 1, "quantity": "1"}]}, "lines.0.unit_price"),
    "bad status": ({"status": "draft"}, "status"),
    "bad date": ({"date": "01/02/2026"}, "date"),
    "NaN shipping": ({"shipping": "NaN"}, "shipping"),
    "null client": ({"client_id": None}, "client_id"),
    # the service names unknown rows the same way
    "unknown product": ({"lines": [{"product_id": 999999999, "quantity": "1", "unit_price": "1"}]}, "lines.0.product_id"),
    "unknown client": ({"client_id": 999999999}, "client_id"),
    "unknown warehouse": ({"warehouse_id": 999999999}, "warehouse_id"),
    "unknown payment account": ({"payment_account_id": 999999999}, "payment_account_id"),
}


def test_invalid_invoice_gets_422_naming_the_field(api, shop, count_rows):
    missing_lines = sale(shop)
    del missing_lines["lines"]
    cases = {"missing lines": (missing_lines, "lines")}
    cases.update({case: (sale(shop, **change), field) for case, (change, field) in INVALID_INVOICES.items()})
    for case, (body, field) in cases.items():
        response = api.post("/invoices", body)
        assert response.status_code == 422, case
        error = response.get_json()["error"]
        assert error["code"] == "invalid" and error["fields"][field], case
    assert count_rows(SalesInvoice) == 0
    assert stock_of(api, shop.mug) == "10.000"


def test_same_external_key_twice_gets_409_with_the_existing_id(api, shop, count_rows):
    first = api.post("/invoices", sale(shop, external_key="store:order:77")).get_json()
    again = api.post("/invoices", sale(shop, external_key="store:order:77"))
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "duplicate" and error["existing_id"] == first["id"]
    assert "external_key" in error["fields"]
    assert count_rows(SalesInvoice) == 1
    assert stock_of(api, shop.mug) == "8.000"


def test_not_enough_stock_gets_409_and_writes_nothing(api, shop, count_rows):
    before = (count_rows(JournalEntry), count_rows(StockMovement), count_rows(PaymentVoucher))
    lines = [
        {"product_id": shop.tea, "quantity": "1", "unit_price": "10"},
        {"product_id": shop.mug, "quantity": "11", "unit_price": "25"},
    ]
    response = api.post("/invoices", sale(shop, lines=lines))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_stock"
    assert "MUG-01" in error["message"] and "10.000 on hand" in error["message"]
    assert count_rows(SalesInvoice) == 0
    assert (count_rows(JournalEntry), count_rows(StockMovement), count_rows(PaymentVoucher)) == before
    assert (stock_of(api, shop.mug), stock_of(api, shop.tea)) == ("10.000", "5.000")


def test_retrying_an_invoice_that_took_the_last_stock_gets_409_duplicate(api, shop):
    lines = [{"product_id": shop.tea, "quantity": "5", "unit_price": "10"}]
    first = api.post("/invoices", sale(shop, lines=lines, external_key="store:9")).get_json()
    again = api.post("/invoices", sale(shop, lines=lines, external_key="store:9"))
    assert again.get_json()["error"]["code"] == "duplicate"
    assert again.get_json()["error"]["existing_id"] == first["id"]
