"""The reference dummy plugin against the platform conformance suite; its sandbox is the in-memory DummyStore."""
from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from core.platform.data import CategoryData, ProductData
from core.platform.schemas import OrderSchema
from core.testing.conformance import PlatformConformance, SignedDelivery
from core.testing.dummy import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    DummyClient,
    DummyPlugin,
    DummyStore,
    sign,
)

SECRET = "dummy-conformance-secret"


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Replaces the suite-wide database fixture: the conformance suite needs no database."""


@pytest.fixture
def dummy_store() -> Iterator[DummyStore]:
    """A seeded in-memory store of its own (five products: three pages of two)."""
    store = DummyStore.named(f"conformance-{uuid.uuid4().hex[:8]}")
    store.categories.append(CategoryData("c1", "Coffee"))
    for number, (sku, price) in enumerate([("COF-250", "35.00"), ("DATE-1KG", "45.00"), ("MUG-01", "25.00"),
                                           ("TEA-100", "12.00"), (None, "10.00")], start=1):
        store.products.append(ProductData(f"p{number}", sku, f"Product {number}", Decimal(price),
                                          category_external_ids=["c1"]))
    yield store
    DummyStore.registry.pop(store.ref, None)


class TestDummyConformance(PlatformConformance):
    signature_header = SIGNATURE_HEADER

    @pytest.fixture
    def plugin(self) -> DummyPlugin:
        return DummyPlugin()

    @pytest.fixture
    def credentials(self, dummy_store: DummyStore) -> dict[str, Any]:
        return {"store_ref": dummy_store.ref, "secret": SECRET}

    @pytest.fixture
    def signed_delivery(self, dummy_store: DummyStore) -> SignedDelivery:
        serial = itertools.count(1001)

        def order(status: str) -> dict[str, Any]:
            number = str(next(serial))
            data = {"external_id": f"o{number}", "number": number, "status": status, "currency": "SAR",
                    "prices_include_vat": True, "total": "50.00",
                    "lines": [{"external_id": f"l{number}", "sku": "MUG-01", "name": "Ceramic mug",
                               "quantity": "2", "unit_price": "25.00"}]}
            dummy_store.orders[data["external_id"]] = OrderSchema().load(data)
            return data

        def make(kind: str) -> tuple[dict[str, str], bytes]:
            if kind in ("order_created", "order_completed"):
                envelope = {"event": "order", "data": order("completed" if kind == "order_completed" else "pending")}
            elif kind == "refund":
                paid = order("completed")
                envelope = {"event": "refund", "data": {"external_id": f"r{paid['number']}",
                                                        "order_external_id": paid["external_id"],
                                                        "whole_order": True}}
            elif kind == "product":
                envelope = {"event": "product", "data": {"external_id": "p1", "sku": "COF-250",
                                                         "name": "Arabic coffee 250 g", "price": "35.00"}}
            else:
                raise ValueError(kind)
            body = json.dumps(envelope).encode()
            return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(SECRET, body),
                    DELIVERY_HEADER: uuid.uuid4().hex}, body

        return make

    @pytest.fixture
    def sandbox_client(self, dummy_store: DummyStore) -> DummyClient:
        return DummyClient(dummy_store)

    @pytest.fixture
    def sandbox_stock(self, dummy_store: DummyStore) -> Callable[[str], Any]:
        return dummy_store.quantities.__getitem__

    @pytest.fixture
    def throttle_next(self, dummy_store: DummyStore) -> Callable[[int], None]:
        return lambda count: dummy_store.failures.extend(["429"] * count)
