"""Benchmark: one page of an account's ledger through the service vs. the same page in hand-written SQL.

Builds (with bulk inserts) a database of ``-n`` journal lines, half of them on the cash account,
over three years of random dates; then times ``core.services.reports.ledger_page`` (the page the API
and the web ledger show: opening balance, period totals, 100 postings with the running balance)
against one hand-written SQL statement with a window function that reads the same page, interleaved,
for the first, a middle and the last page, with and without a period. "SQL page" reads what the page
shows (count, totals, opening balance, postings: two statements); "SQL rows" only the postings with
their running balance (one statement). Prints min/median/max ms, the ratios of the medians, the Python
memory peak of reading the last page and the growth of the process's peak RSS while paging.
Run: ``python bench/ledger.py [-n 1000000] [--database-url URL ...] [--runs 5] [--reuse]``.
"""
from __future__ import annotations

import argparse
import io
import multiprocessing
import random
import resource
import secrets
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from core import create_app
from core.extensions import db
from core.models import Account, JournalLine
from core.services.chart import account_by_key, seed_default_chart
from core.services.reports import ledger_page
from core.services.transaction import atomic

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/mizan_bench_ledger"
FIRST_DAY = date(2024, 1, 1)
DAYS = 3 * 365
CHUNK = 50_000
COUNTER_KEYS = ("sales", "bank", "receivable", "cogs")

PAGE_SQL = """
SELECT e.id, e.number, e.date, e.memo, e.source_type, e.source_number, l.id, l.debit, l.credit,
       {opening} SUM(l.debit - l.credit) OVER (ORDER BY e.date, e.id, l.id ROWS UNBOUNDED PRECEDING) AS running
FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
WHERE l.account_id = :account {period}
ORDER BY e.date, e.id, l.id
LIMIT :limit OFFSET :offset
"""
#: The page's figures: postings in the period, their debit and credit, the balance before it.
FIGURES_SQL = {
    False: "SELECT COUNT(*), SUM(debit), SUM(credit), 0 FROM journal_lines WHERE account_id = :account",
    True: """SELECT SUM(CASE WHEN e.date >= :date_from THEN 1 ELSE 0 END),
  SUM(CASE WHEN e.date >= :date_from THEN l.debit END), SUM(CASE WHEN e.date >= :date_from THEN l.credit END),
  SUM(CASE WHEN e.date < :date_from THEN l.debit - l.credit END)
FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
WHERE l.account_id = :account AND e.date <= :date_to""",
}
#: In a period the running balance starts from the balance before it.
OPENING_SQL = """(SELECT COALESCE(SUM(l0.debit - l0.credit), 0) FROM journal_lines l0
  JOIN journal_entries e0 ON e0.id = l0.entry_id WHERE l0.account_id = :account AND e0.date < :date_from) +"""


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it is missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = parsed.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            connection.execute(f'CREATE DATABASE "{parsed.database}"')


def make_app(url: str):  # noqa: ANN201
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(),
                       "SECRET_KEY": secrets.token_hex(32)})


def build(app: Any, n: int, reuse: bool) -> None:
    """``n`` journal lines in ``n // 2`` balanced two-line entries, one line of each on cash."""
    with app.app_context():
        if reuse:
            try:
                if db.session.execute(select(func.count()).select_from(JournalLine)).scalar_one() == n // 2 * 2:
                    return
            except Exception:  # noqa: BLE001 - no schema yet
                db.session.rollback()
        db.drop_all()
        db.create_all()
        with atomic():
            seed_default_chart()
        cash = account_by_key("cash").id
        counters = [account_by_key(key).id for key in COUNTER_KEYS]
        sqlite = db.engine.dialect.name == "sqlite"
        db.session.remove()
        raw = db.engine.raw_connection()
    rng = random.Random(12)
    entries = n // 2
    started = time.perf_counter()
    cursor = raw.cursor()
    for first in range(1, entries + 1, CHUNK):
        entry_rows, line_rows = [], []
        for entry_id in range(first, min(first + CHUNK, entries + 1)):
            day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
            cents = rng.randrange(100, 1_000_000)
            amount = cents if sqlite else Decimal(cents).scaleb(-2)
            cash_debit = entry_id % 3 != 0
            entry_rows.append((entry_id, f"BJE-{entry_id:08d}", day, f"bench {entry_id}", "manual", "2024-01-01 00:00:00"))
            line_rows.append((2 * entry_id - 1, entry_id, cash, amount if cash_debit else 0, 0 if cash_debit else amount))
            line_rows.append((2 * entry_id, entry_id, counters[entry_id % len(counters)],
                              0 if cash_debit else amount, amount if cash_debit else 0))
        if sqlite:
            cursor.executemany("INSERT INTO journal_entries (id, number, date, memo, source_type, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?)", [(*r[:2], r[2].isoformat(), *r[3:]) for r in entry_rows])
            cursor.executemany("INSERT INTO journal_lines (id, entry_id, account_id, debit, credit) VALUES (?, ?, ?, ?, ?)", line_rows)
        else:
            copy_rows(cursor, "journal_entries (id, number, date, memo, source_type, created_at)", entry_rows)
            copy_rows(cursor, "journal_lines (id, entry_id, account_id, debit, credit)", line_rows)
    if not sqlite:
        cursor.execute("SELECT setval('journal_entries_id_seq', %s), setval('journal_lines_id_seq', %s)", (entries, 2 * entries))
    raw.commit()
    cursor.execute("ANALYZE")
    raw.commit()
    raw.close()
    print(f"  built {2 * entries:,} journal lines in {time.perf_counter() - started:.1f} s")


def build_in_child(url: str, n: int, reuse: bool) -> None:
    """Build in a child process, so that this one's peak RSS measures only the reading."""
    build(make_app(url), n, reuse)


def copy_rows(cursor: Any, target: str, rows: list[tuple[Any, ...]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(str(v) for v in row) + "\n")
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def hand_written(app: Any, account_id: int, period: tuple[date, date] | None, figures: bool) -> Callable[[int, int], list[Any]]:
    """The page in hand-written SQL on a connection kept open (the floor).

    With ``figures``, what the page shows: one statement for the period's count, totals and
    opening balance, one for the postings with the running balance. Without, only the postings
    with the right running balance, in one statement (the opening balance as a subquery).
    """
    where = "AND e.date BETWEEN :date_from AND :date_to" if period else ""
    rows_only = text(PAGE_SQL.format(period=where, opening=OPENING_SQL if period else ""))
    page_rows = text(PAGE_SQL.format(period=where, opening=""))
    sums = text(FIGURES_SQL[bool(period)])
    with app.app_context():
        engine = db.engine
    connection = engine.connect()

    def page(limit: int, offset: int) -> list[Any]:
        params: dict[str, Any] = {"account": account_id, "limit": limit, "offset": offset}
        if period:
            params |= {"date_from": period[0], "date_to": period[1]}
        if figures:
            connection.execute(sums, params).one()
            rows = connection.execute(page_rows, params).all()
        else:
            rows = connection.execute(rows_only, params).all()
        connection.rollback()
        return rows

    return page


def service(app: Any, account_id: int, period: tuple[date, date] | None) -> Callable[[int, int], list[Any]]:
    """The page through ``ledger_page`` in a request-like app context and session."""
    date_from, date_to = period or (None, None)

    def page(limit: int, offset: int) -> list[Any]:
        with app.app_context():
            account = db.session.get(Account, account_id)
            result = ledger_page(account, date_from, date_to, limit=limit, offset=offset)
            db.session.remove()
        return result.rows

    return page


def timed(call: Callable[[int, int], Any], limit: int, offset: int) -> float:
    start = time.perf_counter()
    call(limit, offset)
    return (time.perf_counter() - start) * 1000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spread(values: list[float]) -> str:
    return f"{min(values):8.1f} {statistics.median(values):8.1f} {max(values):8.1f}"


def bench(url: str, n: int, runs: int, per_page: int, reuse: bool) -> None:
    ensure_database(url)
    app = make_app(url)
    name = make_url(url).get_backend_name()
    print(f"{name}: {make_url(url).render_as_string(hide_password=True)}")
    builder = multiprocessing.get_context("fork").Process(target=build_in_child, args=(url, n, reuse))
    builder.start()
    builder.join()
    if builder.exitcode:
        raise SystemExit(f"building {name} failed")
    with app.app_context():
        cash = account_by_key("cash").id
        db.session.remove()
    print(f"  {'page':<28} {'path':<13} {'min':>8} {'median':>8} {'max':>8} ms   ratio to SQL page, SQL rows")
    periods: list[tuple[str, tuple[date, date] | None]] = [
        ("all dates", None), ("one year", (date(2025, 1, 1), date(2025, 12, 31))),
    ]
    rss_before = peak_rss_mb()
    for label, period in periods:
        with app.app_context():
            account = db.session.get(Account, cash)
            total = ledger_page(account, *(period or (None, None)), limit=0).count
            db.session.remove()
        last = (total - 1) // per_page * per_page
        floor, bare, ours = hand_written(app, cash, period, True), hand_written(app, cash, period, False), service(app, cash, period)
        sign = 1  # cash is debit-normal
        expected = [(r[6], Decimal(r[9]) / (100 if name == "sqlite" else 1)) for r in bare(per_page, last)]
        assert expected == [(r.line.id, sign * r.balance) for r in ours(per_page, last)], "pages differ"
        tracemalloc.start()
        ours(per_page, last)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"  {label}: {total:,} postings; Python memory peak reading the last page {traced:.1f} MB")
        for where, offset in (("first", 0), ("middle", last // per_page // 2 * per_page), ("last", last)):
            times: dict[str, list[float]] = {"rows": [], "page": [], "service": []}
            for _ in range(runs):
                times["rows"].append(timed(bare, per_page, offset))
                times["page"].append(timed(floor, per_page, offset))
                times["service"].append(timed(ours, per_page, offset))
            median = {key: statistics.median(values) for key, values in times.items()}
            page_label = f"{label}, {where} of {total // per_page + (total % per_page > 0)}"
            print(f"  {page_label:<28} {'SQL rows':<13} {spread(times['rows'])}")
            print(f"  {'':<28} {'SQL page':<13} {spread(times['page'])}")
            print(f"  {'':<28} {'ledger_page':<13} {spread(times['service'])}   "
                  f"{median['service'] / median['page']:5.2f}x page, {median['service'] / median['rows']:5.2f}x rows")
    print(f"  peak RSS {peak_rss_mb():.0f} MB, growth while paging {peak_rss_mb() - rss_before:+.0f} MB")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="journal lines to build")
    parser.add_argument("--database-url", action="append", dest="urls",
                        help=f"database to build and read (repeatable; default a temporary SQLite file and {DEFAULT_PG})")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per page")
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--reuse", action="store_true", help="keep a database that already has -n lines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        urls = args.urls or [f"sqlite:///{workdir}/ledger.sqlite", DEFAULT_PG]
        for url in urls:
            bench(url, args.n, args.runs, args.per_page, args.reuse)


if __name__ == "__main__":
    main()
