"""Posting with pre-built Core statements: few statements, reference data read once per session and
dropped when it changes, documents usable by the caller inside its own transaction (issue 12)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event

from core.extensions import db
from core.models import OutboxEvent, SalesInvoice
from core.services.company import company_settings
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.transaction import atomic
from tests.builders import count, on_hand

D = Decimal


class Statements:
    """Counts the statements of the first transaction committed while the block runs (not what
    after-commit listeners do next)."""

    def __enter__(self) -> Statements:
        self.count, self.committed = 0, False
        self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._seen)
        event.listen(self.engine, "commit", self._commit)
        return self

    def _seen(self, *_args) -> None:
        self.count += 0 if self.committed else 1

    def _commit(self, *_args) -> None:
        self.committed = True

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)
        event.remove(self.engine, "commit", self._commit)


def test_an_invoice_of_three_stocked_lines_posts_in_a_dozen_statements_or_fewer(build):
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    products = [build.product() for _ in range(3)]
    for product in products:
        build.stock(product, warehouse, "10", "5")
    build.invoice(client, branch, warehouse, [(products[0], "1", "10")])  # reference data read once
    draft = InvoiceDraft(client_id=client.id, branch_id=branch.id, warehouse_id=warehouse.id, shipping=D("5"),
                         lines=[InvoiceLineDraft(p.id, D("1"), D("10")) for p in products])
    db.session.commit()  # the reads of the ids end here: the block holds the posting's transaction alone
    with Statements() as statements:
        post_invoice(draft)
    # parties+products+locked levels, numbers, levels, movements, entry, entry lines, invoice,
    # invoice lines, outbox row (+ BEGIN on SQLite)
    assert statements.count <= 11


def test_a_changed_vat_rate_is_used_by_the_next_invoice_of_the_same_session(build):
    warehouse, branch, client, product = build.sale_setup()
    first = build.invoice(client, branch, warehouse, [(product, "1", "100")])
    assert first.vat_total == D("15.00")
    with atomic():
        company_settings().vat_rate = D("0.0500")
    second = build.invoice(client, branch, warehouse, [(product, "1", "100")])
    assert (second.vat_rate, second.vat_total) == (D("0.0500"), D("5.00"))


def test_an_invoice_posted_inside_a_caller_transaction_reads_back_with_its_lines(build):
    warehouse, branch, client, product = build.sale_setup()
    with atomic():
        invoice = build.invoice(client, branch, warehouse, [(product, "2", "10")], status="paid")
        assert invoice.number.startswith("INV-") and invoice.total == D("23.00")
        assert [(line.position, line.quantity, line.description) for line in invoice.lines] == [
            (1, D("2.000"), product.name)
        ]
        assert db.session.get(SalesInvoice, invoice.id) is invoice
    assert invoice.payments[0].amount == D("23.00")
    assert count(OutboxEvent) >= 1


def test_a_return_to_a_warehouse_without_a_stock_level_creates_it(build):
    warehouse, branch, client, product = build.sale_setup(qty="5", unit_cost="4")
    invoice = build.invoice(client, branch, warehouse, [(product, "2", "10")])
    from core.models import StockLevel

    db.session.execute(db.delete(StockLevel))  # as if the level row had never been written
    db.session.commit()
    build.return_(invoice)
    assert on_hand(product, warehouse) == (D("2.000"), D("8.00"))
