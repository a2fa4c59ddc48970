"""Store products in the ERP: create with an opening balance (O7–O8), update master data (P1, P3)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.data import OrderLineData, ProductData
from core.integration.links import link, linked_id, store_link_for
from core.models import ExternalLink, Product, StoreConnection
from core.money import ZERO, money
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.transaction import atomic


@dataclass(frozen=True)
class ProductOutcome:
    """What a product sync did: ``created``, ``updated`` or ``skipped`` (with the reason)."""

    outcome: str
    product_id: int | None = None
    reason: str | None = None


def product_id_for_sku(sku: str) -> int | None:
    return db.session.execute(select(Product.id).where(Product.code == sku)).scalar_one_or_none()


def create_from_store(store: StoreConnection, data: ProductData, opening_quantity: Decimal) -> int:
    """Create the product, link it, and bring ``opening_quantity`` into the store's warehouse (O7).

    Idempotent on the product code: when another worker created it first, its id is returned
    and no second opening balance is posted.
    """
    assert data.sku
    try:
        with atomic():
            product = Product(
                code=data.sku,
                name=data.name[:300],
                barcode=data.barcode if data.barcode and not _barcode_taken(data.barcode) else None,
                sale_price=money(data.price),
                purchase_price=money(data.cost or ZERO),
                category_id=_category_id(store, data),
            )
            db.session.add(product)
            db.session.flush()
            link(store.id, "product", data.external_id, product.id, data.stock_ref)
            product_id = product.id
    except IntegrityError:
        found = product_id_for_sku(data.sku)
        if found is None:
            raise
        return found
    if opening_quantity > 0 and store.settings.get("warehouse_id"):
        post_inbound(
            InboundDraft(
                warehouse_id=int(store.settings["warehouse_id"]),
                kind="opening_balance",
                branch_id=store.settings.get("branch_id"),
                lines=[InboundLineDraft(product_id, opening_quantity, money(data.cost or ZERO))],
                memo=f"Opening balance from store {store.name}",
                reference=data.sku,
                external_key=f"store:{store.id}:opening:{data.sku}",
            )
        )
    return product_id


def from_order_line(line: OrderLineData) -> ProductData:
    """Product data built from an order line, when the store API cannot say more."""
    return ProductData(
        external_id=line.product_external_id or f"sku:{line.sku}",
        sku=line.sku,
        name=line.name,
        price=line.unit_price,
    )


def upsert_from_store(store: StoreConnection, data: ProductData) -> ProductOutcome:
    """Create or update the ERP product from the store's data (P1); no SKU → skipped (P3)."""
    if not data.sku:
        return ProductOutcome("skipped", reason=f"store product {data.external_id} ({data.name}) has no SKU")
    product_id = product_id_for_sku(data.sku)
    if product_id is None:
        quantity = data.quantity if data.quantity is not None and data.quantity > 0 else ZERO
        return ProductOutcome("created", create_from_store(store, data, quantity))
    with atomic():
        product = db.session.get(Product, product_id)
        product.name = data.name[:300]
        product.sale_price = money(data.price)
        if data.cost is not None:
            product.purchase_price = money(data.cost)
        if data.barcode and data.barcode != product.barcode and not _barcode_taken(data.barcode):
            product.barcode = data.barcode
        category_id = _category_id(store, data)
        if category_id is not None:
            product.category_id = category_id
        existing = store_link_for(store.id, "product", product_id)
        if existing is None and linked_id(store.id, "product", data.external_id) is None:
            link(store.id, "product", data.external_id, product_id, data.stock_ref)
        elif existing is not None and data.stock_ref and existing.stock_ref != data.stock_ref:
            existing.stock_ref = data.stock_ref
    return ProductOutcome("updated", product_id)


def _barcode_taken(barcode: str) -> bool:
    return db.session.execute(select(Product.id).where(Product.barcode == barcode)).first() is not None


def _category_id(store: StoreConnection, data: ProductData) -> int | None:
    for external_id in data.category_external_ids:
        found = linked_id(store.id, "category", external_id)
        if found is not None:
            return found
    return None


def stock_ref(store_id: int, product_id: int) -> ExternalLink | None:
    return store_link_for(store_id, "product", product_id)
