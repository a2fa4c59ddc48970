"""The master data every kit rule test starts from, and reads of its outcomes (inside an app context)."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import func, select

from core.extensions import db
from core.models import Branch, Client, Product, StockLevel, Warehouse
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.master_data import create_record


def seed_shop() -> SimpleNamespace:
    """Warehouse MAIN holding MUG-01 (10 at 7.50, sold at 25), branch RUH, default client Walk-in; their ids."""
    warehouse = create_record(Warehouse, {"code": "MAIN", "name": "Warehouse MAIN"})
    branch = create_record(Branch, {"code": "RUH", "name": "Branch RUH"})
    walk_in = create_record(Client, {"name": "Walk-in"})
    mug = create_record(Product, {"code": "MUG-01", "name": "Product MUG-01", "sale_price": Decimal("25")})
    post_inbound(InboundDraft(warehouse_id=warehouse.id, lines=[InboundLineDraft(mug.id, Decimal("10"), Decimal("7.5"))]))
    return SimpleNamespace(warehouse=warehouse.id, branch=branch.id, walk_in=walk_in.id, mug=mug.id)


def count(model: type) -> int:
    """How many rows ``model``'s table holds."""
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def on_hand(product_id: int, warehouse_id: int) -> Decimal:
    """The quantity of a product on hand in a warehouse (0 when it never had stock)."""
    level = db.session.get(StockLevel, (product_id, warehouse_id))
    return level.quantity if level else Decimal(0)
