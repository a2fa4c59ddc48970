"""A foreign-currency order held on the pages (O5): its reason and advice, in English and Arabic."""
from __future__ import annotations

from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)
from tests.web.integration_fixtures import order_payload, store_order


def test_a_foreign_currency_order_shows_why_it_is_held_and_what_to_do_in_both_languages(app, dummy_shop, sign_in):
    """O5: the needs-attention list and the order page name both currencies and say what to do; in Arabic too."""
    payload = order_payload([("MUG-01", "1", "6.00")], number="K-9", external_id="8109")
    payload["currency"] = "KWD"
    dummy_shop.deliver("order", payload)
    record = store_order(app, dummy_shop.store_id, "K-9")
    assert record.state == "needs_attention"

    viewer = sign_in("viewer")
    page = viewer.text("/sync/attention")
    row = page[page.index(f'id="order-{record.id}"'):]
    assert "the order is in KWD, not the company's currency SAR" in row
    assert "record this order by hand" in row
    assert "the order is in KWD" in viewer.text(f"/sync/orders/{record.id}")

    assert viewer.post("/language/ar", {"next": "/"}).status_code == 302
    arabic = viewer.text(f"/sync/orders/{record.id}")
    assert "الطلب بعملة KWD، لا بعملة الشركة SAR" in arabic
    assert "سجّل هذا الطلب يدويًا" in arabic
    listed = viewer.text("/sync/attention")
    assert "الطلب بعملة KWD" in listed[listed.index(f'id="order-{record.id}"'):]
