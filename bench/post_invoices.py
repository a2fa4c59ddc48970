"""Benchmark: invoices per second through the service layer vs. plain SQL, SQLite and PostgreSQL.

Each invoice has 3 lines, VAT and a shipping fee. The service path is
``core.services.invoices.post_invoice``; the floor is a plain DB-API script that
writes the same rows (sequence bump, stock-level lock and update, 3 movements,
a 7-line journal entry, the invoice and its 3 lines) in one transaction per
invoice. Run: ``python bench/post_invoices.py [-n 500] [--databases sqlite,postgresql]``.
"""
from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import psycopg

from core import create_app
from core.extensions import db
from core.models import Account, Branch, Client, Product, StockLevel, Warehouse
from core.services.chart import seed_default_chart
from core.services.company import company_settings
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.master_data import create_record
from core.services.pricing import PricedLine, compute_invoice_amounts
from core.services.transaction import atomic

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PRICES = (Decimal("35.00"), Decimal("45.00"), Decimal("25.00"))
SHIPPING = Decimal("25.00")


def prepare(url: str, n: int):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(),
                      "SECRET_KEY": secrets.token_hex(32)})
    with app.app_context():
        db.drop_all()
        db.create_all()
        with atomic():
            seed_default_chart()
            company_settings()
        ids = {
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
                lines=[InboundLineDraft(p, Decimal(4 * n + 10), Decimal("10.00")) for p in products],
            )
        )
        ids["products"] = products
    return app, ids


def run_service(app, ids, n: int) -> float:
    with app.app_context():
        start = time.perf_counter()
        for i in range(n):
            post_invoice(
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
        elapsed = time.perf_counter() - start
        db.session.remove()
    return n / elapsed


def run_plain_sql(app, ids, n: int) -> float:
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

    def sql(statement: str) -> str:
        return statement.replace("%s", "?") if sqlite else statement

    cursor = raw.cursor()
    start = time.perf_counter()
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
        for product in ids["products"]:
            cursor.execute(sql("SELECT quantity, value FROM stock_levels WHERE product_id = %s AND warehouse_id = %s" + lock), (product, ids["warehouse"]))
            on_hand, value = cursor.fetchone()
            on_hand, value = unscale(on_hand, 3), unscale(value)
            taken = (value * qty / on_hand).quantize(Decimal("0.01"))
            cost_total += taken
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
            "INSERT INTO sales_invoices (number, date, client_id, branch_id, warehouse_id, status, prices_include_vat, vat_rate, order_discount, shipping, lines_net, discount_net, shipping_net, vat_total, total, cost_total, journal_entry_id, created_at) "
            "VALUES (%s, CURRENT_DATE, %s, %s, %s, 'approved', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, CURRENT_TIMESTAMP) RETURNING id"),
            (number, ids["client"], ids["branch"], ids["warehouse"], True, scale(Decimal("0.15"), 4), scale(Decimal(0)), scale(SHIPPING),
             scale(amounts.lines_net), scale(amounts.discount_net), scale(amounts.shipping_net), scale(amounts.vat_total), scale(amounts.total), scale(cost_total), entry_id))
        invoice_id = cursor.fetchone()[0]
        for position, (product, price, line) in enumerate(zip(ids["products"], PRICES, amounts.lines, strict=True), 1):
            cursor.execute(sql(
                "INSERT INTO invoice_lines (invoice_id, position, product_id, quantity, unit_price, discount, order_discount_share, net_amount, discount_net, vat_amount, cost_amount) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"),
                (invoice_id, position, product, scale(qty, 3), scale(price), scale(Decimal(0)), scale(line.order_discount_share),
                 scale(line.net_amount), scale(line.discount_net), scale(line.vat_amount), scale(Decimal(0))))
        cursor.execute("COMMIT")
    elapsed = time.perf_counter() - start
    raw.close()
    return n / elapsed


def database_urls(names: list[str], workdir: Path) -> dict[str, str]:
    urls = {}
    if "sqlite" in names:
        urls["sqlite"] = f"sqlite:///{workdir / 'bench.sqlite'}"
    if "postgresql" in names:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute("DROP DATABASE IF EXISTS mizan_bench WITH (FORCE)")
            connection.execute("CREATE DATABASE mizan_bench")
        urls["postgresql"] = "postgresql://postgres@127.0.0.1:5432/mizan_bench"
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="invoices per run")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        urls = database_urls(args.databases.split(","), Path(workdir))
        print(f"{'database':<11} {'path':<14} {'invoices/s':>11}")
        for name, url in urls.items():
            app, ids = prepare(url, args.n)
            service = run_service(app, ids, args.n)
            plain = run_plain_sql(app, ids, args.n)
            with app.app_context():
                sold = db.session.execute(db.select(db.func.sum(StockLevel.quantity))).scalar()
                db.engine.dispose()
            print(f"{name:<11} {'service layer':<14} {service:>11.1f}")
            print(f"{name:<11} {'plain SQL':<14} {plain:>11.1f}   (service = {service / plain:.0%} of plain; stock left {sold})")


if __name__ == "__main__":
    main()
