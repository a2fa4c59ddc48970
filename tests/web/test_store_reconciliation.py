"""Reconciliation on the store page (O12): when it last ran, what it found, and "Reconcile now"."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from core.extensions import db
from core.integration.reconcile import ReconcileReport, findings
from core.models import SalesInvoice, StoreOrder
from core.platform.schemas import OrderSchema
from core.testing.dummy import DummyStore
from tests.integration.reads import count
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import body, order_payload


def _missed_order(number: str = "#5001") -> None:
    """A completed order in the store whose webhook never reached the ERP."""
    order = OrderSchema().load(order_payload([("MUG-01", "2", "25.00")], number=number, external_id=number[1:]))
    DummyStore.named("shop-1").orders[order.external_id] = order


def _section(page: str) -> str:
    start = page.index('id="reconciliation"')
    return page[start:page.index("</section>", start)]


def test_reconcile_now_books_a_missed_order_and_the_page_shows_the_run(app, dummy_shop, sign_in):
    """O12: the store page says it was never reconciled; "Reconcile now" queues the run (run at once in tests),
    which books the order whose webhook was missed; the page then shows when it ran, what it found and how far
    the store was checked."""
    _missed_order()
    admin = sign_in("admin")
    section = _section(admin.text(f"/stores/{dummy_shop.store_id}"))
    assert "Not reconciled yet." in section and 'id="reconcile-now"' in section

    response = admin.post(f"/stores/{dummy_shop.store_id}/reconcile")
    assert response.status_code == 302 and response.headers["Location"].endswith("#reconciliation")
    with app.app_context():
        assert count(SalesInvoice) == 1
        assert db.session.execute(select(StoreOrder.state)).scalar_one() == "booked"

    page = admin.text(f"/stores/{dummy_shop.store_id}")
    assert "The reconciliation is queued" in page
    section = _section(page)
    assert 'id="reconciled-at"' in section and "Not reconciled yet." not in section
    assert '<span class="badge done" id="reconcile-status">done</span>' in section
    assert "1 since" in section
    assert '<dd id="reconcile-outcomes">booked: 1</dd>' in section
    assert '<dd id="reconcile-refunds">none</dd>' in section
    assert 'id="reconciled-through"' in section

    admin.post(f"/stores/{dummy_shop.store_id}/reconcile")  # again: the order is known and booked
    with app.app_context():
        assert count(SalesInvoice) == 1
    assert '<dd id="reconcile-outcomes">already booked: 1</dd>' in admin.text(f"/stores/{dummy_shop.store_id}")


def test_a_failed_run_shows_why_it_stopped(app, dummy_shop, sign_in):
    """O12: a run the store could not answer is shown failed, with the store's error."""
    DummyStore.named("shop-1").failures.append("down")
    admin = sign_in("admin")
    admin.post(f"/stores/{dummy_shop.store_id}/reconcile")
    section = _section(admin.text(f"/stores/{dummy_shop.store_id}"))
    assert '<span class="badge failed" id="reconcile-status">failed</span>' in section
    assert "StoreAPIError: down" in section and 'id="reconciled-through"' not in section


def test_accountants_may_reconcile_viewers_may_not_and_the_form_needs_its_token(app, dummy_shop, sign_in):
    """Accountants queue it and follow it in the sync log (the store page is the admins'); viewers get 403;
    a POST without its CSRF token is refused and queues nothing."""
    _missed_order()
    path = f"/stores/{dummy_shop.store_id}/reconcile"
    assert sign_in("viewer").post(path).status_code == 403
    assert sign_in("admin").post(path, csrf=False).status_code == 400
    with app.app_context():
        assert count(SalesInvoice) == 0
    response = sign_in("accountant").post(path)
    assert response.status_code == 302
    assert f"store={dummy_shop.store_id}" in response.headers["Location"] and "kind=reconcile" in response.headers["Location"]
    with app.app_context():
        assert count(SalesInvoice) == 1


def test_the_reconciliation_section_speaks_arabic(app, dummy_shop, sign_in):
    """The section and its button are translated."""
    admin = sign_in("admin")
    admin.post(f"/stores/{dummy_shop.store_id}/reconcile")
    assert admin.post("/language/ar", {"next": "/"}).status_code == 302
    section = _section(body(admin.get(f"/stores/{dummy_shop.store_id}")))
    for english in ("Reconciliation", "Last run", "Orders changed", "Checked up to", "Reconcile now", "none"):
        assert english not in section, english


def test_findings_read_back_what_a_run_wrote():
    """What the page shows is what the run's report counted, and why it stopped."""
    report = ReconcileReport(3, datetime(2026, 11, 28, 1, 0, tzinfo=UTC), pages=2, orders=3,
                             outcomes={"booked": 1, "already_booked": 2}, refunds={"needs_attention": 1})
    found = findings(report.summary())
    assert (found.orders, found.since, found.pages) == (3, report.since, 2)
    assert (found.outcomes, found.refunds, found.stopped) == ({"booked": 1, "already_booked": 2},
                                                               {"needs_attention": 1}, None)
    stopped = findings(f"{ReconcileReport(3, report.since).summary()}; stopped: StoreAPIError: down")
    assert (stopped.orders, stopped.outcomes, stopped.stopped) == (0, {}, "StoreAPIError: down")
    assert findings("something else") is None
