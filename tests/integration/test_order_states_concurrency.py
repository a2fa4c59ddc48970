"""An order and its refund booked at the same moment in two jobs: the refund is booked once, never left waiting (O11, R2)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.integration.booking import book_order
from core.integration.connections import get_store
from core.integration.refunds import book_refund
from core.models import ReturnInvoice, StoreRefund
from core.platform.schemas import OrderSchema, RefundSchema
from core.services.reports import trial_balance
from tests.integration.conftest import order_payload
from tests.test_concurrency import run_in_threads

pytestmark = pytest.mark.slow

ROUNDS = 6


def test_an_order_and_its_refund_processed_at_once_book_the_refund_once(app, dummy_shop):
    """Whichever job reads first, the refund ends booked exactly once, with nothing left waiting."""
    store_id = dummy_shop.store_id
    for round_ in range(ROUNDS):
        order = OrderSchema().load(order_payload([("MUG-01", "1", "25.00")], external_id=f"race-{round_}"))
        refund = RefundSchema().load({"external_id": f"race-r-{round_}", "order_external_id": order.external_id,
                                      "whole_order": True})
        results = run_in_threads(app, [
            lambda order=order: book_order(get_store(store_id), order).outcome,
            lambda refund=refund: book_refund(get_store(store_id), refund).outcome,
        ])
        assert all(status == "ok" for status, _ in results), results
    with app.app_context():
        states = dict(db.session.execute(select(StoreRefund.state, func.count()).group_by(StoreRefund.state)).all())
        assert states == {"booked": ROUNDS}
        assert db.session.execute(select(func.count()).select_from(ReturnInvoice)).scalar_one() == ROUNDS
        tb = trial_balance()
        assert tb.total_debit == tb.total_credit
