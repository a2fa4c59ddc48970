"""Store costs of products: the purchase price, and the stock the store's opening balance valued (P1, O7, O11)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from core.integration.products import ProductOutcome, product_id_for_sku, store_opening_numbers
from core.integration.synclog import log_event
from core.models import ExternalLink, Product, StockMovement, StoreConnection
from core.money import ZERO, money
from core.platform.base import StoreAPI
from core.platform.data import CostData
from core.services.revaluation import revalue_stock
from core.services.stock import lock_levels
from core.services.transaction import atomic


def update_store_cost(store: StoreConnection, data: CostData, *, delivery_id: int | None = None,
                      api: StoreAPI | None = None) -> ProductOutcome:
    """The store's new unit cost of a product becomes the ERP product's purchase price (P1).

    The cost applied is the one the store's API (``api``) gives for the product now, when it can
    say, so a late or repeated event never brings back an older cost (O11); a store that cannot be
    reached raises (the delivery is retried). The product is the one linked with the cost's
    ``stock_ref``, else the one with its SKU. When the product's stock in the store's warehouse
    came only from the store's opening balance (O7), what is left of it is revalued at the new cost in the same transaction (inventory against
    opening balance equity): the store's cost corrects the value it gave that stock, so the next
    sale's cost of goods sold uses it. Stock the ERP received otherwise keeps its own cost (O8).
    """
    product_id = _product_for_stock_ref(store.id, data.stock_ref)
    if product_id is None and data.sku:
        product_id = product_id_for_sku(data.sku)
    cost = money(_current_cost(data, api))
    if product_id is None:
        result = ProductOutcome("skipped", code="cost_unknown_product",
                                params={"cost": str(cost), "ref": data.sku or str(data.stock_ref)})
    else:
        with atomic():
            product = db.session.get(Product, product_id)
            product.purchase_price = cost
            change = ZERO
            warehouse_id = store.settings.get("warehouse_id")
            if warehouse_id:
                lock_levels({(product.id, int(warehouse_id))})  # no receipt slips in between the check and the revaluation
            if warehouse_id and _stock_from_store_opening(store, product, int(warehouse_id)):
                change = revalue_stock(product.id, int(warehouse_id), cost, branch_id=store.settings.get("branch_id"),
                                       memo=f"Cost of {product.code} from store {store.name}: {cost}")
        params = {"cost": str(cost), "change": f"{change:+}"}
        result = ProductOutcome("updated", product_id, code="cost_revalued" if change else "cost_set", params=params)
    with atomic():
        log_event(store.id, "product", "done" if result.outcome == "updated" else result.outcome,
                  external_id=data.sku or data.stock_ref, reason=result.reason, delivery_id=delivery_id)
    return result


def _current_cost(data: CostData, api: StoreAPI | None) -> Decimal:
    """The cost the store's API gives now for the product ``data`` names, else ``data``'s own."""
    if api is None or not data.sku:
        return data.cost
    found = api.fetch_product(data.sku)
    same = found is not None and found.sku == data.sku and (not data.stock_ref or found.stock_ref == data.stock_ref)
    return found.cost if same and found is not None and found.cost is not None else data.cost


def _product_for_stock_ref(store_id: int, stock_ref: str | None) -> int | None:
    if not stock_ref:
        return None
    return db.session.execute(
        select(ExternalLink.local_id).where(ExternalLink.store_id == store_id, ExternalLink.kind == "product",
                                            ExternalLink.stock_ref == stock_ref)
    ).scalars().first()


def _stock_from_store_opening(store: StoreConnection, product: Product, warehouse_id: int) -> bool:
    """Whether every receipt of ``product`` into the warehouse is the store's opening balance of it (O7)."""
    receipts = db.session.execute(
        select(StockMovement.source_number).where(
            StockMovement.product_id == product.id, StockMovement.warehouse_id == warehouse_id,
            StockMovement.kind.in_(("opening_balance", "inbound_requisition")))
    ).scalars().all()
    opening = store_opening_numbers(store.id, product)
    return len(opening) == 1 and receipts == opening
