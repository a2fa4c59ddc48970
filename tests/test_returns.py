"""Return invoices (core/services/returns.py, docs/accounting.md "Return invoice")."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.extensions import db
from core.models import (
    JournalEntry,
    JournalLine,
    PaymentVoucher,
    ReturnInvoice,
    ReturnLine,
    StockMovement,
)
from core.services.chart import account_by_key
from core.services.errors import DuplicateDocument, Invalid
from core.services.reports import trial_balance
from tests.builders import balance, count, entry_lines, on_hand

D = Decimal
ZERO = D("0.00")
REVENUE_KEYS = ("sales", "sales_returns", "sales_discounts", "shipping_income")
TABLES = (ReturnInvoice, ReturnLine, JournalEntry, JournalLine, StockMovement, PaymentVoucher)


def snapshot() -> dict[str, int]:
    return {model.__name__: count(model) for model in TABLES}


def revenue() -> Decimal:
    """Net revenue on the credit side (sales - returns - discounts + shipping)."""
    return -sum(balance(key) for key in REVENUE_KEYS)


@pytest.fixture
def sold(build):
    """10 in stock at 6.00; an approved sale of 3 at 100.00 with a 30.00 line discount and 20.00 shipping."""
    warehouse, branch, client, product = build.sale_setup(qty="10", unit_cost="6.00")
    from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice

    def sell(**options):
        return post_invoice(
            InvoiceDraft(
                client_id=client.id, branch_id=branch.id, warehouse_id=warehouse.id,
                lines=[InvoiceLineDraft(product.id, D("3"), D("100.00"), D("30.00"))],
                shipping=D("20.00"), **options,
            )
        )

    return sell, product, warehouse


def test_full_return_reverses_revenue_vat_cost_and_restocks(build, sold):
    sell, product, warehouse = sold
    invoice = sell()
    assert (invoice.total, invoice.vat_total, invoice.cost_total) == (D("333.50"), D("43.50"), D("18.00"))
    returned = build.return_(invoice, include_shipping=True)
    assert (returned.number, returned.status) == ("RET-000001", "approved")
    assert (returned.lines_net, returned.discount_net, returned.shipping_net) == (D("270.00"), D("30.00"), D("20.00"))
    assert (returned.vat_total, returned.total, returned.cost_total) == (D("43.50"), D("333.50"), D("18.00"))
    assert entry_lines(returned.journal_entry_id) == {
        "sales_returns": (D("300.00"), ZERO),
        "sales_discounts": (ZERO, D("30.00")),
        "shipping_income": (D("20.00"), ZERO),
        "vat_output": (D("43.50"), ZERO),
        "receivable": (ZERO, D("333.50")),
        "inventory": (D("18.00"), ZERO),
        "cogs": (ZERO, D("18.00")),
    }
    assert revenue() == ZERO
    for key in ("receivable", "vat_output", "cogs"):
        assert balance(key) == ZERO, key
    assert on_hand(product, warehouse) == (D("10.000"), D("60.00"))
    assert balance("inventory") == D("60.00")
    assert count(PaymentVoucher) == 0
    assert trial_balance().difference == 0


def test_partial_returns_add_up_to_the_line_to_the_halala(build):
    """3 x 10.05 (VAT 4.52, cost 10.00) returned 1 + 1 + 1: the last part takes what is left."""
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    product = build.product()
    build.stock(product, warehouse, "3", "3.3333")  # 10.00 in stock
    invoice = build.invoice(client, branch, warehouse, [(product, "3", "10.05")])
    line = invoice.lines[0]
    assert (line.net_amount, line.vat_amount, line.cost_amount) == (D("30.15"), D("4.52"), D("10.00"))
    parts = [build.return_(invoice, [(line, "1")]) for _ in range(3)]
    assert [p.lines_net for p in parts] == [D("10.05")] * 3
    assert [p.vat_total for p in parts] == [D("1.51"), D("1.51"), D("1.50")]
    assert [p.cost_total for p in parts] == [D("3.33"), D("3.33"), D("3.34")]
    assert on_hand(product, warehouse) == (D("3.000"), D("10.00"))
    assert (balance("receivable"), balance("vat_output"), balance("cogs")) == (ZERO, ZERO, ZERO)
    assert revenue() == ZERO
    with pytest.raises(Invalid) as error:  # nothing left on the line
        build.return_(invoice, [(line, "0.001")])
    assert "lines.0.quantity" in error.value.fields


def test_partial_return_reverses_only_what_came_back(build, sold):
    sell, product, warehouse = sold
    invoice = sell()
    returned = build.return_(invoice, [(invoice.lines[0], "1")])
    assert (returned.lines_net, returned.discount_net, returned.vat_total) == (D("90.00"), D("10.00"), D("13.50"))
    assert (returned.total, returned.cost_total) == (D("103.50"), D("6.00"))
    assert balance("receivable") == D("333.50") - D("103.50")
    assert balance("vat_output") == -(D("43.50") - D("13.50"))
    assert balance("cogs") == D("12.00")
    assert revenue() == D("180.00") + D("20.00")  # two units net and the shipping stay sold
    assert on_hand(product, warehouse) == (D("8.000"), D("48.00"))


def test_return_without_restock_reverses_revenue_but_brings_no_stock_back(build, sold):
    sell, product, warehouse = sold
    invoice = sell()
    returned = build.return_(invoice, [(invoice.lines[0], "2", False)])
    assert returned.cost_total == ZERO
    assert returned.lines[0].restock is False
    assert "inventory" not in entry_lines(returned.journal_entry_id)
    assert on_hand(product, warehouse) == (D("7.000"), D("42.00"))
    assert balance("inventory") == D("42.00")
    assert balance("cogs") == D("18.00")  # the damaged goods stay in cost of sales
    assert balance("vat_output") == -(D("43.50") - D("27.00"))
    assert count(StockMovement) == 2  # the inbound and the sale only


def test_return_restocks_at_the_cost_the_goods_left_with(build, sold):
    sell, product, warehouse = sold
    invoice = sell()  # 3 out at 6.00
    build.stock(product, warehouse, "3", "10.00")  # average now (42 + 30) / 10 = 7.20
    build.return_(invoice, [(invoice.lines[0], "3")])
    assert on_hand(product, warehouse) == (D("13.000"), D("90.00"))  # 72 + 18, not 72 + 3 x 7.20
    assert balance("inventory") == D("90.00")


def test_returning_more_than_is_left_is_refused_and_writes_nothing(build, sold):
    sell, product, warehouse = sold
    invoice = sell()
    line = invoice.lines[0]
    build.return_(invoice, [(line, "2")])
    before = snapshot()
    with pytest.raises(Invalid) as error:
        build.return_(invoice, [(line, "2")])
    assert "only 1.000 of 3.000 left" in error.value.fields["lines.0.quantity"][0]
    assert snapshot() == before
    assert on_hand(product, warehouse)[0] == D("9.000")
    assert build.return_(invoice, [(line, "1")]).number == "RET-000002"  # no gap


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (lambda inv: [(inv.lines[0], "0")], "lines.0.quantity"),
        (lambda inv: [(inv.lines[0], "1"), (inv.lines[0], "1")], "lines.1.invoice_line_id"),
        (lambda inv: [], "lines"),
    ],
)
def test_invalid_returns_are_refused_naming_the_field(build, sold, lines, field):
    sell, _, _ = sold
    invoice = sell()
    with pytest.raises(Invalid) as error:
        build.return_(invoice, lines(invoice))
    assert field in error.value.fields
    assert count(ReturnInvoice) == 0


def test_a_line_of_another_invoice_cannot_be_returned(build, sold):
    sell, _, _ = sold
    first, second = sell(), sell()
    with pytest.raises(Invalid) as error:
        build.return_(first, [(second.lines[0], "1")])
    assert "lines.0.invoice_line_id" in error.value.fields


def test_shipping_is_returned_at_most_once(build, sold):
    sell, _, _ = sold
    invoice = sell()
    only_shipping = build.return_(invoice, [], include_shipping=True)
    assert (only_shipping.shipping_net, only_shipping.vat_total, only_shipping.total) == (
        D("20.00"), D("3.00"), D("23.00")
    )
    assert balance("shipping_income") == ZERO
    with pytest.raises(Invalid) as error:
        build.return_(invoice, [(invoice.lines[0], "1")], include_shipping=True)
    assert "include_shipping" in error.value.fields
    assert count(ReturnInvoice) == 1
    assert build.return_(invoice).shipping_net == ZERO  # the rest, without shipping


def test_paid_invoice_return_refunds_into_the_account_it_was_paid_to(build, sold):
    sell, _, _ = sold
    invoice = sell(status="paid", payment_account_id=account_by_key("bank").id)
    assert balance("bank") == D("333.50")
    returned = build.return_(invoice, [(invoice.lines[0], "1")])
    assert returned.status == "paid"
    refund = db.session.execute(
        db.select(PaymentVoucher).where(PaymentVoucher.return_invoice_id == returned.id)
    ).scalar_one()
    assert (refund.direction, refund.amount) == ("refunded", D("103.50"))
    assert entry_lines(refund.journal_entry_id) == {
        "bank": (ZERO, D("103.50")),
        "receivable": (D("103.50"), ZERO),
    }
    assert balance("bank") == D("230.00")
    assert balance("receivable") == ZERO
    assert balance("cash") == ZERO


def test_approved_invoice_return_leaves_a_credit_unless_a_refund_is_asked_for(build, sold):
    sell, _, _ = sold
    invoice = sell()
    credit_note = build.return_(invoice, [(invoice.lines[0], "1")])
    assert credit_note.status == "approved"
    assert count(PaymentVoucher) == 0
    refunded = build.return_(invoice, [(invoice.lines[0], "1")], refund=True)
    assert refunded.status == "paid"
    assert balance("cash") == -refunded.total  # default refund account: cash
    assert balance("receivable") == D("333.50") - credit_note.total


def test_duplicate_return_key_answers_with_the_existing_return(build, sold):
    sell, product, warehouse = sold
    invoice = sell()
    first = build.return_(invoice, [(invoice.lines[0], "1")], external_key="refund:9")
    first_id = first.id
    before = snapshot()
    with pytest.raises(DuplicateDocument) as error:
        build.return_(invoice, [(invoice.lines[0], "1")], external_key="refund:9")
    assert error.value.existing_id == first_id
    assert snapshot() == before
    assert on_hand(product, warehouse)[0] == D("8.000")


def test_an_amount_only_credit_note_reverses_revenue_and_vat_but_no_stock(build, sold):
    """R1: a refund that names only an amount: net and VAT at the invoice's rate, no stock back."""
    from core.services.returns import ReturnDraft, post_return

    sell, product, warehouse = sold
    invoice = sell(status="paid")  # 3 x 100 - 30 + 20 shipping, + 15% VAT = 333.50
    stock_before = on_hand(product, warehouse)
    credit = post_return(ReturnDraft(invoice_id=invoice.id, amount=D("115.00")))
    assert (credit.lines_net, credit.vat_total, credit.total) == (D("100.00"), D("15.00"), D("115.00"))
    assert credit.lines == [] and on_hand(product, warehouse) == stock_before
    assert count(PaymentVoucher) == 2  # the sale's receipt and this refund
    assert balance("vat_output") == -(invoice.vat_total - D("15.00"))
    tb = trial_balance()
    assert tb.total_debit == tb.total_credit


def test_an_amount_only_credit_note_cannot_exceed_what_is_left_of_the_invoice(build, sold):
    from core.services.returns import ReturnDraft, post_return

    sell, _product, _warehouse = sold
    invoice = sell()
    post_return(ReturnDraft(invoice_id=invoice.id, amount=invoice.total - D("10.00")))
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        post_return(ReturnDraft(invoice_id=invoice.id, amount=D("10.01")))
    assert "amount" in refused.value.fields and snapshot() == before
