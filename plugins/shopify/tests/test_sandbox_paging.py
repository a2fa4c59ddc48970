"""The Shopify sandbox pages a large catalog in linear time: only the page's nodes are built (issue 12)."""
from __future__ import annotations

from plugins.shopify.sandbox import ShopifySandbox


def test_a_catalog_page_builds_only_its_own_nodes_and_the_pages_cover_the_catalog_once(monkeypatch):
    sandbox = ShopifySandbox()
    collection = sandbox.add_collection("All")["id"]
    for i in range(300):
        sandbox.add_product(f"SKU-{i:03d}", f"Product {i}", "10.00", 1, cost="4.00", collection_id=collection)
    built = []
    node = sandbox._variant_node
    monkeypatch.setattr(sandbox, "_variant_node", lambda variant: built.append(variant["id"]) or node(variant))

    seen, cursor, pages = [], None, 0
    while True:
        page = sandbox._q_variants({"first": 50, "after": cursor})
        pages += 1
        assert len(built) == len(page["nodes"]) <= 50  # nothing built beyond the page
        built.clear()
        seen += [n["sku"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert pages == 6 and seen == [f"SKU-{i:03d}" for i in range(300)]
    first = sandbox._q_variants({"first": 1})["nodes"][0]
    assert first["product"]["collections"]["nodes"][0]["productsCount"] == {"count": 300}
