"""Inbound requisitions and opening balances (core/services/inbound.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.extensions import db
from core.models import InboundRequisition, JournalEntry, StockLevel, StockMovement
from core.services.chart import account_by_key
from core.services.errors import DuplicateDocument, Invalid
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.reports import trial_balance
from tests.builders import balance, count, entry_lines, on_hand

D = Decimal
ZERO = D("0.00")


def test_inbound_requisition_raises_quantity_value_and_debits_inventory_against_goods_received(build):
    warehouse = build.warehouse()
    product = build.product()
    requisition = build.stock(product, warehouse, "12", "4.25")
    assert (requisition.number, requisition.kind, requisition.total) == ("IR-000001", "inbound_requisition", D("51.00"))
    assert on_hand(product, warehouse) == (D("12.000"), D("51.00"))
    assert entry_lines(requisition.journal_entry_id) == {
        "inventory": (D("51.00"), ZERO),
        "goods_received": (ZERO, D("51.00")),
    }
    movement = db.session.execute(db.select(StockMovement)).scalar_one()
    assert (movement.kind, movement.quantity, movement.unit_cost, movement.value) == (
        "inbound_requisition", D("12.000"), D("4.2500"), D("51.00")
    )
    assert movement.source_number == "IR-000001"


def test_opening_balance_credits_opening_balance_equity(build):
    warehouse = build.warehouse()
    product = build.product()
    opening = build.opening_balance(product, warehouse, "5", "20")
    assert (opening.number, opening.kind) == ("OB-000001", "opening_balance")
    assert entry_lines(opening.journal_entry_id) == {
        "inventory": (D("100.00"), ZERO),
        "opening_balance_equity": (ZERO, D("100.00")),
    }
    assert balance("opening_balance_equity") == D("-100.00")
    assert on_hand(product, warehouse) == (D("5.000"), D("100.00"))
    assert db.session.execute(db.select(StockMovement.kind)).scalar_one() == "opening_balance"


def test_receipts_move_the_moving_average_cost(build):
    warehouse = build.warehouse()
    product = build.product()
    build.opening_balance(product, warehouse, "10", "5.00")
    build.stock(product, warehouse, "30", "7.00")
    level = db.session.get(StockLevel, (product.id, warehouse.id))
    assert (level.quantity, level.value) == (D("40.000"), D("260.00"))
    assert level.average_cost == D("6.5")
    assert balance("inventory") == D("260.00")
    assert trial_balance().difference == 0


def test_several_lines_and_warehouses_are_kept_apart(build):
    main, annex = build.warehouse(), build.warehouse()
    a, b = build.product(), build.product()
    requisition = post_inbound(
        InboundDraft(
            warehouse_id=main.id,
            lines=[InboundLineDraft(a.id, D("2.5"), D("3.3333")), InboundLineDraft(b.id, D("1"), D("9.99"))],
        )
    )
    assert [line.amount for line in requisition.lines] == [D("8.33"), D("9.99")]  # 8.33325 -> 8.33
    assert requisition.total == D("18.32")
    build.stock(a, annex, "1", "1")
    assert on_hand(a, main) == (D("2.500"), D("8.33"))
    assert on_hand(b, main) == (D("1.000"), D("9.99"))
    assert on_hand(a, annex) == (D("1.000"), D("1.00"))
    assert balance("inventory") == D("19.32")


def test_a_named_counter_account_is_credited_instead(build):
    warehouse, product = build.warehouse(), build.product()
    cash = account_by_key("cash")
    requisition = post_inbound(
        InboundDraft(warehouse_id=warehouse.id, counter_account_id=cash.id,
                     lines=[InboundLineDraft(product.id, D("2"), D("10"))])
    )
    assert requisition.counter_account_id == cash.id
    assert balance("cash") == D("-20.00")
    assert balance("goods_received") == ZERO


def test_zero_cost_receipt_adds_quantity_without_an_entry(build):
    warehouse, product = build.warehouse(), build.product()
    requisition = build.stock(product, warehouse, "3", "0")
    assert requisition.journal_entry_id is None
    assert count(JournalEntry) == 0
    assert on_hand(product, warehouse) == (D("3.000"), ZERO)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "adjustment"}, "kind"),
        ({"lines": []}, "lines"),
        ({"quantity": D("0")}, "lines.0.quantity"),
        ({"unit_cost": D("-1")}, "lines.0.unit_cost"),
        ({"warehouse_id": 999999}, "warehouse_id"),
    ],
)
def test_invalid_requisitions_are_refused_and_write_nothing(build, change, field):
    warehouse, product = build.warehouse(), build.product()
    line = InboundLineDraft(product.id, change.pop("quantity", D("1")), change.pop("unit_cost", D("1")))
    with pytest.raises(Invalid) as error:
        post_inbound(InboundDraft(**{"warehouse_id": warehouse.id, "lines": [line], **change}))
    assert field in error.value.fields
    assert (count(InboundRequisition), count(StockMovement), count(StockLevel)) == (0, 0, 0)


def test_non_stock_tracked_products_cannot_be_received(build):
    warehouse = build.warehouse()
    service = build.product(stock_tracked=False)
    with pytest.raises(Invalid) as error:
        build.stock(service, warehouse, "1", "1")
    assert "lines.0.product_id" in error.value.fields


def test_duplicate_external_key_is_refused_with_the_existing_id(build):
    warehouse, product = build.warehouse(), build.product()
    draft = InboundDraft(warehouse_id=warehouse.id, external_key="po-7",
                         lines=[InboundLineDraft(product.id, D("1"), D("1"))])
    first_id = post_inbound(draft).id
    with pytest.raises(DuplicateDocument) as error:
        post_inbound(draft)
    assert error.value.existing_id == first_id
    assert on_hand(product, warehouse) == (D("1.000"), D("1.00"))
    assert count(StockMovement) == 1
