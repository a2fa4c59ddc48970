"""A store order's fee lines on its page: named a store fee, not a line missing its SKU (O5, O6)."""
from __future__ import annotations

from decimal import Decimal

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
