"""Book-keeping invariants under random sequences of documents (hypothesis state machine).

Whatever sequence of inbound receipts, sales (approved or paid, VAT-inclusive or not),
partial and full returns, manual entries and reversals is posted on 2 warehouses x
3 products, after every step:

- every journal entry balances and the trial balance's debits equal its credits;
- each stock level's quantity and value equal the sum of its stock movements, and
  its quantity equals what a simple model of the steps expects;
- the inventory account's balance equals the total stock value;
- no stock level is negative, and a level with nothing on hand has no value left.

Each example starts from a clean database (the conftest wipe and seed helpers).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from core.extensions import db
from core.models import (
    JournalEntry,
    JournalLine,
    ReturnInvoice,
    SalesInvoice,
    StockLevel,
    StockMovement,
)
from core.services.chart import account_by_key, seed_default_chart
from core.services.company import company_settings
from core.services.errors import Conflict, InsufficientStock, Invalid
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.journal import ManualEntryDraft, Posting, post_manual_entry, reverse_entry
from core.services.reports import account_balance, trial_balance
from core.services.returns import ReturnDraft, ReturnLineDraft, full_return_lines, post_return
from core.services.transaction import atomic
from core.testing.kit.pytest_plugin import wipe_tables
from tests.builders import Builders

D = Decimal
ZERO = D("0.00")
ENTRY_DATE = date(2026, 3, 1)
#: Accounts manual entries may use: everything but inventory, which only stock documents move.
MANUAL_KEYS = ("cash", "bank", "receivable", "sales", "cogs", "vat_output", "shipping_income", "goods_received")

quantities = st.one_of(
    st.integers(1, 30).map(Decimal), st.decimals(min_value=D("0.001"), max_value=D("30"), places=3)
)
sold_quantities = st.one_of(
    st.integers(1, 3).map(Decimal), st.decimals(min_value=D("0.001"), max_value=D("3"), places=3)
)
costs = st.decimals(min_value=D("0"), max_value=D("150"), places=4)
prices = st.decimals(min_value=D("0"), max_value=D("300"), places=2)
amounts = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)
products = st.integers(0, 2)
warehouses = st.integers(0, 1)


class Books(RuleBasedStateMachine):
    app = None  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.context = self.app.app_context()
        self.context.push()
        wipe_tables()
        with atomic():
            seed_default_chart()
            company_settings().vat_rate = D("0.15")
        build = Builders()
        self.warehouses = [build.warehouse().id for _ in range(2)]
        self.products = [build.product().id for _ in range(3)]
        self.branch = build.branch().id
        self.client = build.client().id
        self.inventory = account_by_key("inventory").id
        self.manual_keys = {key: account_by_key(key).id for key in MANUAL_KEYS}
        self.expected: defaultdict[tuple[int, int], Decimal] = defaultdict(lambda: D("0.000"))
        self.invoices: list[int] = []
        self.shipping_returned: set[int] = set()
        self.manual_entries: list[int] = []
        self.reversed: set[int] = set()

    def teardown(self) -> None:
        db.session.remove()
        self.context.pop()

    # --- steps -----------------------------------------------------------------------

    @initialize(openings=st.lists(st.tuples(quantities, costs), min_size=6, max_size=6))
    def opening_balances(self, openings):
        for index, (qty, cost) in enumerate(openings):
            self.receive(index % 3, index // 3, qty, cost, opening=True)

    @rule(product=products, warehouse=warehouses, qty=quantities, cost=costs, opening=st.booleans())
    def receive(self, product, warehouse, qty, cost, opening):
        pair = (self.products[product], self.warehouses[warehouse])
        post_inbound(
            InboundDraft(
                warehouse_id=pair[1],
                kind="opening_balance" if opening else "inbound_requisition",
                lines=[InboundLineDraft(pair[0], qty, cost)],
            )
        )
        self.expected[pair] += qty

    @rule(
        lines=st.lists(st.tuples(products, sold_quantities, prices), min_size=1, max_size=3),
        warehouse=warehouses,
        paid=st.booleans(),
        inclusive=st.booleans(),
        shipping=st.decimals(min_value=D("0"), max_value=D("40"), places=2),
        discount=st.decimals(min_value=D("0"), max_value=D("1"), places=2),
    )
    def sell(self, lines, warehouse, paid, inclusive, shipping, discount):
        warehouse_id = self.warehouses[warehouse]
        gross = sum((q * p).quantize(D("0.01")) for _, q, p in lines)
        needed: defaultdict[int, Decimal] = defaultdict(Decimal)
        for product, qty, _ in lines:
            needed[self.products[product]] += qty
        enough = all(self.expected[(p, warehouse_id)] >= q for p, q in needed.items())
        invoices_before = self.count(SalesInvoice)
        draft = InvoiceDraft(
            client_id=self.client,
            branch_id=self.branch,
            warehouse_id=warehouse_id,
            lines=[InvoiceLineDraft(self.products[p], q, price) for p, q, price in lines],
            status="paid" if paid else "approved",
            prices_include_vat=inclusive,
            shipping=shipping,
            order_discount=(gross * discount).quantize(D("0.01"), rounding=ROUND_DOWN),
        )
        if not enough:
            with pytest.raises(InsufficientStock):
                post_invoice(draft)
            assert self.count(SalesInvoice) == invoices_before
            return
        invoice = post_invoice(draft)
        self.invoices.append(invoice.id)
        for product, qty in needed.items():
            self.expected[(product, warehouse_id)] -= qty

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def return_some(self, data):
        invoice_id = data.draw(st.sampled_from(self.invoices))
        left = full_return_lines(invoice_id)
        chosen = []
        for line in left:
            if data.draw(st.booleans()):
                qty = data.draw(st.decimals(min_value=D("0.001"), max_value=line.quantity, places=3))
                chosen.append(ReturnLineDraft(line.invoice_line_id, qty, data.draw(st.booleans())))
        shipping = invoice_id not in self.shipping_returned and data.draw(st.booleans())
        if not chosen and not shipping:
            return
        self.post_return(invoice_id, chosen, shipping)

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), restock=st.booleans())
    def return_everything_left(self, data, restock):
        invoice_id = data.draw(st.sampled_from(self.invoices))
        lines = [ReturnLineDraft(left.invoice_line_id, left.quantity, restock) for left in full_return_lines(invoice_id)]
        shipping = invoice_id not in self.shipping_returned
        if not lines and not shipping:
            return
        self.post_return(invoice_id, lines, shipping)
        assert full_return_lines(invoice_id) == []

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def return_too_much(self, data):
        invoice_id = data.draw(st.sampled_from(self.invoices))
        invoice = db.session.get(SalesInvoice, invoice_id)
        line = data.draw(st.sampled_from(invoice.lines))
        returns_before = self.count(ReturnInvoice)
        with pytest.raises(Invalid):
            post_return(ReturnDraft(invoice_id, [ReturnLineDraft(line.id, line.quantity + D("0.001"))]))
        assert self.count(ReturnInvoice) == returns_before

    @rule(
        debits=st.lists(st.tuples(st.sampled_from(MANUAL_KEYS), amounts), min_size=1, max_size=3),
        credit_key=st.sampled_from(MANUAL_KEYS),
    )
    def manual_entry(self, debits, credit_key):
        total = sum((amount for _, amount in debits), ZERO)
        postings = [Posting(self.manual_keys[key], debit=amount) for key, amount in debits]
        postings.append(Posting(self.manual_keys[credit_key], credit=total))
        self.manual_entries.append(post_manual_entry(ManualEntryDraft(ENTRY_DATE, postings)).id)

    @precondition(lambda self: self.manual_entries)
    @rule(data=st.data())
    def reverse(self, data):
        entry_id = data.draw(st.sampled_from(self.manual_entries))
        if entry_id in self.reversed:
            with pytest.raises(Conflict):
                reverse_entry(entry_id, ENTRY_DATE)
            return
        reverse_entry(entry_id, ENTRY_DATE)
        self.reversed.add(entry_id)

    def post_return(self, invoice_id: int, lines: list[ReturnLineDraft], shipping: bool) -> None:
        invoice = db.session.get(SalesInvoice, invoice_id)
        products = {line.id: line.product_id for line in invoice.lines}
        warehouse_id = invoice.warehouse_id
        post_return(ReturnDraft(invoice_id, lines, include_shipping=shipping))
        if shipping:
            self.shipping_returned.add(invoice_id)
        for line in lines:
            if line.restock:
                self.expected[(products[line.invoice_line_id], warehouse_id)] += line.quantity

    def count(self, model) -> int:
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def every_entry_balances(self):
        unbalanced = db.session.execute(
            select(JournalLine.entry_id)
            .group_by(JournalLine.entry_id)
            .having(func.sum(JournalLine.debit) != func.sum(JournalLine.credit))
        ).all()
        assert unbalanced == []
        empty = db.session.execute(
            select(JournalEntry.id).where(~JournalEntry.lines.any())
        ).all()
        assert empty == []

    @invariant()
    def trial_balance_sums_to_zero(self):
        report = trial_balance()
        assert report.total_debit == report.total_credit

    @invariant()
    def stock_levels_equal_their_movements(self):
        sums = {
            (p, w): (q, v)
            for p, w, q, v in db.session.execute(
                select(
                    StockMovement.product_id,
                    StockMovement.warehouse_id,
                    func.sum(StockMovement.quantity),
                    func.sum(StockMovement.value),
                ).group_by(StockMovement.product_id, StockMovement.warehouse_id)
            )
        }
        levels = db.session.execute(select(StockLevel).execution_options(populate_existing=True)).scalars()
        seen = set()
        for level in levels:
            pair = (level.product_id, level.warehouse_id)
            seen.add(pair)
            assert (level.quantity, level.value) == sums.get(pair, (D("0.000"), ZERO)), pair
            assert level.quantity == self.expected[pair], pair
            assert level.quantity >= 0 and level.value >= 0, pair
            if level.quantity == 0:
                assert level.value == 0, pair
        assert set(sums) <= seen

    @invariant()
    def inventory_account_equals_stock_value(self):
        stock_value = db.session.execute(select(func.coalesce(func.sum(StockLevel.value), 0))).scalar_one()
        assert account_balance(self.inventory) == D(stock_value).quantize(D("0.01"))


@pytest.mark.slow
def test_books_stay_balanced_under_random_documents(app):
    Books.app = app
    run_state_machine_as_test(
        Books,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
