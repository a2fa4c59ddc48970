"""P4, O7, O8 when the catalog is synced a page at a time: one transaction, one opening balance and one
stock event per page, each product's opening still booked once, a failing product reported alone."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from core.extensions import db
from core.integration.connections import get_store
from core.integration.costs import update_store_cost
from core.integration.product_sync import start_product_sync, sync_products
from core.integration.products import opening_key
from core.models import (
    ExternalLink,
    InboundLine,
    InboundRequisition,
    OutboxEvent,
    Product,
    ProductSyncRun,
    StockLevel,
)
from core.platform.data import CostData, ProductData
from core.services.errors import DuplicateDocument
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.testing.dummy import DummyClient, DummyStore
from tests.builders import balance

D = Decimal
PAGE = 20


@pytest.fixture
def catalog(dummy_shop, monkeypatch):
    """The dummy store answers 20 products a page and holds 45 (3 pages), one without SKU."""
    monkeypatch.setattr(DummyClient, "page_size", PAGE)
    remote = DummyStore.named("shop-1")
    remote.products += [ProductData(f"p-{i}", f"NEW-{i:02d}", f"Product {i}", D("10"), cost=D("4.00"),
                                    quantity=D(i % 3)) for i in range(44)]
    remote.products.append(ProductData("p-none", None, "Gift card", D("50")))
    return remote


def sync(app, store_id: int) -> ProductSyncRun:
    with app.app_context():
        run_id = start_product_sync(store_id).id
        db.session.remove()
    with app.app_context():
        run = db.session.get(ProductSyncRun, run_id)
        db.session.expunge(run)
        return run


def scalar(statement):  # noqa: ANN001, ANN201
    return db.session.execute(statement).scalar_one()


def test_each_page_books_one_opening_balance_whose_lines_carry_each_products_key(app, dummy_shop, catalog):
    run = sync(app, dummy_shop.store_id)
    assert (run.status, run.created, run.updated, run.skipped, run.failed) == ("done", 44, 0, 1, 0)
    with app.app_context():
        openings = db.session.execute(
            select(InboundRequisition).where(InboundRequisition.kind == "opening_balance")).scalars().all()
        assert len(openings) == 3  # one per page (each page has new products with stock)
        lines = db.session.execute(select(InboundLine)).scalars().all()
        stocked = {p.id: p.code for p in db.session.execute(select(Product)).scalars() if p.code.startswith("NEW-")
                   and int(p.code[4:]) % 3}
        opening_lines = [line for line in lines if line.requisition_id in {o.id for o in openings}]
        assert sorted(line.product_id for line in opening_lines) == sorted(stocked)
        assert {line.external_key for line in opening_lines} == {
            opening_key(dummy_shop.store_id, product_id) for product_id in stocked}
        assert scalar(select(func.sum(StockLevel.quantity)).where(StockLevel.product_id.in_(stocked))) == \
            sum(D(int(code[4:]) % 3) for code in stocked.values())
        assert balance("inventory") == D("10") * D("7.5") + sum(D(int(c[4:]) % 3) * D("4") for c in stocked.values())


def test_a_page_records_one_stock_event_for_its_products(app, dummy_shop, catalog):
    """Follow-ups per page: each page's stock changes are one outbox event naming all its products."""
    with app.app_context():
        before = scalar(select(func.coalesce(func.max(OutboxEvent.id), 0)))
        db.session.remove()
    sync(app, dummy_shop.store_id)
    with app.app_context():
        events = db.session.execute(select(OutboxEvent).where(OutboxEvent.kind == "stock_changed",
                                                              OutboxEvent.id > before)).scalars().all()
        assert len(events) == 3
        assert sum(len(e.payload["pairs"]) for e in events) == len([i for i in range(44) if i % 3])


def test_syncing_again_books_no_second_opening_and_changes_what_the_store_changed(app, dummy_shop, catalog):
    sync(app, dummy_shop.store_id)
    catalog.products[0] = ProductData("p-0", "NEW-00", "Renamed", D("12"), cost=D("4.00"), quantity=D("9"))
    run = sync(app, dummy_shop.store_id)
    assert (run.status, run.created, run.updated, run.skipped, run.failed) == ("done", 0, 44, 1, 0)
    with app.app_context():
        assert scalar(select(func.count()).select_from(InboundRequisition)
                      .where(InboundRequisition.kind == "opening_balance")) == 3
        product = db.session.execute(select(Product).where(Product.code == "NEW-00")).scalar_one()
        assert (product.name, product.sale_price) == ("Renamed", D("12.00"))
        assert scalar(select(func.count()).select_from(ExternalLink).where(ExternalLink.kind == "product")) == 44


def test_a_products_opening_key_on_a_line_is_unique_in_the_database(app, dummy_shop, catalog):
    """O8: a second opening of a product synced in a page is refused, naming the page's document."""
    sync(app, dummy_shop.store_id)
    with app.app_context():
        product = db.session.execute(select(Product).where(Product.code == "NEW-01")).scalar_one()
        key = opening_key(dummy_shop.store_id, product.id)
        number = scalar(select(InboundRequisition.number).join(InboundLine).where(InboundLine.external_key == key))
        with pytest.raises(DuplicateDocument, match=number):
            post_inbound(InboundDraft(warehouse_id=dummy_shop.ids.warehouse, kind="opening_balance",
                                      lines=[InboundLineDraft(product.id, D("5"), D("4"), external_key=key)]))


def test_a_product_that_fails_is_reported_alone_and_the_rest_of_its_page_syncs(app, dummy_shop, catalog):
    """P4: a negative cost cannot be booked; the page is synced again product by product."""
    catalog.products[3] = ProductData("p-3", "NEW-03", "Broken", D("10"), cost=D("-1"), quantity=D("2"))
    run = sync(app, dummy_shop.store_id)
    assert (run.status, run.created, run.failed, run.skipped) == ("done", 43, 1, 1)
    failed = [item for item in run.report if item["outcome"] == "failed"]
    assert [item["sku"] for item in failed] == ["NEW-03"]
    with app.app_context():
        assert scalar(select(func.count()).select_from(Product).where(Product.code.like("NEW-%"))) == 43


def test_an_sku_twice_in_a_page_makes_one_product(app, dummy_shop, catalog):
    catalog.products[1] = ProductData("p-1b", "NEW-00", "Same SKU, other variant", D("11"), cost=D("4.00"),
                                      quantity=D("5"))
    run = sync(app, dummy_shop.store_id)
    assert (run.created, run.updated, run.failed) == (43, 1, 0)
    with app.app_context():
        product = db.session.execute(select(Product).where(Product.code == "NEW-00")).scalar_one()
        assert product.name == "Same SKU, other variant"
        links = db.session.execute(select(ExternalLink.external_id).where(
            ExternalLink.kind == "product", ExternalLink.local_id == product.id)).scalars().all()
        assert links == ["p-0"]  # the first store product's link, as one by one


def test_the_stores_cost_revalues_stock_that_came_from_a_pages_opening(app, dummy_shop, catalog):
    """O7 with a page's opening: a later store cost revalues what is left of that opening."""
    sync(app, dummy_shop.store_id)
    with app.app_context():
        store = get_store(dummy_shop.store_id)
        result = update_store_cost(store, CostData(sku="NEW-02", cost=D("6.00")))
        assert (result.outcome, result.code) == ("updated", "cost_revalued")
        product = db.session.execute(select(Product).where(Product.code == "NEW-02")).scalar_one()
        assert db.session.get(StockLevel, (product.id, dummy_shop.ids.warehouse)).value == D("12.00")


class _Recorder:
    """A job queue that keeps the jobs queued instead of running them."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple]] = []

    def enqueue(self, job: str, args: tuple, retries: int, unique: str | None = None) -> None:
        self.jobs.append((job, args))


def test_a_page_takes_at_most_five_statements_per_product_and_queues_its_follow_ups_once(
        app, dummy_shop, catalog, monkeypatch):
    """Issue 12: lookups per page, writes in batches, one stock event per page, so one follow-up job
    per page (the dummy plugin's), not one per product; counted with the jobs kept, not run."""
    with app.app_context():
        db.session.add(run := ProductSyncRun(store_id=dummy_shop.store_id, status="queued", report=[]))
        db.session.commit()
        run_id, engine = run.id, db.engine
        db.session.remove()
    recorder = _Recorder()
    monkeypatch.setitem(app.extensions, "mizan.jobs", recorder)
    statements = []
    listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with app.app_context():
            sync_products(run_id)
            db.session.remove()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    with app.app_context():
        assert db.session.get(ProductSyncRun, run_id).created == 44
    assert len(statements) / 45 <= 5
    assert [job for job, _ in recorder.jobs] == ["core.integration.outbox.deliver"] * 3
