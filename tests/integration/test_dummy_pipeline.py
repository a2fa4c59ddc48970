"""The integration pipeline end to end through the reference (dummy) plugin: webhook → inbox → booking."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from core.models import (
    Account,
    Client,
    PaymentVoucher,
    Product,
    ReturnInvoice,
    SalesInvoice,
    StoreOrder,
    SyncLogEntry,
    WebhookDelivery,
)
from core.services.reports import account_balance, trial_balance
from tests.integration.conftest import order_payload
from tests.integration.reads import count, on_hand


def test_a_completed_order_becomes_one_paid_invoice_matching_the_store_total(app, dummy_shop):
    """O1, O5, O9: booked on completion, total to the halala, Paid with a voucher to the clearing account."""
    order = order_payload([("MUG-01", "2", "25.00")], shipping="10.00")
    response = dummy_shop.deliver("order", order)
    assert response.status_code == 200
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == Decimal(order["total"]) == Decimal("69.00")
        assert invoice.status == "paid"
        voucher = db.session.execute(select(PaymentVoucher)).scalar_one()
        clearing = db.session.execute(select(Account).where(Account.key == "dummy_clearing")).scalar_one()
        assert voucher.account_id == clearing.id and voucher.amount == Decimal("69.00")
        assert account_balance(clearing.id) == Decimal("69.00")
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("8")
        record = db.session.execute(select(StoreOrder)).scalar_one()
        assert (record.state, record.invoice_id) == ("booked", invoice.id)
        tb = trial_balance()
        assert tb.total_debit == tb.total_credit


def test_twenty_deliveries_of_one_order_book_it_once(app, dummy_shop):
    """O3: the same order delivered again and again (new delivery ids) books once."""
    order = order_payload([("MUG-01", "1", "25.00")])
    statuses = {dummy_shop.deliver("order", order, delivery=f"d-{i}").status_code for i in range(20)}
    assert statuses == {200}
    with app.app_context():
        assert count(SalesInvoice) == 1
        assert count(WebhookDelivery) == 20
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("9")


def test_a_repeated_delivery_is_acknowledged_without_new_work(app, dummy_shop):
    """Inbox: a duplicate delivery (same key) answers 2xx and stores nothing new."""
    order = order_payload([("MUG-01", "1", "25.00")])
    first = dummy_shop.deliver("order", order, delivery="same")
    second = dummy_shop.deliver("order", order, delivery="same")
    assert (first.status_code, second.status_code) == (200, 200)
    assert "duplicate" in second.get_json()["message"]
    with app.app_context():
        assert count(WebhookDelivery) == 1 and count(SalesInvoice) == 1


def test_a_wrong_signature_is_refused_with_401_and_nothing_stored(app, dummy_shop):
    response = dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), secret="wrong")
    assert response.status_code == 401
    with app.app_context():
        assert count(WebhookDelivery) == 0 and count(SalesInvoice) == 0


def test_a_malformed_body_gets_400_and_an_unknown_store_404(app, dummy_shop, client):
    assert dummy_shop.deliver("order", {}, body=b"{not json").status_code == 400
    assert client.post("/webhooks/mzs_unknown", data=b"{}").status_code == 404
    with app.app_context():
        assert count(WebhookDelivery) == 0


def test_an_authentic_payload_missing_fields_goes_to_needs_attention(app, dummy_shop):
    """Authentic but unbookable: stored, acknowledged, and shown with the reason."""
    response = dummy_shop.deliver("order", {"external_id": "77"})
    assert response.status_code == 200
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "needs_attention"
        assert "number" in delivery.last_error
        assert count(SalesInvoice) == 0


def test_an_order_is_booked_only_once_it_reaches_a_completed_status(app, dummy_shop):
    """O1: a new order is recorded but not booked; its completion books it."""
    order = order_payload([("MUG-01", "1", "25.00")], status="pending")
    dummy_shop.deliver("order", order)
    with app.app_context():
        assert count(SalesInvoice) == 0
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "skipped"
    dummy_shop.deliver("order", {**order, "status": "completed"})
    with app.app_context():
        assert count(SalesInvoice) == 1
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "booked"


def test_a_line_without_sku_holds_the_order_until_it_is_fixed(app, dummy_shop):
    """O6: nothing is booked while line 2 has no SKU; once fixed, the order books."""
    order = order_payload([("MUG-01", "1", "25.00"), (None, "1", "5.00")])
    dummy_shop.deliver("order", order)
    with app.app_context():
        record = db.session.execute(select(StoreOrder)).scalar_one()
        assert record.state == "needs_attention"
        assert "line 2" in record.reason and "SKU" in record.reason
        assert count(SalesInvoice) == 0
    order["lines"][1]["sku"] = "MUG-01"
    dummy_shop.deliver("order", order)
    with app.app_context():
        assert count(SalesInvoice) == 1


def test_a_small_difference_goes_to_rounding_and_a_large_one_is_explained(app, dummy_shop):
    """O5: within tolerance → rounding account; beyond → needs attention, per component."""
    small = order_payload([("MUG-01", "1", "25.00")], total="28.77")  # ERP computes 28.75
    large = order_payload([("MUG-01", "1", "25.00")], total="40.00")
    dummy_shop.deliver("order", small)
    dummy_shop.deliver("order", large)
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == Decimal("28.77") and invoice.rounding == Decimal("0.02")
        rounding = db.session.execute(select(Account).where(Account.key == "rounding")).scalar_one()
        assert account_balance(rounding.id) == Decimal("-0.02")
        held = db.session.execute(select(StoreOrder).where(StoreOrder.external_id == large["external_id"])).scalar_one()
        assert held.state == "needs_attention"
        for component in ("lines", "discounts", "shipping", "tax"):
            assert component in held.reason


def test_an_unknown_sku_is_created_with_the_store_quantity_then_invoiced(app, dummy_shop):
    """O7, O8: the product is created, its stock brought in as an opening balance, then sold."""
    from core.platform.data import ProductData

    dummy_shop.remote.products.append(
        ProductData("p-9", "NEW-9", "New thing", Decimal("40"), cost=Decimal("12"), quantity=Decimal("4"))
    )
    dummy_shop.deliver("order", order_payload([("NEW-9", "1", "40.00")]))
    with app.app_context():
        product = db.session.execute(select(Product).where(Product.code == "NEW-9")).scalar_one()
        assert product.name == "New thing" and product.purchase_price == Decimal("12.00")
        # The store had 4 left after this sale: 5 came in, 1 went out.
        assert on_hand(product.id, dummy_shop.ids.warehouse) == Decimal("4")
        assert count(SalesInvoice) == 1


def test_an_order_with_an_unknown_sku_before_a_known_one_creates_it_and_books_both_lines(app, dummy_shop):
    """O7 with more lines: the first line's product is created (the step-by-step path), the next
    line's known product is still found, and the invoice has both lines."""
    from core.platform.data import ProductData

    dummy_shop.remote.products.append(
        ProductData("p-8", "NEW-8", "New thing", Decimal("40"), cost=Decimal("12"), quantity=Decimal("4"))
    )
    dummy_shop.deliver("order", order_payload([("NEW-8", "1", "40.00"), ("MUG-01", "2", "25.00")]))
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        codes = sorted(db.session.get(Product, line.product_id).code for line in invoice.lines)
        assert codes == ["MUG-01", "NEW-8"]
        record = db.session.execute(select(StoreOrder)).scalar_one()
        assert (record.state, record.invoice_id) == ("booked", invoice.id)
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert (delivery.status, delivery.attempts) == ("processed", 0)  # booked at the first attempt


def test_guests_go_to_the_default_client_and_customers_are_matched_by_email(app, dummy_shop):
    """O4."""
    with app.app_context():
        db.session.add(Client(name="Sara", email="sara@example.com"))
        db.session.commit()
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]))
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")],
                                              customer={"external_id": "c1", "name": "S.", "email": "sara@example.com"}))
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")],
                                              customer={"external_id": "c2", "name": "Omar", "phone": "+966500"}))
    with app.app_context():
        clients = [i.client_id for i in db.session.execute(select(SalesInvoice).order_by(SalesInvoice.id)).scalars()]
        sara = db.session.execute(select(Client.id).where(Client.email == "sara@example.com")).scalar_one()
        omar = db.session.execute(select(Client.id).where(Client.name == "Omar")).scalar_one()
        assert clients == [dummy_shop.ids.walk_in, sara, omar]


def test_a_partial_refund_books_one_return_invoice_once(app, dummy_shop):
    """R1, R2: refunded lines come back to stock, once, whatever the deliveries."""
    order = order_payload([("MUG-01", "3", "25.00")])
    dummy_shop.deliver("order", order)
    refund = {"external_id": "r-1", "order_external_id": order["external_id"],
              "lines": [{"line_external_id": order["lines"][0]["external_id"], "quantity": "2", "restock": True}]}
    for i in range(3):
        dummy_shop.deliver("refund", refund, delivery=f"r-{i}")
    with app.app_context():
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert returned.total == Decimal("57.50")
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("9")
        tb = trial_balance()
        assert tb.total_debit == tb.total_credit


def test_a_booked_order_that_is_cancelled_is_returned_in_full(app, dummy_shop):
    """O10: cancelled after booking → a whole-order return; cancelled before → ignored."""
    booked = order_payload([("MUG-01", "2", "25.00")])
    dummy_shop.deliver("order", booked)
    dummy_shop.deliver("order", {**booked, "status": "cancelled", "cancelled": True})
    never = order_payload([("MUG-01", "1", "25.00")], status="cancelled")
    dummy_shop.deliver("order", {**never, "cancelled": True})
    with app.app_context():
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("10")


def test_a_sale_pushes_the_new_quantity_of_the_linked_warehouse_only(app, dummy_shop):
    """I1: after a sale the store gets the absolute on-hand quantity; other warehouses never push."""
    dummy_shop.deliver("order", order_payload([("MUG-01", "3", "25.00")]))
    assert dummy_shop.remote.quantities == {"MUG-01": Decimal("7")}
    pushes_before = len(dummy_shop.remote.pushes)
    with app.app_context():
        from tests.builders import Builders

        product = db.session.get(Product, dummy_shop.ids.mug)
        Builders().stock(product, db.session.get(__import__("core.models", fromlist=["Warehouse"]).Warehouse,
                                                 dummy_shop.ids.other_warehouse), "5", "7")
    assert len(dummy_shop.remote.pushes) == pushes_before
    with app.app_context():
        log = db.session.execute(select(SyncLogEntry).where(SyncLogEntry.kind == "stock")).scalars().all()
        assert [entry.status for entry in log] == ["done"]


def test_a_rate_limited_push_waits_and_sends_the_latest_quantity(app, dummy_shop):
    """I2: 429 answers are waited out; the store ends with the latest on-hand quantity."""
    dummy_shop.remote.failures.extend(["429", "429"])
    dummy_shop.deliver("order", order_payload([("MUG-01", "2", "25.00")]))
    assert dummy_shop.remote.quantities == {"MUG-01": Decimal("8")}
    with app.app_context():
        from core.models import PendingStockPush

        assert count(PendingStockPush) == 0


def test_a_failing_store_keeps_the_push_pending_for_a_retry(app, dummy_shop):
    """I2: when the store is down the push stays queued and the sync log offers a retry."""
    dummy_shop.remote.failures.extend(["down"] * 4)
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]))
    with app.app_context():
        from core.models import PendingStockPush

        assert count(PendingStockPush) == 1
        failed = db.session.execute(
            select(SyncLogEntry).where(SyncLogEntry.kind == "stock", SyncLogEntry.status == "failed")
        ).scalars().all()
        assert failed and failed[-1].retry == {"job": "core.integration.tasks.push_stock", "args": [dummy_shop.store_id]}
    from core.integration.tasks import push_stock

    with app.app_context():
        assert push_stock(dummy_shop.store_id) == 1
    assert dummy_shop.remote.quantities == {"MUG-01": Decimal("9")}


def test_a_product_created_in_the_erp_is_pushed_to_stores_with_product_sync_on(app, dummy_shop):
    """P2: the new product reaches the store once, and is linked so it is not pushed again."""
    from core.integration import connections
    from core.models import ExternalLink
    from core.services.master_data import create_record

    with app.app_context():
        connections.update_settings(dummy_shop.store_id, {"product_sync": True})
        create_record(Product, {"code": "NEW-1", "name": "New product", "sale_price": Decimal("9.50")})
        link = db.session.execute(select(ExternalLink).where(ExternalLink.kind == "product")).scalar_one()
        assert link.store_id == dummy_shop.store_id
    assert [(p.sku, p.price) for p in dummy_shop.remote.pushed_products] == [("NEW-1", Decimal("9.50"))]


def test_a_store_quantity_change_is_not_copied_into_the_erp(app, dummy_shop):
    """I3, P1: a product update from the store changes master data, never the ERP's quantity."""
    update = {"external_id": "p-1", "sku": "MUG-01", "name": "Mug, blue", "price": "27.00", "quantity": "99"}
    dummy_shop.deliver("product", update)
    with app.app_context():
        mug = db.session.get(Product, dummy_shop.ids.mug)
        assert (mug.name, mug.sale_price) == ("Mug, blue", Decimal("27.00"))
        assert on_hand(mug.id, dummy_shop.ids.warehouse) == Decimal("10")


def test_two_stores_book_their_own_orders_with_the_same_store_id(app, dummy_shop):
    """C5: several stores at once; the same order id in two stores is two orders."""
    from core.integration import connections
    from core.testing.dummy import DELIVERY_HEADER, SIGNATURE_HEADER, sign

    with app.app_context():
        second, key = connections.create_store("dummy", "Second shop")
        connections.set_credentials(second.id, {"store_ref": "shop-2", "secret": "other-secret"})
        connections.update_settings(second.id, {
            "default_client_id": dummy_shop.ids.walk_in, "warehouse_id": dummy_shop.ids.warehouse,
            "branch_id": dummy_shop.ids.branch,
        })
        connections.activate(second.id, key)
    order = order_payload([("MUG-01", "1", "25.00")], external_id="same-id")
    dummy_shop.deliver("order", order)
    import json as _json

    body = _json.dumps({"event": "order", "data": order}).encode()
    response = dummy_shop.client.post(f"/webhooks/{key}", data=body,
                                      headers={SIGNATURE_HEADER: sign("other-secret", body), DELIVERY_HEADER: "x"})
    assert response.status_code == 200
    with app.app_context():
        assert count(SalesInvoice) == 2 and count(StoreOrder) == 2


def test_a_line_without_sku_is_booked_once_its_store_product_gets_an_sku(app, dummy_shop):
    """O6: the fix happens in the store (the product gets an SKU); its update links the product,
    and re-processing the held order books it, although the order line itself still has no SKU."""
    from core.integration.manual import reprocess_order

    order = order_payload([("MUG-01", "1", "25.00"), (None, "1", "5.00")])
    order["lines"][1]["product_external_id"] = "p-77"
    dummy_shop.deliver("order", order)
    dummy_shop.deliver("product", {"external_id": "p-77", "sku": "WRAP-1", "name": "Gift wrap", "price": "5.00",
                                   "quantity": "3"})
    with app.app_context():
        record = db.session.execute(select(StoreOrder)).scalar_one()
        assert record.state == "needs_attention"
        result = reprocess_order(record.id)
        assert result.outcome == "booked"
        wrap = db.session.execute(select(Product).where(Product.code == "WRAP-1")).scalar_one()
        assert on_hand(wrap.id, dummy_shop.ids.warehouse) == Decimal("2")
        assert reprocess_order(record.id).outcome == "already_booked"
        assert count(SalesInvoice) == 1


def test_a_refund_naming_only_an_amount_books_an_amount_only_credit_note_once(app, dummy_shop):
    """R1, R2: no lines named → a credit note for the amount, VAT split out, no stock back."""
    order = order_payload([("MUG-01", "2", "25.00")])
    dummy_shop.deliver("order", order)
    refund = {"external_id": "amt-1", "order_external_id": order["external_id"], "amount": "23.00"}
    dummy_shop.deliver("refund", refund, delivery="a-1")
    dummy_shop.deliver("refund", refund, delivery="a-2")
    with app.app_context():
        credit = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert (credit.lines_net, credit.vat_total, credit.total) == (Decimal("20.00"), Decimal("3.00"), Decimal("23.00"))
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("8")
