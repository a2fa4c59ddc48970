"""Benchmark: store orders booked per second by one worker (inbox delivery -> job -> invoice), SQLite and PostgreSQL.

N order deliveries of a connected dummy store are stored in the inbox (3 lines, VAT, shipping, a customer
that comes back every few orders), then ``core.integration.tasks.process_delivery`` runs on each of them
in this process, one after the other, like one worker: each job in an app context of its own, with the
worker's outbox dispatcher run every 25 bookings (timed too). Follow-up jobs go to a queue that only counts
them (a worker hands them to Redis). Printed per database: bookings/s, statements and commits per booking,
follow-up jobs per booking and the share of the time spent in ``post_invoice`` (the posting service),
next to the posting service alone on the same drafts and database (the floor of the booking path).
``--synchronous FULL,NORMAL`` runs SQLite once per durability setting (the ledger ships FULL).
Run: ``python bench/book_orders.py [-n 300] [--runs 3] [--database-url URL ...] [--synchronous FULL,NORMAL]
[--profile]``.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import secrets
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event

from core import create_app
from core.extensions import db
from core.integration import connections
from core.integration.outbox import dispatch_pending
from core.jobs import as_worker
from core.models import (
    Branch,
    Client,
    Product,
    SalesInvoice,
    StoreOrder,
    Warehouse,
    WebhookDelivery,
)
from core.plugins import registry
from core.services import invoices as invoice_service
from core.services.chart import seed_default_chart
from core.services.company import company_settings
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.master_data import create_record
from core.services.transaction import atomic
from core.testing.dummy import DummyStore

PRICES = (Decimal("35.00"), Decimal("45.00"), Decimal("25.00"))
SHIPPING = Decimal("25.00")
RETURNING_CUSTOMERS = 20
#: Bookings between two rounds of the worker's outbox dispatcher (it runs about every half second).
DISPATCH_EVERY = 25


class CountingQueue:
    """Stands in for the job queue: follow-up jobs are counted, not run (a worker hands them to Redis)."""

    def __init__(self) -> None:
        self.jobs: Counter[str] = Counter()

    def enqueue(self, job: str, args: tuple[Any, ...], retries: int, unique: str | None = None) -> None:
        self.jobs[job] += 1


def order_body(i: int) -> bytes:
    external_id = str(10_000 + i)
    lines = [
        {"external_id": f"{external_id}-{k}", "sku": f"P{k}", "name": f"Item P{k}", "quantity": str(1 + i % 2),
         "unit_price": str(price)}
        for k, price in enumerate(PRICES)
    ]
    net = sum(Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in lines) + SHIPPING
    customer_no = i % RETURNING_CUSTOMERS
    data = {
        "external_id": external_id, "number": f"#{external_id}", "status": "completed", "currency": "SAR",
        "prices_include_vat": False, "lines": lines, "shipping": str(SHIPPING), "order_discount": "0",
        "total": str((net * Decimal("1.15")).quantize(Decimal("0.01"))),
        "customer": {"external_id": f"c{customer_no}", "name": f"Customer {customer_no}",
                     "email": f"c{customer_no}@example.com"},
    }
    return json.dumps({"event": "order", "data": data}).encode()


def prepare(url: str, n: int) -> tuple[Any, list[int], CountingQueue]:
    """A fresh schema, a connected and activated dummy store, products with stock, N stored deliveries."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(),
                      "SECRET_KEY": secrets.token_hex(32), "JOBS_MODE": "inline",
                      "EXTRA_PLUGINS": ("core.testing.dummy:DummyPlugin",)})
    queue = CountingQueue()
    app.extensions["mizan.jobs"] = queue
    DummyStore.reset()
    with app.app_context():
        db.drop_all()
        db.create_all()
        with atomic():
            seed_default_chart()
            company_settings()
        warehouse = create_record(Warehouse, {"code": "W", "name": "W"}).id
        branch = create_record(Branch, {"code": "B", "name": "B"}).id
        walk_in = create_record(Client, {"name": "Walk-in"}).id
        products = [create_record(Product, {"code": f"P{k}", "name": f"P{k}", "sale_price": price}).id
                    for k, price in enumerate(PRICES)]
        post_inbound(InboundDraft(warehouse_id=warehouse, lines=[
            InboundLineDraft(p, Decimal(4 * n + 10), Decimal("10.00")) for p in products]))
        plugins = registry()
        plugins.install("dummy")
        plugins.enable("dummy")
        store, key = connections.create_store("dummy", "Bench shop")
        connections.set_credentials(store.id, {"store_ref": "bench", "secret": "bench-secret"})
        connections.update_settings(store.id, {
            "default_client_id": walk_in, "warehouse_id": warehouse, "branch_id": branch,
            "create_financial_invoice": True, "update_inventory": True,
        })
        connections.activate(store.id, key)
        store_id = store.id
        with atomic() as session:
            rows = [WebhookDelivery(store_id=store_id, delivery_key=f"bench-{i}", headers={}, body=order_body(i))
                    for i in range(n)]
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows]
        db.session.remove()
    queue.jobs.clear()
    return app, ids, queue


class Counts:
    """Statements and commits seen by the engine while counting is on."""

    def __init__(self, engine: Any) -> None:
        self.statements = self.commits = 0
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_args: Any) -> None:
        if self.on:
            self.statements += 1

    def _commit(self, *_args: Any) -> None:
        if self.on:
            self.commits += 1


def _job(app: Any, function: Any, *args: Any) -> Any:
    """Run one job as an rq worker does: in an app context (and so a database session) of its own."""
    with app.app_context():
        return function(*args)


def run(url: str, n: int, profile: bool, synchronous: str | None = None) -> dict[str, float]:
    import core.dbsetup
    from core.integration.tasks import process_delivery

    if synchronous and hasattr(core.dbsetup, "SYNCHRONOUS"):
        core.dbsetup.SYNCHRONOUS = synchronous

    app, ids, queue = prepare(url, n)
    posting = [0.0]
    original = invoice_service.post_invoice

    def timed_post(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            posting[0] += time.perf_counter() - start

    with app.app_context():
        counts = Counts(db.engine)
        import core.integration.booking as booking

        booking.post_invoice = timed_post
        profiler = cProfile.Profile() if profile else None
        counts.on = True
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        outcomes: Counter[str] = Counter()
        with as_worker():
            for number, delivery_id in enumerate(ids, start=1):
                outcomes[_job(app, process_delivery, delivery_id)] += 1
                if number % DISPATCH_EVERY == 0 or number == len(ids):
                    _job(app, dispatch_pending)  # the worker's dispatcher, beside its jobs
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - start
        counts.on = False
        booking.post_invoice = original
        db.session.remove()
        booked = db.session.execute(db.select(db.func.count(StoreOrder.id)).where(StoreOrder.state == "booked")).scalar()
        invoices = db.session.execute(db.select(db.func.count(SalesInvoice.id))).scalar()
        db.session.remove()
        db.engine.dispose()
    if booked != n or invoices != n:
        raise SystemExit(f"expected {n} booked orders, got {booked} ({invoices} invoices; outcomes {dict(outcomes)})")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return {"per_s": n / elapsed, "statements": counts.statements / n, "commits": counts.commits / n,
            "jobs": sum(queue.jobs.values()) / n, "posting": posting[0] / elapsed}


def database_urls(given: list[str], workdir: Path, modes: list[str]) -> list[tuple[str, str, str | None]]:
    """(label, url, SQLite synchronous mode) per run of a round."""
    urls = given or [f"sqlite:///{workdir / 'bench.sqlite'}"]
    runs: list[tuple[str, str, str | None]] = []
    for url in urls:
        name = url.split(":", 1)[0].split("+", 1)[0]
        if name == "sqlite" and modes:
            runs += [(f"{name}/{mode}", url, mode) for mode in modes]
        else:
            runs.append((name, url, None))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="orders per run")
    parser.add_argument("--runs", type=int, default=1, help="runs per database (interleaved)")
    parser.add_argument("--database-url", action="append", default=[],
                        help="a database to run on (repeatable; its tables are dropped); default a temporary SQLite file")
    parser.add_argument("--synchronous", default="", help="SQLite PRAGMA synchronous values to compare, e.g. FULL,NORMAL")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        modes = [mode.strip().upper() for mode in args.synchronous.split(",") if mode.strip()]
        urls = database_urls(args.database_url, Path(workdir), modes)
        print(f"{'database':<14} {'run':>3} {'bookings/s':>11} {'stmts/booking':>14} {'commits/booking':>16}"
              f" {'jobs/booking':>13} {'posting share':>14}")
        results: dict[str, list[float]] = {name: [] for name, _, _ in urls}
        for number in range(args.runs):
            for name, url, mode in urls:
                figures = run(url, args.n, args.profile and number == 0, mode)
                results[name].append(figures["per_s"])
                print(f"{name:<14} {number + 1:>3} {figures['per_s']:>11.1f} {figures['statements']:>14.1f}"
                      f" {figures['commits']:>16.1f} {figures['jobs']:>13.2f} {figures['posting']:>14.0%}")
        for name, rates in results.items():
            rates.sort()
            print(f"{name:<14} bookings/s min/median/max {rates[0]:.1f} / {rates[len(rates) // 2]:.1f} / {rates[-1]:.1f}"
                  f"  (goal 40)")


if __name__ == "__main__":
    main()
