"""The sync log with filters and retries (V1), orders that need attention and re-processing (O5, O6), and the
whole story of one store order (V2)."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.integration.synclog import log_event
from core.models import ProductSyncRun, SalesInvoice, StoreOrder, SyncLogEntry
from core.platform.data import ProductData
from core.platform.schemas import OrderSchema
from core.services.transaction import atomic
from core.testing.dummy import DummyStore
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import body, order_payload, store_order


def _count(app, model) -> int:
    with app.app_context():
        value = db.session.execute(select(func.count()).select_from(model)).scalar_one()
        db.session.remove()
    return value


def _rows(page: str) -> list[str]:
    table = page[page.index('id="list"'):page.index("</table>", page.index('id="list"'))]
    return re.findall(r'<tr id="entry-(\d+)"', table)


def _failed_product_sync(app, dummy_shop) -> int:
    """A "sync all products" run that failed because the store was down: a failed log entry with a retry."""
    remote = DummyStore.named("shop-1")
    remote.products.append(ProductData("p-1", "TEA-9", "Tea", Decimal("10"), quantity=Decimal("2")))
    remote.failures.append("down")
    with app.app_context():
        from core.integration.product_sync import start_product_sync

        run_id = start_product_sync(dummy_shop.store_id).id
        db.session.remove()
    return run_id


# -- the sync log (V1) ------------------------------------------------------------------------------------------


def test_the_sync_log_lists_entries_and_filters_them(app, dummy_shop, sign_in):
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")], external_id="7001"))
    dummy_shop.deliver("order", order_payload([(None, "1", "25.00")], external_id="7002"))
    _failed_product_sync(app, dummy_shop)
    viewer = sign_in("viewer")
    page = viewer.text("/sync/")
    with app.app_context():
        entries = {e.id: e for e in db.session.execute(select(SyncLogEntry)).scalars()}
        db.session.expunge_all()
        db.session.remove()
    assert len(_rows(page)) == len(entries) >= 3
    assert "Dummy shop" in page and "INV-" in page

    failed = _rows(viewer.text("/sync/?status=failed"))
    assert failed and all(entries[int(i)].status == "failed" for i in failed)
    orders = _rows(viewer.text(f"/sync/?kind=order&store={dummy_shop.store_id}"))
    assert sorted(int(i) for i in orders) == sorted(i for i, e in entries.items() if e.kind == "order")
    attention = viewer.text("/sync/?status=needs_attention")
    assert len(_rows(attention)) == 1 and "has no SKU" in attention
    today = date.today()
    assert len(_rows(viewer.text(f"/sync/?date_from={today - timedelta(days=1)}&date_to={today + timedelta(days=1)}"))) \
        == len(entries)
    future = viewer.text(f"/sync/?date_from={today + timedelta(days=2)}")
    assert _rows(future) == [] and "No entry matches these filters." in future
    # the order entries link to the order's story
    record = store_order(app, dummy_shop.store_id, "#7001")
    assert f'href="/sync/orders/{record.id}"' in page


def test_bad_filters_are_explained_next_to_the_fields(dummy_shop, sign_in):
    viewer = sign_in("viewer")
    for query, message in (
        ("date_from=yesterday", "Not a valid date value."),
        ("date_from=2024-05-02&date_to=2024-05-01", "The end date is before the start date."),
        ("status=exploded", "Not a valid choice."),
        ("store=abc", "Invalid Choice: could not coerce."),
    ):
        response = viewer.get(f"/sync/?{query}")
        assert response.status_code == 200, query
        page = body(response)
        assert message in page and 'class="field has-error"' in page, query


def test_a_failed_entry_is_retried_by_an_accountant(app, dummy_shop, sign_in):
    run_id = _failed_product_sync(app, dummy_shop)
    with app.app_context():
        entry = db.session.execute(select(SyncLogEntry).where(SyncLogEntry.status == "failed")).scalar_one()
        entry_id = entry.id
        db.session.remove()
    viewer = sign_in("viewer")
    assert 'class="retry"' not in viewer.text("/sync/?status=failed")
    assert viewer.post(f"/sync/log/{entry_id}/retry").status_code == 403

    accountant = sign_in("accountant")
    page = accountant.text("/sync/?status=failed")
    assert f'id="retry-{entry_id}"' in page and 'class="retry"' in page
    response = accountant.post(f"/sync/log/{entry_id}/retry", {"next": "/sync/?status=failed"})
    assert response.status_code == 302 and response.headers["Location"] == "/sync/?status=failed"
    with app.app_context():
        run = db.session.get(ProductSyncRun, run_id)
        assert (run.status, run.created) == ("done", 1)  # the store answered this time
        db.session.remove()
    page = accountant.text("/sync/?kind=product_sync&status=done")
    assert len(_rows(page)) == 1 and "Queued again" in page


def test_an_entry_without_a_retry_says_so(app, dummy_shop, sign_in):
    with app.app_context():
        with atomic():
            entry = log_event(dummy_shop.store_id, "order", "failed", external_id="x")
        entry_id = entry.id
        db.session.remove()
    accountant = sign_in("accountant")
    assert f'id="retry-{entry_id}"' not in accountant.text("/sync/")
    response = accountant.post(f"/sync/log/{entry_id}/retry", follow_redirects=True)
    assert response.status_code == 200 and "This entry has nothing to retry." in body(response)
    assert accountant.post("/sync/log/99999/retry").status_code == 404


# -- needs attention (O6) and re-processing --------------------------------------------------------------------


def test_a_held_order_shows_its_reason_and_is_booked_once_fixed_in_the_store(app, dummy_shop, sign_in):
    payload = order_payload([("MUG-01", "1", "25.00"), (None, "1", "5.00")], number="B-2", external_id="8002")
    dummy_shop.deliver("order", payload)
    record = store_order(app, dummy_shop.store_id, "B-2")
    assert record.state == "needs_attention"

    viewer = sign_in("viewer")
    page = viewer.text("/sync/attention")
    row = page[page.index(f'id="order-{record.id}"'):]
    assert "line 2 (Item None) has no SKU" in row
    assert "Give the product an SKU in the store" in row
    assert 'class="reprocess' not in page  # viewers only look

    accountant = sign_in("accountant")
    assert f'id="reprocess-{record.id}"' in accountant.text("/sync/attention")
    # not fixed yet: still held, nothing booked
    response = accountant.post(f"/sync/orders/{record.id}/reprocess", {"next": "/sync/attention"},
                               follow_redirects=True)
    assert "Order B-2 still needs attention: line 2" in body(response)
    assert _count(app, SalesInvoice) == 0

    # the merchant gives the product its SKU in the store; re-processing fetches the fixed order
    payload["lines"][1]["sku"] = "MUG-01"
    order = OrderSchema().load(payload)
    DummyStore.named("shop-1").orders[order.external_id] = order
    response = accountant.post(f"/sync/orders/{record.id}/reprocess", {"next": "/sync/attention"},
                               follow_redirects=True)
    page = body(response)
    assert "Order B-2 is booked as invoice INV-" in page and "No order needs attention." in page
    assert store_order(app, dummy_shop.store_id, "B-2").state == "booked"
    assert _count(app, SalesInvoice) == 1
    # once booked, re-processing again changes nothing (O3)
    accountant.post(f"/sync/orders/{record.id}/reprocess")
    assert _count(app, SalesInvoice) == 1
    assert viewer.post(f"/sync/orders/{record.id}/reprocess").status_code == 403


def test_reprocessing_uses_the_stored_order_when_the_store_does_not_have_it(app, dummy_shop, sign_in):
    dummy_shop.deliver("order", order_payload([(None, "2", "25.00")], number="B-3", external_id="8003"))
    record = store_order(app, dummy_shop.store_id, "B-3")
    with app.app_context():
        row = db.session.get(StoreOrder, record.id)
        data = dict(row.data)
        data["lines"] = [{**data["lines"][0], "sku": "MUG-01"}]
        row.data = data
        db.session.commit()
        db.session.remove()
    response = sign_in("accountant").post(f"/sync/orders/{record.id}/reprocess", follow_redirects=True)
    assert "Order B-3 is booked as invoice INV-" in body(response)
    assert store_order(app, dummy_shop.store_id, "B-3").state == "booked"


# -- the order's story (V2) -------------------------------------------------------------------------------------


def test_the_order_page_tells_the_whole_story(app, dummy_shop, sign_in):
    payload = order_payload([("MUG-01", "2", "25.00")], number="C-1", external_id="9001")
    dummy_shop.deliver("order", payload, delivery="d-1")
    dummy_shop.deliver("order", payload, delivery="d-2")  # a re-delivery: logged, not booked again
    dummy_shop.deliver("refund", {"external_id": "r-1", "order_external_id": "9001",
                                  "lines": [{"line_external_id": "9001-1", "quantity": "1"}]})
    record = store_order(app, dummy_shop.store_id, "C-1")
    with app.app_context():
        invoice = db.session.get(SalesInvoice, record.invoice_id)
        number = invoice.number
        db.session.remove()
    page = sign_in("viewer").text(f"/sync/orders/{record.id}")
    assert "Order C-1" in page and "Dummy shop" in page
    assert number in page[page.index('id="order-invoice"'):]
    payments = page[page.index('id="order-payments"'):page.index('id="order-returns"')]
    assert "57.50" in payments
    returns = page[page.index('id="order-returns"'):page.index('id="order-deliveries"')]
    assert "r-1" in returns and "booked" in returns
    deliveries = page[page.index('id="order-deliveries"'):page.index('id="order-log"')]
    assert deliveries.count("<tr><td>") == 3  # the order twice, then its refund
    log = page[page.index('id="order-log"'):page.index('id="order-pushes"')]
    assert 'data-status="booked"' in log and 'data-status="skipped"' in log and "already booked" in log
    pushes = page[page.index('id="order-pushes"'):]
    assert 'data-status="done"' in pushes and "MUG-01" in pushes
    assert sign_in("viewer").get("/sync/orders/99999").status_code == 404


def test_store_orders_list_filters_by_number_and_state(app, dummy_shop, sign_in):
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")], number="D-1"))
    dummy_shop.deliver("order", order_payload([(None, "1", "25.00")], number="D-2"))
    viewer = sign_in("viewer")
    page = viewer.text("/sync/orders?number=D-2")
    assert 'data-number="D-2"' in page and 'data-number="D-1"' not in page
    page = viewer.text("/sync/orders?state=booked")
    assert 'data-number="D-1"' in page and 'data-number="D-2"' not in page
    assert "Not a valid choice." in viewer.text("/sync/orders?state=nope")


def test_the_sync_pages_are_in_the_navigation(sign_in):
    page = sign_in("viewer").text("/")
    assert 'href="/sync/"' in page and 'href="/stores/"' in page


def test_a_refund_waiting_for_its_held_order_is_shown_in_needs_attention_and_on_the_order(app, dummy_shop, sign_in):
    """O11: the refund of a held order waits, visibly: under "Needs attention" and on the order's page."""
    order = order_payload([(None, "1", "25.00")], external_id="7301", number="#W-1")
    dummy_shop.deliver("order", order)
    dummy_shop.deliver("refund", {"external_id": "ref-7301", "order_external_id": "7301", "whole_order": True})
    viewer = sign_in("viewer")
    attention = viewer.text("/sync/attention")
    waiting = attention[attention.index('id="waiting-refunds"'):]
    assert "ref-7301" in waiting and "#W-1" in waiting and "order_not_booked" in waiting
    record = store_order(app, dummy_shop.store_id, "#W-1")
    page = viewer.text(f"/sync/orders/{record.id}")
    returns = page[page.index('id="order-returns"'):]
    assert "ref-7301" in returns and 'badge waiting' in returns
