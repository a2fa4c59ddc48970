"""The Shopify plugin against the platform conformance suite, with deliveries from the Shopify sandbox."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from core.testing.conformance import PlatformConformance, SignedDelivery
from plugins.shopify import ShopifyPlugin
from plugins.shopify.client import ShopifyClient
from plugins.shopify.sandbox import ShopifySandbox
from plugins.shopify.webhooks import SIGNATURE_HEADER


class TestShopifyConformance(PlatformConformance):
    signature_header = SIGNATURE_HEADER

    @pytest.fixture
    def plugin(self) -> ShopifyPlugin:
        return ShopifyPlugin()

    @pytest.fixture
    def credentials(self, creds: dict[str, Any]) -> dict[str, Any]:
        return creds

    @pytest.fixture
    def signed_delivery(self, shop: ShopifySandbox) -> SignedDelivery:
        serial = itertools.count(1)

        def make(kind: str) -> tuple[dict[str, str], bytes]:
            if kind == "product":
                body, headers = shop.build_delivery(
                    "products/create", shop.add_product(f"CONF-{next(serial)}", "Conformance tea", "12.50", 3))
            elif kind == "order_created":
                body, headers = shop.build_delivery("orders/create", shop.create_order([("COF-250", 1)], send=False))
            elif kind == "order_completed":
                order = shop.create_order([("MUG-01", 2)], paid=True, send=False)
                body, headers = shop.build_delivery("orders/paid", order)
            elif kind == "refund":
                order = shop.create_order([("DATE-1KG", 1)], paid=True, send=False)
                body, headers = shop.build_delivery("refunds/create", shop.refund(order["id"], send=False))
            else:
                raise ValueError(kind)
            return headers, body

        return make

    @pytest.fixture
    def sandbox_client(self, client: ShopifyClient) -> ShopifyClient:
        return client

    @pytest.fixture
    def sandbox_stock(self, shop: ShopifySandbox) -> Callable[[str], Any]:
        return lambda sku: shop.available(sku, shop.location_ids[0])

    @pytest.fixture
    def throttle_next(self, shop: ShopifySandbox) -> Callable[[int], None]:
        return shop.bucket.throttle_next
