"""The dashboard's tiles lead to the pages behind their numbers."""
from __future__ import annotations

import re


def test_the_needs_attention_tile_opens_the_orders_that_need_attention(web):
    viewer = web("viewer")
    tile = re.search(r'<a [^>]*id="tile-attention"[^>]*>', viewer.text("/"))
    assert tile, "the tile is a link"
    target = re.search(r'href="([^"]+)"', tile.group(0)).group(1)
    assert target == "/sync/attention"
    assert "need attention" in viewer.text(target).lower()
