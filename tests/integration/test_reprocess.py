"""Re-processing held store orders from the API and the CLI (O5, O6, O11; issue 9 case 6)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.integration import connections
from core.models import ReturnInvoice, SalesInvoice, StoreOrder, StoreRefund
from tests.integration.conftest import order_payload
from tests.integration.reads import count_in


def _held(dummy_shop, product_ref: str, number: str) -> dict:
    """A completed order held because its second line's product (``product_ref``) has no SKU yet."""
    order = order_payload([("MUG-01", "1", "25.00"), (None, "1", "5.00")], number=number)
    order["lines"][1]["product_external_id"] = product_ref
    dummy_shop.deliver("order", order)
    return order


def _give_sku(dummy_shop, product_ref: str, sku: str) -> None:
    dummy_shop.deliver("product", {"external_id": product_ref, "sku": sku, "name": f"Item {sku}", "price": "5.00",
                                   "quantity": "5"})


def _order_id(app, number: str) -> int:
    with app.app_context():
        value = db.session.execute(select(StoreOrder.id).where(StoreOrder.number == number)).scalar_one()
        db.session.remove()
    return value


def test_the_api_reprocesses_a_held_order_and_answers_the_booking_result(app, api, dummy_shop):
    """O6, O3, O11: POST /store-orders/<id>/reprocess books the fixed order and its waiting refund, once."""
    order = _held(dummy_shop, "p-1", "#H-1")
    dummy_shop.deliver("refund", {"external_id": "r-1", "order_external_id": order["external_id"],
                                  "whole_order": True})
    _give_sku(dummy_shop, "p-1", "WRAP-1")
    order_id = _order_id(app, "#H-1")

    first = api.post(f"/store-orders/{order_id}/reprocess", role="accountant")
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["outcome"] == "booked" and body["number"] == "#H-1" and body["invoice_number"]
    again = api.post(f"/store-orders/{order_id}/reprocess", role="accountant").get_json()
    assert again["outcome"] == "already_booked" and again["invoice_id"] == body["invoice_id"]
    assert count_in(app, SalesInvoice) == 1 and count_in(app, ReturnInvoice) == 1
    with app.app_context():
        assert db.session.execute(select(StoreRefund.state)).scalar_one() == "booked"


def test_the_api_answers_404_for_an_unknown_order_and_409_for_an_inactive_store(app, api, dummy_shop):
    """Bad input gets a clear answer: no such store order → 404; store not active → 409, nothing booked."""
    _held(dummy_shop, "p-1", "#H-1")
    _give_sku(dummy_shop, "p-1", "WRAP-1")
    order_id = _order_id(app, "#H-1")
    missing = api.post("/store-orders/999999/reprocess", role="accountant")
    assert missing.status_code == 404 and "999999" in missing.get_json()["error"]["message"]
    with app.app_context():
        connections.deactivate(dummy_shop.store_id)
        db.session.remove()
    refused = api.post(f"/store-orders/{order_id}/reprocess", role="accountant")
    assert refused.status_code == 409
    assert count_in(app, SalesInvoice) == 0


def test_the_cli_reprocesses_one_order_or_every_held_order_of_a_store(app, runner, dummy_shop):
    """O6: `flask stores reprocess <id>` and `flask stores reprocess --held <store_id>` book fixed orders once."""
    _held(dummy_shop, "p-1", "#H-1")
    _held(dummy_shop, "p-2", "#H-2")
    _give_sku(dummy_shop, "p-1", "WRAP-1")
    _give_sku(dummy_shop, "p-2", "WRAP-2")
    one = runner.invoke(args=["stores", "reprocess", str(_order_id(app, "#H-1"))])
    assert one.exit_code == 0 and "#H-1: booked → INV-" in one.output
    held = runner.invoke(args=["stores", "reprocess", "--held", str(dummy_shop.store_id)])
    assert held.exit_code == 0 and "#H-2: booked → INV-" in held.output and "#H-1" not in held.output
    assert count_in(app, SalesInvoice) == 2
    again = runner.invoke(args=["stores", "reprocess", str(_order_id(app, "#H-1"))])
    assert again.exit_code == 0 and "#H-1: already_booked" in again.output
    none_left = runner.invoke(args=["stores", "reprocess", "--all-held", str(dummy_shop.store_id)])
    assert none_left.exit_code == 0 and "No order of this store needs attention" in none_left.output
    unknown = runner.invoke(args=["stores", "reprocess", "999999"])
    assert unknown.exit_code == 1 and "No store order with id 999999" in unknown.output
    assert "Traceback" not in unknown.output
    assert count_in(app, SalesInvoice) == 2
