"""Benchmark: "sync all products" of an N-product Shopify sandbox store through the real HTTP client.

What it does, on a scratch database:

1. Builds the schema (the migrations) and the kit's shop (warehouse MAIN, branch RUH, client
   Walk-in, MUG-01), serves the Shopify sandbox (:class:`plugins.shopify.sandbox.ShopifySandbox`,
   its GraphQL rate limit raised with ``--rate-limit`` so the store's throttle does not hide the
   ERP's cost) holding ``-n`` one-variant products, each with a cost, a quantity and one of 20
   collections, and connects and activates a store of it (:func:`core.testing.kit.pytest_plugin.connect`).
2. Runs the sync job (``core.integration.product_sync.sync_products``) in this process, the first
   time (every product created, with its opening balance), then ``--again`` times more (every
   product found and updated). Jobs the sync queues (follow-ups such as stock pushes) are counted,
   not run.
3. Prints, per pass: seconds, products per second, SQL statements and commits per product (an
   engine listener: one ``execute``/``executemany`` is one statement), opening-balance documents,
   and jobs queued per catalog page (``PAGE_SIZE`` variants a page, the Shopify client's).

The baseline is the same script run against another checkout of the ERP: ``--baseline-root DIR``
runs this script again with ``DIR`` (e.g. an export of the main branch: ``git archive main | tar -x
-C DIR``) first on the import path, interleaved with this checkout (``--repeat`` rounds), and prints
both side by side with min/median/max and their ratio. The Shopify sandbox always comes from this
checkout (``--sandbox-root``), so both sides page the same store.

Run: ``python bench/product_sync.py [-n 10000] [--again 1] [--database-url URL] [--ports 5500-5599]
[--rate-limit 1000000] [--baseline-root DIR --repeat 3]``. The database defaults to a temporary
SQLite file; a PostgreSQL URL names the server, and the benchmark creates (and then drops) its own
database ``<name>_bench_<pid>`` there. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "RESULT "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="products in the store (default 10000)")
    parser.add_argument("--again", type=int, default=1, help="further syncs of the same catalog (updates)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (default: SQLite file)")
    parser.add_argument("--ports", default=None, help="port range to serve on, e.g. 5500-5599 (default: any)")
    parser.add_argument("--rate-limit", type=float, default=1_000_000.0,
                        help="the sandbox's GraphQL points per second (Shopify's own: 100)")
    parser.add_argument("--baseline-root", default=None, help="another checkout to compare with (see above)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds with --baseline-root")
    parser.add_argument("--sandbox-root", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--erp-root", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_root:
        compare(args)
        return
    result = run(args)
    if args.json:
        print(RESULT_PREFIX + json.dumps(result), flush=True)
    else:
        show({"this checkout": [result]})


# --- one run, in this process ---------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare, sync, measure; returns the figures of each pass."""
    sys.path.insert(0, args.erp_root)  # the ERP under test (another checkout when run as the baseline)
    from core.config import normalise_database_url
    from core.testing.sandbox import SandboxServer

    sandbox_class = _sandbox_class(Path(args.sandbox_root))
    database_url, drop = scratch_database(args.database_url)
    database_url = normalise_database_url(database_url)
    ports = _ports(args.ports)
    try:
        app = _app(database_url)
        sandbox = sandbox_class(rate_limit=args.rate_limit, bucket_size=max(1000, int(args.rate_limit)))
        _fill(sandbox, args.n)
        with SandboxServer(app, port=next(ports)) as erp, _Serving(sandbox, next(ports)) as store_url:
            app.config["PUBLIC_URL"] = erp.url
            store_id = _connect(app, sandbox, store_url)
            passes = [_sync(app, store_id, "first sync (created)")]
            passes += [_sync(app, store_id, f"sync again #{i + 1} (updated)") for i in range(args.again)]
        return {"n": args.n, "database": database_url.split(":", 1)[0], "passes": passes}
    finally:
        _dispose()
        drop()


class _Serving:
    """The sandbox served on ``port`` (0: any) in a background thread."""

    def __init__(self, sandbox: Any, port: int) -> None:
        self.server = sandbox.serve(port=port)

    def __enter__(self) -> str:
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def _sandbox_class(root: Path) -> Any:
    """The Shopify sandbox of ``root`` (this checkout's, also when the ERP under test is another)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_shopify_sandbox", root / "plugins/shopify/sandbox.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.ShopifySandbox


def _app(database_url: str) -> Any:
    from flask_migrate import upgrade

    from core import create_app
    from core.extensions import db

    app = create_app({"SECRET_KEY": os.urandom(16).hex(), "SQLALCHEMY_DATABASE_URI": database_url,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="mizan-bench-instance-"), "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="heads")
        from core.services.chart import seed_default_chart
        from core.services.transaction import atomic

        with atomic():
            seed_default_chart()
        db.session.remove()
    return app


def _fill(sandbox: Any, n: int) -> None:
    collections = [sandbox.add_collection(f"Collection {i}")["id"] for i in range(20)]
    for i in range(n):
        sandbox.add_product(f"SKU-{i:06d}", f"Product {i}", f"{10 + i % 90}.00", 1 + i % 7, None,
                            f"{5 + i % 40}.25", collections[i % len(collections)])


def _connect(app: Any, sandbox: Any, store_url: str) -> int:
    """Connect and activate a Shopify store of the served sandbox on the kit's shop; its id."""
    from core.extensions import db
    from core.integration import connections
    from core.plugins import registry
    from core.testing.kit.builders import seed_shop

    with app.app_context():
        ids = seed_shop()
        plugins = registry()
        plugins.install("shopify")
        plugins.enable("shopify")
        store, key = connections.create_store("shopify", "Bench store")
        connections.set_credentials(store.id, {"shop_domain": sandbox.shop, "access_token": sandbox.access_token,
                                               "client_secret": sandbox.client_secret, "api_base": store_url})
        connections.update_settings(store.id, {
            "default_client_id": ids.walk_in, "warehouse_id": ids.warehouse, "branch_id": ids.branch,
            "create_financial_invoice": True, "update_inventory": True,
        })
        connections.activate(store.id, key)
        store_id = store.id
        db.session.remove()
    return store_id


class _Recorder:
    """A job queue that counts the jobs queued instead of running them."""

    def __init__(self) -> None:
        self.jobs: list[str] = []

    def enqueue(self, job: str, args: tuple[Any, ...], retries: int, unique: str | None = None) -> None:
        self.jobs.append(job)


def _sync(app: Any, store_id: int, label: str) -> dict[str, Any]:
    """One "sync all products" run, measured."""
    from sqlalchemy import event, func, select

    from core.extensions import db
    from core.integration.product_sync import sync_products
    from core.models import InboundRequisition, ProductSyncRun

    try:
        from plugins.shopify.client import PAGE_SIZE
    except ImportError:  # pragma: no cover - an older checkout
        PAGE_SIZE = 50

    recorder = _Recorder()
    app.extensions["mizan.jobs"] = recorder
    with app.app_context():
        with db.session.begin():
            run = ProductSyncRun(store_id=store_id, status="queued", report=[])
            db.session.add(run)
        run_id = run.id
        documents_before = db.session.execute(select(func.count()).select_from(InboundRequisition)).scalar_one()
        db.session.remove()
    counts = {"statements": 0, "commits": 0}

    def statement(*_args: Any, **_kwargs: Any) -> None:
        counts["statements"] += 1

    def commit(*_args: Any, **_kwargs: Any) -> None:
        counts["commits"] += 1

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        started = time.perf_counter()
        try:
            sync_products(run_id)
        finally:
            seconds = time.perf_counter() - started
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", commit)
            db.session.remove()
    with app.app_context():
        done = db.session.get(ProductSyncRun, run_id)
        documents = db.session.execute(select(func.count()).select_from(InboundRequisition)).scalar_one()
        figures = {"status": done.status, "processed": done.processed, "created": done.created,
                   "updated": done.updated, "skipped": done.skipped, "failed": done.failed}
        db.session.remove()
    processed = max(figures["processed"], 1)
    pages = max(1, -(-processed // PAGE_SIZE))
    return {"label": label, **figures, "seconds": seconds, "products_per_second": processed / seconds,
            "statements_per_product": counts["statements"] / processed,
            "commits_per_product": counts["commits"] / processed, "pages": pages,
            "opening_documents": documents - documents_before, "jobs": len(recorder.jobs),
            "jobs_per_page": len(recorder.jobs) / pages}


def _dispose() -> None:
    try:
        from core.extensions import db

        db.engine.dispose()
    except Exception:  # noqa: BLE001 - no app context left: nothing to dispose
        pass


def _ports(spec: str | None):  # noqa: ANN202 - a generator of port numbers
    if not spec:
        while True:
            yield 0
    low, _, high = spec.partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        yield port
    raise SystemExit(f"no free port left in {spec}")


def scratch_database(url: str | None) -> tuple[str, Any]:
    """The database URL to use and a function that removes it afterwards."""
    if not url:
        folder = tempfile.mkdtemp(prefix="mizan-bench-")
        return "sqlite:///" + os.path.join(folder, "bench.sqlite"), lambda: None
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url.replace("postgres://", "postgresql://", 1))
    if not base.drivername.startswith("postgresql"):
        return url, lambda: None
    scratch = f"{base.database or 'postgres'}_bench_{os.getpid()}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)

    def execute(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql)

    execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    execute(f'CREATE DATABASE "{scratch}"')
    return base.set(database=scratch).render_as_string(hide_password=False), lambda: execute(
        f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


# --- this checkout against a baseline checkout, interleaved ---------------------------------------------


def compare(args: argparse.Namespace) -> None:
    sides = {"this checkout": ROOT, "baseline": Path(args.baseline_root).resolve()}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for round_ in range(args.repeat):
        for name, root in sides.items():
            command = [sys.executable, str(Path(__file__).resolve()), "--json", "-n", str(args.n),
                       "--again", str(args.again), "--rate-limit", str(args.rate_limit),
                       "--sandbox-root", str(ROOT), "--erp-root", str(root)]
            command += ["--database-url", args.database_url] if args.database_url else []
            command += ["--ports", args.ports] if args.ports else []
            env = {**os.environ, "PYTHONPATH": str(root)}  # the checkout's plugins and their entry points
            started = time.perf_counter()
            output = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=False)
            lines = [line for line in output.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
            if output.returncode or not lines:
                raise SystemExit(f"{name} failed:\n{output.stdout[-3000:]}\n{output.stderr[-3000:]}")
            results[name].append(json.loads(lines[-1][len(RESULT_PREFIX):]))
            print(f"round {round_ + 1} {name}: {time.perf_counter() - started:.0f} s "
                  f"(load {os.getloadavg()[0]:.2f}) {lines[-1]}", flush=True)
    show(results)


FIGURES = (("seconds", "{:.1f}"), ("products_per_second", "{:.0f}"), ("statements_per_product", "{:.2f}"),
           ("commits_per_product", "{:.3f}"), ("opening_documents", "{:.0f}"), ("jobs_per_page", "{:.2f}"))


def show(results: dict[str, list[dict[str, Any]]]) -> None:
    """Each pass's figures, min/median/max over the runs, side by side; the ratio to the baseline."""
    first = next(iter(results.values()))[0]
    print(f"\n{first['n']} products, {first['database']}, load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    for index, head in enumerate(first["passes"]):
        print(f"\n{head['label']}: " + ", ".join(
            f"{name}: {r[0]['passes'][index]['status']} {r[0]['passes'][index]['created']} created "
            f"{r[0]['passes'][index]['updated']} updated {r[0]['passes'][index]['failed']} failed"
            for name, r in results.items()))
        print(f"  {'figure':<24}" + "".join(f"{name + ' (min/med/max)':>34}" for name in results)
              + ("  ratio" if len(results) > 1 else ""))
        for key, style in FIGURES:
            cells, medians = [], []
            for runs in results.values():
                values = [run["passes"][index][key] for run in runs]
                medians.append(statistics.median(values))
                cells.append("/".join(style.format(v) for v in (min(values), medians[-1], max(values))))
            ratio = ""
            if len(medians) > 1 and medians[0]:
                ratio = f"  {medians[1] / medians[0]:.2f}x" if key == "seconds" else \
                    f"  {medians[0] / medians[1]:.2f}x" if key == "products_per_second" and medians[1] else ""
            print(f"  {key:<24}" + "".join(f"{cell:>34}" for cell in cells) + ratio)


if __name__ == "__main__":
    main()
