"""Small builders that set up test data through the core services."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from core.models import Branch, Client, Product, Warehouse
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.master_data import create_record

_counter = itertools.count(1)


class Builders:
    """Each method creates one thing through the services and returns it."""

    def warehouse(self, code: str | None = None) -> Warehouse:
        code = code or f"WH{next(_counter)}"
        return create_record(Warehouse, {"code": code, "name": f"Warehouse {code}"})

    def branch(self, code: str | None = None) -> Branch:
        code = code or f"BR{next(_counter)}"
        return create_record(Branch, {"code": code, "name": f"Branch {code}"})

    def client(self, name: str = "Client") -> Client:
        return create_record(Client, {"name": name})

    def product(self, code: str | None = None, sale_price: str = "100", **fields) -> Product:
        code = code or f"SKU-{next(_counter)}"
        return create_record(
            Product, {"code": code, "name": f"Product {code}", "sale_price": Decimal(sale_price), **fields}
        )

    def stock(self, product: Product, warehouse: Warehouse, qty: str, unit_cost: str):
        return post_inbound(
            InboundDraft(
                warehouse_id=warehouse.id,
                lines=[InboundLineDraft(product.id, Decimal(qty), Decimal(unit_cost))],
            )
        )

    def invoice(
        self,
        client: Client,
        branch: Branch,
        warehouse: Warehouse,
        lines: list[tuple[Product, str, str]],
        **options,
    ):
        """Post an invoice; ``lines`` are (product, quantity, unit price)."""
        return post_invoice(
            InvoiceDraft(
                client_id=client.id,
                branch_id=branch.id,
                warehouse_id=warehouse.id,
                date=options.pop("date", date(2026, 1, 15)),
                lines=[
                    InvoiceLineDraft(p.id, Decimal(q), Decimal(price)) for p, q, price in lines
                ],
                **options,
            )
        )

    # --- added for the service suite -------------------------------------------------

    def opening_balance(self, product: Product, warehouse: Warehouse, qty: str, unit_cost: str):
        """Post an opening balance of ``qty`` at ``unit_cost``."""
        return post_inbound(
            InboundDraft(
                warehouse_id=warehouse.id,
                kind="opening_balance",
                lines=[InboundLineDraft(product.id, Decimal(qty), Decimal(unit_cost))],
            )
        )

    def sale_setup(self, *, qty: str = "10", unit_cost: str = "6", sale_price: str = "100"):
        """A warehouse, branch, client and one product with ``qty`` in stock."""
        warehouse, branch, client = self.warehouse(), self.branch(), self.client()
        product = self.product(sale_price=sale_price)
        self.stock(product, warehouse, qty, unit_cost)
        return warehouse, branch, client, product

    def return_(self, invoice, lines: list[tuple[object, str]] | None = None, **options):
        """Post a return; ``lines`` are (invoice line, quantity[, restock]); None returns all."""
        from core.services.returns import (
            ReturnDraft,
            ReturnLineDraft,
            full_return_lines,
            post_return,
        )

        if lines is None:
            drafts = full_return_lines(invoice.id)
        else:
            drafts = [
                ReturnLineDraft(line.id, Decimal(qty), *rest) for line, qty, *rest in lines
            ]
        return post_return(
            ReturnDraft(
                invoice_id=invoice.id,
                lines=drafts,
                date=options.pop("date", date(2026, 1, 20)),
                **options,
            )
        )

    def manual_entry(self, lines: list[tuple[str, str, str]], entry_date: date = date(2026, 1, 10)):
        """Post a manual entry; ``lines`` are (account key, debit, credit)."""
        from core.services.chart import account_by_key
        from core.services.journal import ManualEntryDraft, Posting, post_manual_entry

        return post_manual_entry(
            ManualEntryDraft(
                entry_date,
                [Posting(account_by_key(key).id, Decimal(d), Decimal(c)) for key, d, c in lines],
            )
        )


# --- read helpers shared by the service tests -------------------------------------------


def balance(key: str) -> Decimal:
    """Debit minus credit of the account playing role ``key`` (core.services.reports)."""
    from core.services.chart import account_by_key
    from core.services.reports import account_balance

    return account_balance(account_by_key(key).id)


def count(model: type) -> int:
    """Number of rows of ``model``."""
    from sqlalchemy import func, select

    from core.extensions import db

    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def on_hand(product: Product, warehouse: Warehouse) -> tuple[Decimal, Decimal]:
    """(quantity, value) of a product in a warehouse from the stock report; zeros if none."""
    from core.services.reports import stock_levels

    levels = stock_levels(warehouse_id=warehouse.id, product_id=product.id)
    if not levels:
        return Decimal("0.000"), Decimal("0.00")
    return levels[0].quantity, levels[0].value


def entry_lines(entry_id: int) -> dict[str, tuple[Decimal, Decimal]]:
    """{account key: (debit, credit)} of one journal entry, summed per account."""
    from sqlalchemy import select

    from core.extensions import db
    from core.models import Account, JournalLine

    rows = db.session.execute(
        select(Account.key, JournalLine.debit, JournalLine.credit)
        .join(Account, JournalLine.account_id == Account.id)
        .where(JournalLine.entry_id == entry_id)
    ).all()
    result: dict[str, tuple[Decimal, Decimal]] = {}
    for key, debit, credit in rows:
        d, c = result.get(key, (Decimal("0.00"), Decimal("0.00")))
        result[key] = (d + debit, c + credit)
    return result
