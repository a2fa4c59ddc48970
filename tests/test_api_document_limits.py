"""Documents posted through the API have a bounded number of lines (API_MAX_DOCUMENT_LINES)."""
import time

from core.models import InboundRequisition, JournalEntry, ReturnInvoice, SalesInvoice
from tests.test_api_errors import assert_error


def invoice_body(shop, lines: int) -> dict:
    return {
        "client_id": shop.client, "branch_id": shop.branch, "warehouse_id": shop.warehouse,
        "lines": [{"product_id": shop.mug, "quantity": "0.001", "unit_price": "1.00"}] * lines,
    }


def test_an_invoice_with_more_lines_than_the_limit_gets_422(api, shop, count_rows):
    error = assert_error(api.post("/invoices", invoice_body(shop, 501)), 422, "invalid")
    assert error["fields"] == {"lines": ["at most 500 lines"]}
    assert count_rows(SalesInvoice) == 0


def test_a_hundred_thousand_lines_are_refused_quickly(api, shop, count_rows):
    started = time.perf_counter()
    response = api.post("/invoices", invoice_body(shop, 100_000))
    elapsed = time.perf_counter() - started
    assert response.status_code in (413, 422)
    assert_error(response, response.status_code, {413: "payload_too_large", 422: "invalid"}[response.status_code])
    assert count_rows(SalesInvoice) == 0
    assert elapsed < 10, elapsed  # was 23 s of validation and posting before the cap


def test_a_body_over_the_size_limit_gets_413(app, api, monkeypatch):
    monkeypatch.setitem(app.config, "API_MAX_BYTES", 100)
    error = assert_error(api.post("/clients", {"name": "x" * 200}), 413, "payload_too_large")
    assert error["fields"] == {}
    assert api.post("/clients", {"name": "Walk-in"}).status_code == 201


def test_the_limit_is_configurable_and_the_limit_itself_is_allowed(app, api, shop, monkeypatch):
    monkeypatch.setitem(app.config, "API_MAX_DOCUMENT_LINES", 3)
    assert api.post("/invoices", invoice_body(shop, 3)).status_code == 201
    error = assert_error(api.post("/invoices", invoice_body(shop, 4)), 422, "invalid")
    assert error["fields"] == {"lines": ["at most 3 lines"]}


def test_every_document_kind_is_capped(app, api, shop, count_rows, monkeypatch):
    monkeypatch.setitem(app.config, "API_MAX_DOCUMENT_LINES", 2)
    posted = api.post("/invoices", invoice_body(shop, 1)).get_json()
    line = {"invoice_line_id": posted["lines"][0]["id"], "quantity": "0.001"}
    cases = {
        "/return-invoices": ({"invoice_id": posted["id"], "lines": [line] * 3}, ReturnInvoice),
        "/inbound-requisitions": (
            {"warehouse_id": shop.warehouse, "lines": [{"product_id": shop.mug, "quantity": "1", "unit_cost": "1"}] * 3},
            InboundRequisition,
        ),
        "/journal-entries": ({"lines": [{"account_id": 1, "debit": "1"}] * 3}, JournalEntry),
    }
    for path, (body, model) in cases.items():
        before = count_rows(model)
        error = assert_error(api.post(path, body), 422, "invalid")
        assert error["fields"] == {"lines": ["at most 2 lines"]}, path
        assert count_rows(model) == before


def test_the_openapi_document_states_the_limit(api):
    spec = api.get("/openapi.json").get_json()
    invoice = spec["components"]["schemas"]["InvoiceCreate"]
    assert invoice["properties"]["lines"]["maxItems"] == 500
    assert invoice["properties"]["lines"]["minItems"] == 1


def test_a_chunked_body_over_the_size_limit_gets_413_not_a_cut_body_parsed(app, api, monkeypatch):
    """Without Content-Length, Werkzeug would cut the body at the limit; a valid JSON object
    followed by padding past the limit must be refused as too large, not accepted cut short."""
    import io

    monkeypatch.setitem(app.config, "API_MAX_BYTES", 100)
    body = b'{"name": "Walk-in"}' + b" " * 500
    response = api.post("/clients", None, environ_overrides={
        "wsgi.input": io.BytesIO(body), "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True,
    })
    assert_error(response, 413, "payload_too_large")
    assert api.get("/clients").get_json()["total"] == 0
