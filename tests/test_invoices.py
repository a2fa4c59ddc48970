"""Posting sales invoices (core/services/invoices.py, docs/accounting.md "Sales invoice")."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.extensions import db
from core.models import (
    InvoiceLine,
    JournalEntry,
    JournalLine,
    PaymentVoucher,
    SalesInvoice,
    StockLevel,
    StockMovement,
)
from core.services.chart import account_by_key
from core.services.errors import DuplicateDocument, InsufficientStock, Invalid
from core.services.reports import trial_balance
from tests.builders import balance, count, entry_lines, on_hand

D = Decimal
ZERO = D("0.00")
DOCUMENT_TABLES = (SalesInvoice, InvoiceLine, JournalEntry, JournalLine, StockMovement, PaymentVoucher, StockLevel)


def snapshot() -> dict[str, int]:
    return {model.__name__: count(model) for model in DOCUMENT_TABLES}


def test_approved_invoice_posts_receivable_revenue_vat_and_cost(build):
    """Receivable = total; sales, discounts, shipping income, VAT output; COGS/inventory at average cost."""
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    coffee, mug = build.product("COF"), build.product("MUG")
    build.stock(coffee, warehouse, "10", "6.00")
    build.stock(mug, warehouse, "4", "2.50")
    invoice = build.invoice(
        client, branch, warehouse,
        [(coffee, "3", "10.00"), (mug, "1", "50.00")],
        order_discount=D("7.80"), shipping=D("20.00"),
    )
    assert invoice.number == "INV-000001" and invoice.status == "approved"
    assert (invoice.lines_net, invoice.discount_net, invoice.shipping_net) == (D("72.20"), D("7.80"), D("20.00"))
    assert (invoice.vat_total, invoice.total, invoice.cost_total) == (D("13.83"), D("106.03"), D("20.50"))
    lines = entry_lines(invoice.journal_entry_id)
    assert lines == {
        "receivable": (D("106.03"), ZERO),
        "sales_discounts": (D("7.80"), ZERO),
        "sales": (ZERO, D("80.00")),  # gross sales excl. VAT = lines net + discounts
        "shipping_income": (ZERO, D("20.00")),
        "vat_output": (ZERO, D("13.83")),
        "cogs": (D("20.50"), ZERO),  # 3 x 6.00 + 1 x 2.50
        "inventory": (ZERO, D("20.50")),
    }
    assert balance("receivable") == D("106.03")
    assert balance("vat_output") == D("-13.83")
    assert balance("inventory") == D("70.00") - D("20.50")  # 10 x 6.00 + 4 x 2.50 in, 20.50 out
    assert [line.cost_amount for line in invoice.lines] == [D("18.00"), D("2.50")]
    assert count(PaymentVoucher) == 0
    assert trial_balance().difference == 0


def test_line_discounts_and_order_discount_are_booked_excluding_vat(build):
    warehouse, branch, client, product = build.sale_setup(qty="10", unit_cost="1")
    invoice = build.invoice(
        client, branch, warehouse, [(product, "2", "115.00")],
        prices_include_vat=True, order_discount=D("23.00"),
    )
    # 230 - 23 = 207 incl. VAT -> 180 net + 27 VAT; discount 23 incl. -> 20 net
    lines = entry_lines(invoice.journal_entry_id)
    assert lines["sales"] == (ZERO, D("200.00"))
    assert lines["sales_discounts"] == (D("20.00"), ZERO)
    assert lines["vat_output"] == (ZERO, D("27.00"))
    assert lines["receivable"] == (D("207.00"), ZERO)
    assert "shipping_income" not in lines  # zero lines are dropped


def test_sale_takes_stock_out_at_the_moving_average_cost(build):
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    product = build.product()
    build.stock(product, warehouse, "10", "5.00")
    build.stock(product, warehouse, "10", "7.00")  # average 6.00
    invoice = build.invoice(client, branch, warehouse, [(product, "5", "20")])
    assert invoice.cost_total == D("30.00")
    assert on_hand(product, warehouse) == (D("15.000"), D("90.00"))
    movement = db.session.execute(
        db.select(StockMovement).where(StockMovement.source_number == invoice.number)
    ).scalar_one()
    assert (movement.kind, movement.quantity, movement.value, movement.unit_cost) == (
        "sale", D("-5.000"), D("-30.00"), D("6.0000")
    )


def test_last_unit_out_takes_exactly_the_value_left(build):
    """10.00 over 3 units sold one by one: the last takes what is left, inventory ends at zero."""
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    product = build.product()
    build.stock(product, warehouse, "3", "3.3333")  # amount round(9.9999) = 10.00
    costs = [build.invoice(client, branch, warehouse, [(product, "1", "5")]).cost_total for _ in range(3)]
    assert costs == [D("3.33"), D("3.34"), D("3.33")]  # 10/3, 6.67/2, what is left
    assert on_hand(product, warehouse) == (D("0.000"), D("0.00"))
    assert balance("inventory") == ZERO
    assert balance("cogs") == D("10.00")


def test_paid_invoice_adds_a_payment_voucher_clearing_the_receivable_into_cash(build):
    warehouse, branch, client, product = build.sale_setup()
    invoice = build.invoice(client, branch, warehouse, [(product, "2", "50")], status="paid")
    voucher = db.session.execute(db.select(PaymentVoucher)).scalar_one()
    assert (voucher.number, voucher.direction, voucher.invoice_id, voucher.amount) == (
        "PV-000001", "received", invoice.id, D("115.00")
    )
    assert entry_lines(voucher.journal_entry_id) == {
        "cash": (D("115.00"), ZERO),
        "receivable": (ZERO, D("115.00")),
    }
    assert balance("receivable") == ZERO
    assert balance("cash") == D("115.00")
    assert trial_balance().difference == 0


@pytest.mark.parametrize("key", ["bank", "payment_clearing"])
def test_paid_invoice_can_be_paid_into_the_bank_or_a_clearing_account(build, key):
    warehouse, branch, client, product = build.sale_setup()
    build.invoice(
        client, branch, warehouse, [(product, "1", "100")],
        status="paid", payment_account_id=account_by_key(key).id,
    )
    assert balance(key) == D("115.00")
    assert balance("cash") == ZERO
    assert balance("receivable") == ZERO


def test_non_stock_tracked_products_move_no_stock_and_cost_nothing(build):
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    service = build.product("GIFT-WRAP", stock_tracked=False)
    invoice = build.invoice(client, branch, warehouse, [(service, "3", "5")])
    assert invoice.cost_total == ZERO
    assert count(StockMovement) == 0
    assert "cogs" not in entry_lines(invoice.journal_entry_id)


def test_document_numbers_are_sequential(build):
    warehouse, branch, client, product = build.sale_setup()
    numbers = [build.invoice(client, branch, warehouse, [(product, "1", "1")]).number for _ in range(3)]
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]


def test_insufficient_stock_refuses_the_sale_and_writes_nothing(build):
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    plenty, scarce = build.product("PLENTY"), build.product("SCARCE")
    build.stock(plenty, warehouse, "10", "1")
    build.stock(scarce, warehouse, "2", "1")
    before = snapshot()
    with pytest.raises(InsufficientStock) as error:
        # the first line is issued before the second runs out: it must be rolled back too
        build.invoice(client, branch, warehouse, [(plenty, "5", "10"), (scarce, "3", "10")], status="paid")
    assert "SCARCE" in error.value.message
    assert snapshot() == before
    assert on_hand(plenty, warehouse) == (D("10.000"), D("10.00"))
    assert on_hand(scarce, warehouse) == (D("2.000"), D("2.00"))
    # a rolled-back posting leaves no gap in the numbers
    assert build.invoice(client, branch, warehouse, [(plenty, "1", "10")]).number == "INV-000001"


def test_selling_from_a_warehouse_without_stock_writes_no_stock_level(build):
    warehouse, branch, client, product = build.sale_setup()
    empty = build.warehouse()
    before = snapshot()
    with pytest.raises(InsufficientStock):
        build.invoice(client, branch, empty, [(product, "1", "10")])
    assert snapshot() == before


def test_duplicate_external_key_answers_with_the_existing_invoice_and_books_nothing(build):
    warehouse, branch, client, product = build.sale_setup()
    first = build.invoice(client, branch, warehouse, [(product, "2", "10")], external_key="store:1001")
    first_id = first.id
    before = snapshot()
    with pytest.raises(DuplicateDocument) as error:
        build.invoice(client, branch, warehouse, [(product, "2", "10")], external_key="store:1001", status="paid")
    assert error.value.existing_id == first_id
    assert error.value.status == 409
    assert snapshot() == before
    assert on_hand(product, warehouse)[0] == D("8.000")


def test_a_failure_mid_post_leaves_no_partial_rows(build, monkeypatch):
    """Everything up to the payment voucher is written, then it fails: one transaction, all gone."""
    warehouse, branch, client, product = build.sale_setup(qty="10", unit_cost="6")
    before = snapshot()
    balances_before = (balance("inventory"), balance("goods_received"))

    def broken_payment(**_kwargs):
        db.session.flush()  # the invoice, its entry and movements are in the database now
        assert count(SalesInvoice) == 1 and count(StockMovement) == before["StockMovement"] + 1
        raise RuntimeError("payment service down")

    monkeypatch.setattr("core.services.invoices.write_payment", broken_payment)
    with pytest.raises(RuntimeError):
        build.invoice(client, branch, warehouse, [(product, "3", "10")], status="paid")
    assert snapshot() == before
    assert (balance("inventory"), balance("goods_received")) == balances_before
    assert on_hand(product, warehouse) == (D("10.000"), D("60.00"))
    assert balance("receivable") == ZERO


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("status", {"status": "draft"}),
        ("client_id", {"client_id": 999999}),
        ("payment_account_id", {"status": "paid", "payment_account_id": 999999}),
    ],
)
def test_invalid_drafts_are_refused_naming_the_field(build, field, change):
    warehouse, branch, client, product = build.sale_setup()
    from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice

    fields = {
        "client_id": client.id, "branch_id": branch.id, "warehouse_id": warehouse.id,
        "lines": [InvoiceLineDraft(product.id, D("1"), D("10"))], "date": date(2026, 1, 15),
    }
    before = snapshot()
    with pytest.raises(Invalid) as error:
        post_invoice(InvoiceDraft(**{**fields, **change}))
    assert field in error.value.fields
    assert snapshot() == before


def test_invoice_vat_rate_defaults_to_the_company_rate_and_can_be_overridden(build):
    warehouse, branch, client, product = build.sale_setup()
    default = build.invoice(client, branch, warehouse, [(product, "1", "100")])
    zero_rated = build.invoice(client, branch, warehouse, [(product, "1", "100")], vat_rate=D("0"))
    assert (default.vat_rate, default.vat_total) == (D("0.1500"), D("15.00"))
    assert (zero_rated.vat_total, zero_rated.total) == (ZERO, D("100.00"))
