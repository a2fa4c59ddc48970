"""A store order's fee lines on its page: named a store fee, not a line missing its SKU (O5, O6)."""
from __future__ import annotations

from decimal import Decimal

from core.extensions import db
from core.integration.products import STORE_FEE_CODE
from core.models import Product
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import order_payload, store_order


def test_the_order_page_names_a_fee_line_a_store_fee(app, dummy_shop, sign_in):
    """O6: the booked order's gift wrap shows as a store fee; its product line shows its SKU."""
    order = order_payload([("MUG-01", "1", "25.00")], number="#7001")
    order["lines"].append({"external_id": "fee-1", "kind": "fee", "name": "Gift wrap", "quantity": "1",
                           "unit_price": "10.00"})
    order["total"] = str(Decimal(order["total"]) + Decimal("11.50"))
    dummy_shop.deliver("order", order)
    record = store_order(app, dummy_shop.store_id, "#7001")
    assert record.state == "booked"
    page = sign_in("viewer").text(f"/sync/orders/{record.id}")
    lines = page[page.index('id="order-lines"'):page.index("</table>", page.index('id="order-lines"'))]
    assert "<td>MUG-01</td>" in lines and "<td>store fee</td><td>Gift wrap</td>" in lines
    assert "no SKU" not in lines


def test_an_order_held_by_a_stock_tracked_store_fee_product_advises_turning_tracking_off(app, dummy_shop, sign_in):
    """The held order's advice names the fix (stock tracking off), not receiving stock."""
    with app.app_context():
        db.session.add(Product(code=STORE_FEE_CODE, name="Fees", stock_tracked=True))
        db.session.commit()
    order = order_payload([("MUG-01", "1", "25.00")], number="#7002")
    order["lines"].append({"external_id": "fee-2", "kind": "fee", "name": "COD fee", "quantity": "1",
                           "unit_price": "4.00"})
    order["total"] = str(Decimal(order["total"]) + Decimal("4.60"))
    dummy_shop.deliver("order", order)
    record = store_order(app, dummy_shop.store_id, "#7002")
    assert record.state == "needs_attention"
    page = sign_in("viewer").text(f"/sync/orders/{record.id}")
    assert "turn its stock tracking off" in page and "Receive the missing quantity" not in page
