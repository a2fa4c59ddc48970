"""Benchmark: invoices per second through the service layer vs. plain SQL, SQLite and PostgreSQL.

Each invoice has 3 lines, VAT and a shipping fee. The service path is
``core.services.invoices.post_invoice``; the floor is a plain DB-API script that
writes the same rows (sequence bumps, stock-level lock and update, 3 movements,
a 6-line journal entry, the invoice and its 3 lines, the stock_changed outbox row)
in one transaction per invoice. Service and floor runs are interleaved for
``--rounds`` rounds; the ratio service / floor of each round is printed with its
min/median/max, with statements and CPU milliseconds per invoice.

Run: ``python bench/post_invoices.py [-n 300] [--rounds 3] [--databases sqlite,postgresql]
[--database-url URL ...] [--pg-admin-url URL] [--pg-database NAME]``.
A ``--database-url`` is emptied and reused (its tables are dropped and created).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event

from core import create_app
from core.extensions import db
from core.models import Account, Branch, Client, Product, StockLevel, Warehouse
from core.services import domain_events
from core.services.chart import seed_default_chart
from core.services.company import company_settings
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.master_data import create_record
from core.services.pricing import PricedLine, compute_invoice_amounts
from core.services.returns import ReturnDraft, ReturnLineDraft, post_return
from core.services.transaction import atomic

PRICES = (Decimal("35.00"), Decimal("45.00"), Decimal("25.00"))
SHIPPING = Decimal("25.00")


class Counter:
    """Statements sent to the database through an engine (``before_cursor_execute``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


def prepare(url: str, stock: int, dispatch: bool = False) -> tuple[Any, dict[str, Any], Counter]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(),
                      "SECRET_KEY": secrets.token_hex(32)})
    if not dispatch:
        # Posting alone: the integration's after-commit outbox dispatcher (which queues plugin
        # jobs in transactions of its own) is measured only with --dispatch.
        app.extensions[domain_events.LISTENERS] = []
    counter = Counter()
    with app.app_context():
        db.drop_all()
        db.create_all()
        with atomic():
            seed_default_chart()
            company_settings()
        ids: dict[str, Any] = {
            "warehouse": create_record(Warehouse, {"code": "W", "name": "W"}).id,
            "branch": create_record(Branch, {"code": "B", "name": "B"}).id,
            "client": create_record(Client, {"name": "C"}).id,
        }
        products = [
            create_record(Product, {"code": f"P{i}", "name": f"P{i}", "sale_price": price}).id
            for i, price in enumerate(PRICES)
        ]
        post_inbound(
            InboundDraft(
                warehouse_id=ids["warehouse"],
                lines=[InboundLineDraft(p, Decimal(stock), Decimal("10.00")) for p in products],
            )
        )
        ids["products"] = products
        event.listen(db.engine, "before_cursor_execute", counter)
    return app, ids, counter


def timed(run: Callable[[], None], n: int, statements: Callable[[], int]) -> dict[str, float]:
    before = statements()
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"per_s": n / wall, "cpu_ms": 1000 * cpu / n, "statements": (statements() - before) / n}


def run_service(app: Any, ids: dict[str, Any], n: int, counter: Counter) -> tuple[dict[str, float], list[int]]:
    invoice_ids: list[int] = []

    def run() -> None:
        for i in range(n):
            invoice = post_invoice(
                InvoiceDraft(
                    client_id=ids["client"],
                    branch_id=ids["branch"],
                    warehouse_id=ids["warehouse"],
                    status="approved",
                    prices_include_vat=True,
                    shipping=SHIPPING,
                    lines=[
                        InvoiceLineDraft(p, Decimal(1 + i % 2), price)
                        for p, price in zip(ids["products"], PRICES, strict=True)
                    ],
                )
            )
            invoice_ids.append(db.inspect(invoice).identity[0])

    with app.app_context():
        figures = timed(run, n, lambda: counter.count)
        db.session.remove()
    return figures, invoice_ids


def run_returns(app: Any, invoice_ids: list[int], counter: Counter) -> dict[str, float]:
    """Return the first line of each invoice in full (restocked), one transaction each."""
    with app.app_context():
        from core.models import InvoiceLine

        first_lines = dict(
            db.session.execute(
                db.select(InvoiceLine.invoice_id, InvoiceLine.id)
                .where(InvoiceLine.invoice_id.in_(invoice_ids), InvoiceLine.position == 1)
            ).all()
        )
        quantities = dict(
            db.session.execute(db.select(InvoiceLine.id, InvoiceLine.quantity).where(InvoiceLine.id.in_(first_lines.values()))).all()
        )
        db.session.remove()

        def run() -> None:
            for invoice_id in invoice_ids:
                line = first_lines[invoice_id]
                post_return(ReturnDraft(invoice_id=invoice_id, lines=[ReturnLineDraft(line, quantities[line])]))

        figures = timed(run, len(invoice_ids), lambda: counter.count)
        db.session.remove()
    return figures


class CountingCursor:
    """A DB-API cursor that counts ``execute`` calls."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.count = 0

    def execute(self, *args: Any) -> Any:
        self.count += 1
        return self.cursor.execute(*args)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()


def run_plain_sql(app: Any, ids: dict[str, Any], n: int) -> dict[str, float]:
    """The same rows written with hand-written SQL, one transaction per invoice."""
    with app.app_context():
        accounts = dict(db.session.execute(db.select(Account.key, Account.id)).all())
        dialect = db.engine.dialect.name
        db.session.remove()
        raw = db.engine.raw_connection()
    sqlite = dialect == "sqlite"
    scale = (lambda v, places=2: int(v * 10**places)) if sqlite else (lambda v, places=2: v)
    unscale = (lambda v, places=2: Decimal(v) / 10**places) if sqlite else (lambda v, places=2: Decimal(v))
    lock = "" if sqlite else " FOR UPDATE"
    names = {p: f"P{i}" for i, p in enumerate(ids["products"])}
    outbox_payload = json.dumps({"pairs": [[p, ids["warehouse"]] for p in sorted(ids["products"])]})

    def sql(statement: str) -> str:
        return statement.replace("%s", "?") if sqlite else statement

    cursor = CountingCursor(raw.cursor())

    def run() -> None:
        for i in range(n):
            qty = Decimal(1 + i % 2)
            amounts = compute_invoice_amounts(
                [PricedLine(qty, price) for price in PRICES],
                vat_rate=Decimal("0.15"), prices_include_vat=True, shipping=SHIPPING,
            )
            cursor.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
            cursor.execute(sql("UPDATE sequences SET last_value = last_value + 1 WHERE name = %s RETURNING last_value"), ("bench_inv",))
            row = cursor.fetchone()
            if row is None:
                cursor.execute(sql("INSERT INTO sequences (name, prefix, last_value) VALUES (%s, %s, 1)"), ("bench_inv", "BINV"))
                row = (1,)
            number = f"BINV-{row[0]:06d}"
            cost_total = Decimal("0")
            costs = []
            for product in ids["products"]:
                cursor.execute(sql("SELECT quantity, value FROM stock_levels WHERE product_id = %s AND warehouse_id = %s" + lock), (product, ids["warehouse"]))
                on_hand, value = cursor.fetchone()
                on_hand, value = unscale(on_hand, 3), unscale(value)
                taken = (value * qty / on_hand).quantize(Decimal("0.01"))
                cost_total += taken
                costs.append(taken)
                cursor.execute(sql("UPDATE stock_levels SET quantity = %s, value = %s WHERE product_id = %s AND warehouse_id = %s"),
                               (scale(on_hand - qty, 3), scale(value - taken), product, ids["warehouse"]))
                cursor.execute(sql("INSERT INTO stock_movements (product_id, warehouse_id, quantity, unit_cost, value, kind, source_type, source_number, created_at) VALUES (%s, %s, %s, %s, %s, 'sale', 'bench', %s, CURRENT_TIMESTAMP)"),
                               (product, ids["warehouse"], scale(-qty, 3), scale(taken / qty, 4) if sqlite else (taken / qty).quantize(Decimal("0.0001")), scale(-taken), number))
            cursor.execute(sql("UPDATE sequences SET last_value = last_value + 1 WHERE name = %s RETURNING last_value"), ("journal_entry",))
            je_number = f"BJE-{cursor.fetchone()[0]:06d}"
            cursor.execute(sql("INSERT INTO journal_entries (number, date, memo, source_type, source_number, created_at) VALUES (%s, CURRENT_DATE, %s, 'bench', %s, CURRENT_TIMESTAMP) RETURNING id"), (je_number, number, number))
            entry_id = cursor.fetchone()[0]
            postings = [
                ("receivable", amounts.total, 0), ("sales", 0, amounts.lines_net + amounts.discount_net),
                ("shipping_income", 0, amounts.shipping_net), ("vat_output", 0, amounts.vat_total),
                ("cogs", cost_total, 0), ("inventory", 0, cost_total),
            ]
            for key, debit, credit in postings:
                cursor.execute(sql("INSERT INTO journal_lines (entry_id, account_id, debit, credit, branch_id) VALUES (%s, %s, %s, %s, %s)"),
                               (entry_id, accounts[key], scale(Decimal(debit)), scale(Decimal(credit)), ids["branch"]))
            cursor.execute(sql(
                "INSERT INTO sales_invoices (number, date, client_id, branch_id, warehouse_id, status, prices_include_vat, vat_rate, order_discount, shipping, lines_net, discount_net, shipping_net, vat_total, rounding, total, cost_total, journal_entry_id, created_at) "
                "VALUES (%s, CURRENT_DATE, %s, %s, %s, 'approved', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, CURRENT_TIMESTAMP) RETURNING id"),
                (number, ids["client"], ids["branch"], ids["warehouse"], True, scale(Decimal("0.15"), 4), scale(Decimal(0)), scale(SHIPPING),
                 scale(amounts.lines_net), scale(amounts.discount_net), scale(amounts.shipping_net), scale(amounts.vat_total), scale(Decimal(0)),
                 scale(amounts.total), scale(cost_total), entry_id))
            invoice_id = cursor.fetchone()[0]
            for position, (product, price, line, cost) in enumerate(zip(ids["products"], PRICES, amounts.lines, costs, strict=True), 1):
                cursor.execute(sql(
                    "INSERT INTO invoice_lines (invoice_id, position, product_id, description, quantity, unit_price, discount, order_discount_share, net_amount, discount_net, vat_amount, cost_amount) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"),
                    (invoice_id, position, product, names[product], scale(qty, 3), scale(price), scale(Decimal(0)), scale(line.order_discount_share),
                     scale(line.net_amount), scale(line.discount_net), scale(line.vat_amount), scale(cost)))
            cursor.execute(sql("INSERT INTO outbox_events (kind, payload, attempts, created_at) VALUES ('stock_changed', %s, 0, CURRENT_TIMESTAMP)"),
                           (outbox_payload,))
            cursor.execute("COMMIT")

    figures = timed(run, n, lambda: cursor.count)
    raw.close()
    return figures


def database_urls(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    urls: dict[str, str] = {}
    for url in args.database_url or []:
        urls["sqlite" if url.startswith("sqlite") else "postgresql"] = url
    names = args.databases.split(",")
    if "sqlite" in names and "sqlite" not in urls:
        urls["sqlite"] = f"sqlite:///{workdir / 'bench.sqlite'}"
    if "postgresql" in names and "postgresql" not in urls:
        with psycopg.connect(args.pg_admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{args.pg_database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{args.pg_database}"')
        base = args.pg_admin_url.rsplit("/", 1)[0]
        urls["postgresql"] = f"{base}/{args.pg_database}"
    return {name: urls[name] for name in ("sqlite", "postgresql") if name in urls and name in names}


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="invoices per run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved service/floor rounds")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--database-url", action="append", help="use this database (emptied); repeatable")
    parser.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--pg-database", default="mizan_bench_post", help="PostgreSQL database created for the run")
    parser.add_argument("--dispatch", action="store_true",
                        help="keep the after-commit outbox dispatcher running after each posting")
    parser.add_argument("--no-returns", action="store_true", help="skip timing return invoices")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as workdir:
        for name, url in database_urls(args, Path(workdir)).items():
            app, ids, counter = prepare(url, 4 * args.n * args.rounds + 10, args.dispatch)
            ratios, service_runs, floor_runs, return_runs = [], [], [], []
            for _ in range(args.rounds):
                service, invoice_ids = run_service(app, ids, args.n, counter)
                floor = run_plain_sql(app, ids, args.n)
                if not args.no_returns:
                    return_runs.append(run_returns(app, invoice_ids, counter))
                service_runs.append(service)
                floor_runs.append(floor)
                ratios.append(service["per_s"] / floor["per_s"])
            with app.app_context():
                left = db.session.execute(db.select(db.func.sum(StockLevel.quantity))).scalar()
                db.engine.dispose()
            dispatcher = "with" if args.dispatch else "without"
            print(f"\n{name}: {args.n} invoices x {args.rounds} interleaved rounds, {dispatcher} the after-commit"
                  f" outbox dispatcher (stock left {left})")
            print(f"  {'path':<16} {'invoices/s (min/med/max)':>26} {'statements':>11} {'CPU ms':>7}")
            for label, runs in (("service layer", service_runs), ("plain-SQL floor", floor_runs), ("returns (svc)", return_runs)):
                if runs:
                    print(f"  {label:<16} {spread([r['per_s'] for r in runs]):>26} {runs[0]['statements']:>11.1f}"
                          f" {statistics.median(r['cpu_ms'] for r in runs):>7.2f}")
            print(f"  ratio service / floor per round: {', '.join(f'{r:.2f}' for r in ratios)}"
                  f"  (min/median/max {spread(ratios)})")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
