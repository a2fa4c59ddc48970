"""Signed "poison" payloads (issue 7, items 10 and 11): stored, never a crash, and shown in needs attention."""
from __future__ import annotations

import json

from sqlalchemy import select

from core.extensions import db
from core.integration.inbox import is_json
from core.models import (
    JournalEntry,
    Product,
    SalesInvoice,
    StockMovement,
    StoreOrder,
    WebhookDelivery,
)
from core.services.reports import trial_balance
from core.testing.dummy import SIGNATURE_HEADER, sign
from tests.integration.conftest import SECRET, order_payload
from tests.integration.reads import count


def deliver_raw(shop, body: bytes):
    """POST ``body`` exactly as given, correctly signed."""
    return shop.client.post(f"/webhooks/{shop.key}", data=body,
                            headers={SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"})


def the_delivery() -> WebhookDelivery:
    return db.session.execute(select(WebhookDelivery)).scalar_one()


def assert_nothing_booked() -> None:
    assert count(SalesInvoice) == 0
    tb = trial_balance()
    assert tb.total_debit == tb.total_credit


def test_a_nul_character_in_a_name_goes_to_needs_attention_with_its_reason(app, dummy_shop):
    order = order_payload([("MUG-01", "1", "25.00")])
    order["lines"][0]["name"] = "Mug\u0000with a NUL"
    response = dummy_shop.deliver("order", order)
    assert response.status_code == 200
    with app.app_context():
        delivery = the_delivery()
        assert delivery.status == "needs_attention"
        assert delivery.last_error.startswith("nul_character: ")
        assert "order.lines[0].name" in delivery.last_error and "\x00" not in delivery.last_error
        assert count(StoreOrder) == 0
        assert_nothing_booked()


def test_a_nul_character_in_an_ignored_event_goes_to_needs_attention(app, dummy_shop):
    assert dummy_shop.deliver("shipment\u0000", {"id": "7"}).status_code == 200
    with app.app_context():
        assert the_delivery().last_error.startswith("nul_character: ")


def test_a_thousand_levels_of_nesting_are_stored_and_need_attention(app, dummy_shop):
    body = b'{"event": "order", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = deliver_raw(dummy_shop, body)
    assert response.status_code == 200
    with app.app_context():
        delivery = the_delivery()
        assert delivery.body == body
        assert (delivery.status, delivery.last_error) == (
            "needs_attention", "payload_too_deep: the JSON is nested too deeply to read")
        assert_nothing_booked()


def test_a_five_thousand_digit_number_is_stored_and_needs_attention(app, dummy_shop):
    order = order_payload([("MUG-01", "1", "25.00")])
    body = json.dumps({"event": "order", "data": order}).replace('"quantity": "1"', '"quantity": ' + "9" * 5000)
    response = deliver_raw(dummy_shop, body.encode())
    assert response.status_code == 200
    with app.app_context():
        delivery = the_delivery()
        assert delivery.status == "needs_attention" and delivery.last_error.startswith("payload_")
        assert_nothing_booked()


def test_amounts_beyond_the_columns_are_refused_at_the_boundary(app, dummy_shop):
    order = order_payload([("MUG-01", "1", "25.00")])
    order["lines"][0]["unit_price"] = "1e30"
    order["total"] = "1.15e30"
    assert dummy_shop.deliver("order", order).status_code == 200
    with app.app_context():
        delivery = the_delivery()
        assert delivery.status == "needs_attention"
        assert delivery.last_error.startswith("payload_invalid: ") and "unit_price" in delivery.last_error
        assert_nothing_booked()


def test_a_new_product_whose_stock_value_overflows_the_books_needs_attention_and_writes_nothing(app, dummy_shop):
    """Each bound passes (a billion units at a trillion each) but their value would not fit a money column."""
    product = {"external_id": "p-9", "sku": "HUGE-1", "name": "Huge", "price": "1000000000000",
               "cost": "1000000000000", "quantity": "1000000000"}
    assert dummy_shop.deliver("product", product).status_code == 200
    with app.app_context():
        delivery = the_delivery()
        assert delivery.status == "needs_attention"
        assert delivery.last_error.startswith("payload_invalid: ") and "quantity" in delivery.last_error
        assert db.session.execute(select(Product).where(Product.code == "HUGE-1")).scalar_one_or_none() is None
        assert count(StockMovement) == 1 and count(JournalEntry) == 1  # the fixture's opening balance only
        assert_nothing_booked()


def test_an_over_long_id_is_refused_at_the_boundary(app, dummy_shop):
    order = order_payload([("MUG-01", "1", "25.00")])
    order["customer"] = {"external_id": "c" * 500, "name": "Long id"}
    assert dummy_shop.deliver("order", order).status_code == 200
    with app.app_context():
        delivery = the_delivery()
        assert delivery.status == "needs_attention" and "customer" in delivery.last_error
        assert_nothing_booked()


def test_json_validity_ignores_number_size_and_depth_but_not_syntax():
    assert is_json(b"1" * 5000) and is_json(b"[" * 100_000 + b"]" * 100_000)
    assert not is_json(b"{not json") and not is_json(b"\xff\xfe\x00") and not is_json(b"")
