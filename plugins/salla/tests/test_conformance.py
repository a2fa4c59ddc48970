"""The Salla plugin against the platform conformance suite, with deliveries from the Salla sandbox."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.testing.conformance import PlatformConformance, SignedDelivery
from core.testing.sandbox import SandboxServer
from plugins.salla import SallaPlugin
from plugins.salla.client import SallaClient
from plugins.salla.sandbox import API_PREFIX, SallaSandbox
from plugins.salla.tests import MERCHANT, SECRET, TOKEN
from plugins.salla.webhooks import SIGNATURE_HEADER


class TestSallaConformance(PlatformConformance):
    signature_header = SIGNATURE_HEADER

    @pytest.fixture
    def plugin(self) -> SallaPlugin:
        return SallaPlugin()

    @pytest.fixture
    def credentials(self, served: SandboxServer) -> dict[str, Any]:
        return {"access_token": TOKEN, "webhook_secret": SECRET, "store_ref": str(MERCHANT),
                "api_base": served.url + API_PREFIX}

    @pytest.fixture
    def signed_delivery(self, store: SallaSandbox) -> SignedDelivery:
        def make(kind: str) -> tuple[dict[str, str], bytes]:
            if kind == "product":
                product_id = next(p.id for p in store.products.values() if p.sku)
                body, headers = store.build_delivery("product.updated", store.product_json(product_id))
            elif kind == "order_created":
                body, headers = store.build_delivery("order.created", store.create_order([("COF-250", 1)], send=False))
            elif kind == "order_completed":
                order = store.create_order([("MUG-01", 2)], status="completed", send=False)
                body, headers = store.build_delivery("order.updated", order)
            elif kind == "refund":
                order = store.create_order([("DATE-1KG", 1)], status="completed", send=False)
                body, headers = store.build_delivery("order.refunded", store.refund_order(order["id"], send=False))
            else:
                raise ValueError(kind)
            return headers, body

        return make

    @pytest.fixture
    def sandbox_client(self, client: SallaClient) -> SallaClient:
        return client

    @pytest.fixture
    def sandbox_stock(self, store: SallaSandbox) -> Callable[[str], Any]:
        return store.quantity

    @pytest.fixture
    def throttle_next(self, store: SallaSandbox) -> Callable[[int], None]:
        return store.bucket.throttle_next
