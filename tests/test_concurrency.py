"""Concurrent posting from real threads, each with its own app context and session.

The stock level row is the lock (SELECT ... FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE
plus a busy timeout on SQLite, core/dbsetup.py), so parallel sales of one product
lose no update, never oversell, and on SQLite never surface "database is locked".
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import SalesInvoice, StockLevel, StockMovement
from core.services.errors import InsufficientStock
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.reports import trial_balance
from tests.builders import balance, count

D = Decimal
pytestmark = pytest.mark.slow


def run_in_threads(app, jobs: list[Callable[[], object]]) -> list[tuple[str, object]]:
    """Start every job at once (a barrier), each in its own thread and app context.

    Returns ("ok", result) or ("error", exception) per job, in order.
    """
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, object] | None] = [None] * len(jobs)

    def worker(index: int, job: Callable[[], object]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[index] = ("ok", job())
            except BaseException as error:  # noqa: BLE001 - reported to the test
                results[index] = ("error", error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a posting thread hung"
    return [result for result in results if result is not None]


def sale(ids: dict[str, int], qty: str, *, status: str = "approved") -> Callable[[], tuple[str, Decimal]]:
    def job() -> tuple[str, Decimal]:
        invoice = post_invoice(
            InvoiceDraft(
                client_id=ids["client"], branch_id=ids["branch"], warehouse_id=ids["warehouse"],
                date=date(2026, 2, 1), status=status,
                lines=[InvoiceLineDraft(ids["product"], D(qty), D("25.00"))],
            )
        )
        return invoice.number, invoice.cost_total

    return job


def setup_stock(build, receipts: list[tuple[str, str]]) -> dict[str, int]:
    warehouse, branch, client = build.warehouse(), build.branch(), build.client()
    product = build.product()
    for qty, cost in receipts:
        build.stock(product, warehouse, qty, cost)
    ids = {"warehouse": warehouse.id, "branch": branch.id, "client": client.id, "product": product.id}
    db.session.remove()  # release this thread's connection (on SQLite a read holds the write lock)
    return ids


def assert_books_consistent(ids: dict[str, int]) -> tuple[Decimal, Decimal]:
    level = db.session.get(StockLevel, (ids["product"], ids["warehouse"]))
    moved_qty, moved_value = db.session.execute(
        select(func.sum(StockMovement.quantity), func.sum(StockMovement.value)).where(
            StockMovement.product_id == ids["product"], StockMovement.warehouse_id == ids["warehouse"]
        )
    ).one()
    assert (level.quantity, level.value) == (moved_qty, moved_value)
    assert balance("inventory") == level.value
    assert trial_balance().difference == 0
    return level.quantity, level.value


def test_parallel_sales_of_one_product_lose_no_update(app, build):
    """8 threads x 3 sales of the same product: every unit and every halala is accounted for."""
    ids = setup_stock(build, [("60", "3.00"), ("40", "4.50")])  # 100 at an average of 3.60
    quantities = ["1", "2", "3"] * 8
    results = run_in_threads(app, [sale(ids, qty, status=("paid" if i % 2 else "approved"))
                                   for i, qty in enumerate(quantities)])
    errors = [value for kind, value in results if kind == "error"]
    assert errors == []
    sold = sum(D(q) for q in quantities)
    quantity, value = assert_books_consistent(ids)
    assert quantity == D("100") - sold
    # the average stays 3.60, so each sale costs 3.60 a unit and what is left is worth 3.60 a unit
    assert value == D("3.60") * quantity
    assert sorted(cost for _, (_, cost) in results) == sorted(D("3.60") * D(q) for q in quantities)
    assert balance("cogs") == D("3.60") * sold
    numbers = sorted(number for _, (number, _) in results)
    assert numbers == [f"INV-{n:06d}" for n in range(1, len(quantities) + 1)]  # gap-free, no duplicates
    assert count(SalesInvoice) == len(quantities)


def test_an_oversell_race_lets_only_the_stock_on_hand_be_sold(app, build):
    """10 buyers race for 5 units: exactly 5 sales succeed, 5 get InsufficientStock."""
    ids = setup_stock(build, [("5", "7.00")])
    results = run_in_threads(app, [sale(ids, "1") for _ in range(10)])
    succeeded = [value for kind, value in results if kind == "ok"]
    refused = [value for kind, value in results if kind == "error"]
    assert len(succeeded) == 5
    assert len(refused) == 5
    assert all(isinstance(error, InsufficientStock) for error in refused), refused
    assert assert_books_consistent(ids) == (D("0.000"), D("0.00"))
    assert count(SalesInvoice) == 5
    assert balance("cogs") == D("35.00")


def test_uneven_parallel_sales_drain_the_stock_exactly(app, build):
    """Costs that do not divide evenly: the last unit out takes what is left, whoever sells it."""
    ids = setup_stock(build, [("7", "1.4286")])  # 10.00 for 7 units
    results = run_in_threads(app, [sale(ids, "1") for _ in range(7)] + [sale(ids, "1") for _ in range(2)])
    assert sum(1 for kind, _ in results if kind == "ok") == 7
    assert all(isinstance(value, InsufficientStock) for kind, value in results if kind == "error")
    assert assert_books_consistent(ids) == (D("0.000"), D("0.00"))
    assert balance("cogs") == D("10.00")


def receipt(ids: dict[str, int], qty: str, cost: str) -> Callable[[], Decimal]:
    def job() -> Decimal:
        from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound

        return post_inbound(
            InboundDraft(warehouse_id=ids["warehouse"], lines=[InboundLineDraft(ids["product"], D(qty), D(cost))])
        ).total

    return job


def test_parallel_receipts_and_sales_of_one_product_lose_no_update(app, build):
    """Receipts and sales use different number sequences, so only the stock level lock orders them."""
    ids = setup_stock(build, [("50", "4.00")])
    jobs: list[Callable[[], object]] = []
    for _ in range(6):
        jobs.append(sale(ids, "2"))
        jobs.append(receipt(ids, "3", "5.00"))
    results = run_in_threads(app, jobs)
    assert [value for kind, value in results if kind == "error"] == []
    quantity, value = assert_books_consistent(ids)
    assert quantity == D("50") - 6 * D("2") + 6 * D("3")
    cogs = balance("cogs")
    assert value == D("200.00") + 6 * D("15.00") - cogs
    assert count(SalesInvoice) == 6
