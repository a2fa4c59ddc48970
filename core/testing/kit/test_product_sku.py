"""P1 when the merchant edits a SKU in the store: the store product is matched by its link first, then
by SKU; the ERP product's code follows the new SKU, or the product is held with a reason when another
ERP product has that SKU. Through each plugin whose driver edits SKUs and its sandbox store, over HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from core.integration.product_sync import start_product_sync
from core.models import (
    ExternalLink,
    InvoiceLine,
    Product,
    ProductSyncRun,
    SalesInvoice,
    SyncLogEntry,
    WebhookDelivery,
)
from core.services.master_data import create_record
from core.testing.kit.builders import count, on_hand


def sync_all(app, store_id: int) -> dict[str, Any]:
    """Run "sync all products" (in-process job against the sandbox's API) and return its report."""
    with app.app_context():
        run_id = start_product_sync(store_id).id
        db.session.remove()
    with app.app_context():
        run = db.session.get(ProductSyncRun, run_id)
        return {"status": run.status, "created": run.created, "updated": run.updated, "skipped": run.skipped,
                "failed": run.failed, "report": run.report}


def codes() -> list[str]:
    return sorted(db.session.execute(select(Product.code)).scalars())


def problems() -> list[tuple[str, str | None]]:
    """Failed sync-log entries and deliveries that were not processed: a clean sync has none."""
    failed = db.session.execute(select(SyncLogEntry).where(SyncLogEntry.status == "failed")).scalars()
    stuck = db.session.execute(select(WebhookDelivery).where(WebhookDelivery.status != "processed")).scalars()
    return [(e.kind, e.reason) for e in failed] + [(d.status, d.last_error) for d in stuck]


def booked_product_ids() -> list[int]:
    return list(db.session.execute(select(InvoiceLine.product_id).order_by(InvoiceLine.id)).scalars())


@pytest.mark.capability("sku_edits")
def test_an_sku_edited_in_the_store_renames_the_linked_erp_product(app, connected_store):
    """The product keeps its id, stock and link; its code becomes the new SKU; orders and stock pushes
    for the new SKU use it; a second sync all changes nothing."""
    driver, ids = connected_store.driver, connected_store.ids
    first = sync_all(app, connected_store.store_id)
    assert (first["status"], first["created"], first["failed"]) == ("done", 2, 0)
    with app.app_context():
        before = codes()
    assert before == ["COF-250", "DATE-1KG", "MUG-01"]

    driver.edit_sku("MUG-01", "MUG-02")

    with app.app_context():
        assert db.session.get(Product, ids.mug).code == "MUG-02"
        assert codes() == ["COF-250", "DATE-1KG", "MUG-02"]
        assert problems() == []
    order = driver.new_order([("MUG-02", 2)])
    driver.complete(order)
    driver.settle()
    with app.app_context():
        assert count(SalesInvoice) == 1 and booked_product_ids() == [ids.mug]
        assert on_hand(ids.mug, ids.warehouse) == Decimal("8")
    assert driver.store_quantity("MUG-02") == 8
    again = sync_all(app, connected_store.store_id)
    assert (again["status"], again["created"], again["failed"]) == ("done", 0, 0)
    assert [item["outcome"] for item in again["report"]] == ["skipped"]  # only the product without SKU (P3)
    with app.app_context():
        assert codes() == ["COF-250", "DATE-1KG", "MUG-02"]
        assert problems() == []


@pytest.mark.capability("sku_edits")
def test_an_sku_changed_to_one_another_erp_product_has_is_held_and_the_rest_syncs(app, connected_store):
    """No uniqueness error and no duplicate: the product is held as needs attention (sku_taken, with
    the old and new SKU and the other product); the other products sync; its orders book against
    the linked product and its stock goes to the same store product."""
    driver, ids = connected_store.driver, connected_store.ids
    with app.app_context():
        other = create_record(Product, {"code": "TEA-5", "name": "Product TEA-5", "sale_price": Decimal("30")})
        other_id = other.id
        db.session.remove()
    sync_all(app, connected_store.store_id)
    with app.app_context():
        dates = db.session.execute(select(Product).where(Product.code == "DATE-1KG")).scalar_one()
        dates_id, dates_name = dates.id, dates.name

    driver.edit_sku("DATE-1KG", "TEA-5")

    with app.app_context():
        assert db.session.get(Product, dates_id).code == "DATE-1KG"
        assert (db.session.get(Product, other_id).code, db.session.get(Product, other_id).name) == \
            ("TEA-5", "Product TEA-5")  # the other product is not overwritten with the store's data
        assert codes() == ["COF-250", "DATE-1KG", "MUG-01", "TEA-5"]
        held = db.session.execute(
            select(SyncLogEntry).where(SyncLogEntry.kind == "product", SyncLogEntry.status == "needs_attention")
        ).scalar_one()
        assert "DATE-1KG" in held.reason and "TEA-5" in held.reason
        assert problems() == []

    driver.edit_sku("MUG-01", "MUG-02", send=False)  # a lost webhook: sync all brings it
    run = sync_all(app, connected_store.store_id)
    assert (run["status"], run["created"], run["failed"]) == ("done", 0, 0)
    [hold] = [item for item in run["report"] if item["outcome"] == "needs_attention"]
    assert hold["code"] == "sku_taken" and hold["sku"] == "TEA-5"
    assert hold["params"] == {"old": "DATE-1KG", "new": "TEA-5", "name": dates_name, "product": "Product TEA-5"}
    with app.app_context():
        assert codes() == ["COF-250", "DATE-1KG", "MUG-02", "TEA-5"]
        assert db.session.get(Product, ids.mug).code == "MUG-02"
        assert problems() == []

    driver.set_store_quantity("TEA-5", 500)  # only a push to this store product brings it back to the ERP's
    order = driver.new_order([("TEA-5", 1)])
    driver.complete(order)
    driver.settle()
    with app.app_context():
        assert count(SalesInvoice) == 1 and booked_product_ids() == [dates_id]
        assert on_hand(other_id, ids.warehouse) == Decimal("0")
        left = on_hand(dates_id, ids.warehouse)
        assert problems() == []
    assert driver.store_quantity("TEA-5") == int(left)


@pytest.mark.capability("sku_edits")
def test_an_order_with_the_new_sku_books_against_the_linked_product_when_its_update_was_lost(app, connected_store):
    """The order comes first: the store's product data says it is the linked product, renamed."""
    driver, ids = connected_store.driver, connected_store.ids
    sync_all(app, connected_store.store_id)
    driver.edit_sku("MUG-01", "MUG-02", send=False)
    order = driver.new_order([("MUG-02", 1)])
    driver.complete(order)
    driver.settle()
    with app.app_context():
        assert count(SalesInvoice) == 1 and booked_product_ids() == [ids.mug]
        assert codes() == ["COF-250", "DATE-1KG", "MUG-02"]
        assert problems() == []


@pytest.mark.capability("sku_edits")
def test_a_product_first_met_in_an_order_follows_its_sku_edit(app, connected_store):
    """An ERP product matched by SKU in an order is linked to the store product, so a later SKU edit
    renames it instead of creating a second product."""
    driver, ids = connected_store.driver, connected_store.ids
    order = driver.new_order([("MUG-01", 1)])
    driver.complete(order)
    driver.settle()
    with app.app_context():
        assert count(ExternalLink) > 0 and codes() == ["MUG-01"]

    driver.edit_sku("MUG-01", "MUG-02")

    with app.app_context():
        assert codes() == ["MUG-02"] and db.session.get(Product, ids.mug).code == "MUG-02"
        assert problems() == []


@pytest.mark.capability("sku_edits")
def test_an_order_with_the_new_sku_books_against_the_linked_product_when_the_store_cannot_confirm(
    app, connected_store
):
    """The update was lost and the store's API refuses (429) when asked: the line's store product is
    still linked, so the order books against it; no second ERP product is made with the new SKU."""
    driver, ids = connected_store.driver, connected_store.ids
    sync_all(app, connected_store.store_id)
    driver.edit_sku("MUG-01", "MUG-02", send=False)
    order = driver.new_order([("MUG-02", 1)])
    # the booking's call about the product answers 429 (a driver whose deliveries are references, fetched
    # by id, throttles only product calls: the order itself must still be fetched)
    getattr(driver, "throttle_product_lookups", driver.throttle_next)(1)
    driver.complete(order)
    driver.settle()
    with app.app_context():
        assert count(SalesInvoice) == 1 and booked_product_ids() == [ids.mug]
        assert count(Product) == 3 and "MUG-02" not in codes()  # renamed later, by the update or a sync
