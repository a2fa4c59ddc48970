"""Store events in any order (O11): refunds that wait for their order, stale order versions, forward-only states."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from core.integration.order_states import allowed
from core.models import ReturnInvoice, SalesInvoice, StoreOrder, StoreRefund, SyncLogEntry
from core.platform.schemas import OrderSchema
from core.services.reports import trial_balance
from core.testing.dummy import DummyStore
from tests.integration.conftest import order_payload
from tests.integration.reads import count, on_hand


def _order() -> StoreOrder:
    return db.session.execute(select(StoreOrder)).scalar_one()


def _refund() -> StoreRefund:
    return db.session.execute(select(StoreRefund)).scalar_one()


def _balanced() -> bool:
    tb = trial_balance()
    return tb.total_debit == tb.total_credit


def _held_order(dummy_shop) -> dict:
    """A completed order held because line 2 has no SKU (its store product p-77 gets one later)."""
    order = order_payload([("MUG-01", "2", "25.00"), (None, "1", "5.00")])
    order["lines"][1]["product_external_id"] = "p-77"
    dummy_shop.deliver("order", order)
    return order


def _fix_sku(dummy_shop) -> None:
    dummy_shop.deliver("product", {"external_id": "p-77", "sku": "WRAP-1", "name": "Gift wrap", "price": "5.00",
                                   "quantity": "3"})


def _whole_refund(order: dict) -> dict:
    return {"external_id": f"r-{order['external_id']}", "order_external_id": order["external_id"],
            "whole_order": True, "include_shipping": True}


def test_a_refund_for_a_held_order_waits_and_is_booked_once_after_the_order_is_fixed(app, dummy_shop):
    """O11, R1, R2 (issue 9 case 1): the refund waits, visibly, while its order is held; when the
    order is booked (here by a new delivery with the SKU) the refund is booked right after, once."""
    order = order_payload([("MUG-01", "2", "25.00"), (None, "1", "5.00")])
    dummy_shop.deliver("order", order)
    refund = _whole_refund(order)
    dummy_shop.deliver("refund", refund, delivery="r-1")
    dummy_shop.deliver("refund", refund, delivery="r-2")
    with app.app_context():
        waiting = _refund()
        assert waiting.state == "waiting" and waiting.reason.startswith("order_not_booked:")
        assert _order().state == "needs_attention"
        assert count(ReturnInvoice) == 0
    order["lines"][1]["sku"] = "MUG-01"
    dummy_shop.deliver("order", order)
    dummy_shop.deliver("order", order, delivery="again")
    dummy_shop.deliver("refund", refund, delivery="r-3")
    with app.app_context():
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        returned = db.session.execute(select(ReturnInvoice)).scalar_one()
        assert returned.total == db.session.execute(select(SalesInvoice)).scalar_one().total
        assert _refund().state == "booked" and _refund().return_invoice_id == returned.id
        assert _order().state == "returned"
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("10")
        assert _balanced()


def test_a_refund_that_arrives_before_its_order_is_booked_with_it(app, dummy_shop):
    """O11: a refund of an order the ERP has not seen yet waits; the order's booking books it."""
    order = order_payload([("MUG-01", "1", "25.00")])
    dummy_shop.deliver("refund", _whole_refund(order))
    with app.app_context():
        assert _refund().state == "waiting"
    dummy_shop.deliver("order", order)
    with app.app_context():
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        assert _refund().state == "booked"
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("10")
        assert _balanced()


def test_a_waiting_refund_is_booked_when_its_order_is_reprocessed(app, dummy_shop):
    """O6, O11, R2: the order is fixed in the store and re-processed by hand; its refund follows, once."""
    from core.integration.manual import reprocess_order

    order = _held_order(dummy_shop)
    dummy_shop.deliver("refund", _whole_refund(order))
    _fix_sku(dummy_shop)
    with app.app_context():
        record = _order()
        assert record.state == "needs_attention" and _refund().state == "waiting"
        assert reprocess_order(record.id).outcome == "booked"
        assert reprocess_order(record.id).outcome == "already_booked"
        assert count(ReturnInvoice) == 1 and _refund().state == "booked"
        assert _order().state == "returned"
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("10")
        assert _balanced()


def test_a_refund_for_an_order_cancelled_before_booking_is_skipped_with_the_reason(app, dummy_shop):
    """O10, O11: the refund waited for a pending order; the order's cancellation ends both."""
    order = order_payload([("MUG-01", "1", "25.00")], status="pending")
    dummy_shop.deliver("order", order)
    dummy_shop.deliver("refund", _whole_refund(order))
    with app.app_context():
        assert _refund().state == "waiting"
    dummy_shop.deliver("order", {**order, "status": "cancelled", "cancelled": True})
    with app.app_context():
        assert _order().state == "cancelled"
        skipped = _refund()
        assert skipped.state == "skipped" and skipped.reason.startswith("order_cancelled:")
        assert count(SalesInvoice) == 0 and count(ReturnInvoice) == 0
    dummy_shop.deliver("refund", {**_whole_refund(order), "external_id": "late"})
    with app.app_context():
        late = db.session.execute(select(StoreRefund).where(StoreRefund.external_id == "late")).scalar_one()
        assert late.state == "skipped" and late.reason.startswith("order_cancelled:")


def test_a_late_created_event_does_not_demote_a_held_order(app, dummy_shop):
    """O11 (issue 9 case 2), no versions known: a stale non-completed status never demotes a completed
    one; the held order stays held with its data, and re-processing it books it."""
    from core.integration.manual import reprocess_order

    order = _held_order(dummy_shop)
    dummy_shop.deliver("order", {**order, "status": "pending"}, delivery="late-created")
    with app.app_context():
        record = _order()
        assert record.state == "needs_attention" and record.store_status == "completed"
        assert record.data["status"] == "completed"
        stale = db.session.execute(
            select(SyncLogEntry).where(SyncLogEntry.reason.like("stale_event:%"))
        ).scalar_one()
        assert stale.status == "skipped"
    _fix_sku(dummy_shop)
    with app.app_context():
        assert reprocess_order(_order().id).outcome == "booked"
        assert count(SalesInvoice) == 1 and _order().state == "booked"


def test_an_older_version_never_overwrites_a_newer_one(app, dummy_shop):
    """O11: with the store's versions (``modified_at``), an older event changes nothing, whatever its
    status; a newer one is applied."""
    order = order_payload([("MUG-01", "2", "25.00"), (None, "1", "5.00")])
    newer, older = "2026-11-20T10:05:00+00:00", "2026-11-20T10:00:00+00:00"
    dummy_shop.deliver("order", {**order, "modified_at": newer})
    fixed = {**order, "lines": [order["lines"][0], {**order["lines"][1], "sku": "MUG-01"}]}
    dummy_shop.deliver("order", {**fixed, "modified_at": older})
    with app.app_context():
        record = _order()
        assert record.state == "needs_attention"
        assert record.store_modified_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
        assert record.data["lines"][1]["sku"] is None
        assert count(SalesInvoice) == 0
    dummy_shop.deliver("order", {**fixed, "modified_at": "2026-11-20T10:10:00+00:00"})
    with app.app_context():
        assert _order().state == "booked" and count(SalesInvoice) == 1


def test_reprocess_uses_the_kept_version_when_the_store_api_answers_an_older_one(app, dummy_shop):
    """O11: re-processing takes the store API's order only when it is not older than the one kept."""
    from core.integration.manual import reprocess_order

    order = order_payload([("MUG-01", "2", "25.00")], status="completed")
    order["modified_at"] = "2026-11-20T10:05:00+00:00"
    dummy_shop.deliver("order", {**order, "lines": [{**order["lines"][0], "sku": None}]})
    remote = OrderSchema().load({**order, "status": "pending", "modified_at": "2026-11-20T10:00:00+00:00"})
    DummyStore.named("shop-1").orders[remote.external_id] = remote
    with app.app_context():
        record = _order()
        assert record.state == "needs_attention"
        result = reprocess_order(record.id)
        assert result.outcome == "needs_attention"  # the kept (newer) data, not the API's older pending one
        assert _order().store_status == "completed"


def test_a_booked_order_shows_it_is_partly_then_wholly_returned(app, dummy_shop):
    """O11, R1: booked → partly_returned → returned; a re-delivered completion does not move it back."""
    order = order_payload([("MUG-01", "3", "25.00")])
    dummy_shop.deliver("order", order)
    line = order["lines"][0]["external_id"]
    dummy_shop.deliver("refund", {"external_id": "p-1", "order_external_id": order["external_id"],
                                  "lines": [{"line_external_id": line, "quantity": "1"}]})
    with app.app_context():
        assert _order().state == "partly_returned"
    dummy_shop.deliver("refund", {"external_id": "p-2", "order_external_id": order["external_id"],
                                  "lines": [{"line_external_id": line, "quantity": "2"}]})
    dummy_shop.deliver("order", order, delivery="again")
    with app.app_context():
        assert _order().state == "returned"
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("10")


def test_order_states_only_move_forward():
    """O11: received → held → booked → partly/wholly returned; cancelled is an end, reached only unbooked."""
    assert allowed("pending", "needs_attention") and allowed("needs_attention", "booked")
    assert allowed("skipped", "booked") and allowed("booked", "partly_returned")
    assert allowed("partly_returned", "returned") and allowed("needs_attention", "cancelled")
    assert not allowed("booked", "needs_attention") and not allowed("booked", "skipped")
    assert not allowed("returned", "booked") and not allowed("returned", "partly_returned")
    assert not allowed("cancelled", "booked") and not allowed("booked", "cancelled")


def test_a_held_order_refunded_in_the_store_stays_bookable_and_books_with_its_refund(app, dummy_shop):
    """O1, O11: an order that reached a completed status stays completed for booking when a newer
    version says it was refunded; once fixed, re-processing books it and then its refund."""
    from core.integration.manual import reprocess_order

    order = _held_order(dummy_shop)
    dummy_shop.deliver("order", {**order, "modified_at": "2026-11-20T10:00:00+00:00"}, delivery="v1")
    dummy_shop.deliver("order", {**order, "status": "refunded", "modified_at": "2026-11-20T11:00:00+00:00"})
    dummy_shop.deliver("refund", _whole_refund(order))
    _fix_sku(dummy_shop)
    with app.app_context():
        record = _order()
        assert record.state == "needs_attention" and record.store_status == "completed"
        assert _refund().state == "waiting"
        assert reprocess_order(record.id).outcome == "booked"
        assert count(ReturnInvoice) == 1 and _order().state == "returned"
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("10")
        assert _balanced()


def test_a_waiting_refund_is_booked_when_reconciliation_books_its_order(app, dummy_shop):
    """O11, O12, R2: the order's webhooks were lost, its refund's was not; reconciliation books both, once."""
    from core.integration.reconcile import reconcile_store

    order = order_payload([("MUG-01", "2", "25.00")], external_id="lost-1")
    dummy_shop.deliver("refund", _whole_refund(order))
    dummy_shop.remote.orders["lost-1"] = OrderSchema().load(order)
    with app.app_context():
        assert _refund().state == "waiting"
        reconcile_store(dummy_shop.store_id)
        reconcile_store(dummy_shop.store_id)
        assert count(SalesInvoice) == 1 and count(ReturnInvoice) == 1
        assert _refund().state == "booked" and _order().state == "returned"
        assert on_hand(dummy_shop.ids.mug, dummy_shop.ids.warehouse) == Decimal("10")


def test_a_waiting_refund_is_booked_when_its_order_is_sent_by_hand(app, dummy_shop):
    """O2, O11, R2: an order the ERP never received is sent by number; its waiting refund follows, once."""
    from core.integration.manual import send_orders

    order = order_payload([("MUG-01", "1", "25.00")], external_id="hand-1", number="H-1")
    dummy_shop.deliver("refund", _whole_refund(order))
    dummy_shop.remote.orders["hand-1"] = OrderSchema().load(order)
    with app.app_context():
        assert [r.outcome for r in send_orders(dummy_shop.store_id, ["H-1"])] == ["booked"]
        assert [r.outcome for r in send_orders(dummy_shop.store_id, ["H-1"])] == ["already_booked"]
        assert count(ReturnInvoice) == 1 and _refund().state == "booked"
        assert _balanced()


def test_a_refund_of_an_order_ignored_by_o1_is_skipped_until_the_order_is_sent_by_hand(app, dummy_shop):
    """O1, O2, O11: an order placed before the store was connected is ignored, and so is its refund (with
    the reason); sending the order by hand books it and then the refund, once."""
    from core.integration.manual import send_orders

    order = {**order_payload([("MUG-01", "1", "25.00")], external_id="old-1", number="OLD-1"),
             "created_at": "2020-01-01T10:00:00+00:00"}
    dummy_shop.deliver("order", order)
    dummy_shop.deliver("refund", _whole_refund(order))
    with app.app_context():
        assert _order().state == "skipped"
        assert _refund().state == "skipped" and _refund().reason.startswith("order_ignored:")
        dummy_shop.remote.orders["old-1"] = OrderSchema().load(order)
        assert [r.outcome for r in send_orders(dummy_shop.store_id, ["OLD-1"])] == ["booked"]
        assert count(ReturnInvoice) == 1 and _refund().state == "booked" and _order().state == "returned"


def test_a_refund_caught_mid_flight_when_its_order_is_booked_does_not_wait_for_nothing(app, dummy_shop):
    """O11, R2: a refund whose job stored it but had not decided yet (``pending``) when its order was
    booked is booked by the order's job; its own job, finishing late, finds it booked and changes nothing."""
    from core.integration import refunds
    from core.integration.connections import get_store
    from core.integration.results import to_json
    from core.platform.schemas import RefundSchema

    order = order_payload([("MUG-01", "1", "25.00")])
    refund = RefundSchema().load(_whole_refund(order))
    with app.app_context():
        db.session.add(StoreRefund(store_id=dummy_shop.store_id, external_id=refund.external_id,
                                   order_external_id=refund.order_external_id, state="pending",
                                   data=to_json(refund)))
        db.session.commit()
        db.session.remove()
    dummy_shop.deliver("order", order)
    with app.app_context():
        assert _refund().state == "booked" and count(ReturnInvoice) == 1
        late = refunds._finish(get_store(dummy_shop.store_id), refund, _refund(), "waiting",
                               "order_not_booked: as the late job read it")
        assert late.outcome == "already_booked" and _refund().state == "booked" and count(ReturnInvoice) == 1
