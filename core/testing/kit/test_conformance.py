"""The platform conformance suite against every installed driver's plugin and sandbox store."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.models.stores import StoreConnection
from core.platform.base import Credentials, PlatformPlugin
from core.testing.kit.conformance import PlatformConformance, SignedDelivery


class TestConformance(PlatformConformance):
    """Each driver's plugin: its deliveries come from the driver's sandbox, its client talks to it over HTTP."""

    @pytest.fixture(autouse=True)
    def _signature_header(self, driver: Any) -> None:
        self.signature_header = driver.signature_header

    @pytest.fixture
    def served_store(self, driver: Any) -> Iterator[Any]:
        with driver.serve() as served:
            driver.url = served.url
            yield served

    @pytest.fixture
    def plugin(self, driver: Any) -> PlatformPlugin:
        return driver.plugin_class()

    @pytest.fixture
    def credentials(self, driver: Any, served_store: Any) -> dict[str, Any]:
        return driver.credentials(served_store.url)

    @pytest.fixture
    def signed_delivery(self, driver: Any, served_store: Any) -> SignedDelivery:
        return driver.signed_delivery

    @pytest.fixture
    def sandbox_client(self, plugin: PlatformPlugin, store_connection: StoreConnection) -> Iterator[Any]:
        client = plugin.client(store_connection, Credentials(plugin.credentials(store_connection)))
        yield client
        close = getattr(client, "close", None)
        if callable(close):
            close()

    @pytest.fixture
    def sandbox_stock(self, driver: Any) -> Callable[[str], Any]:
        return driver.store_quantity

    @pytest.fixture
    def throttle_next(self, driver: Any) -> Callable[[int], None]:
        return driver.throttle_next

    @pytest.fixture
    def demo_sandbox(self, driver: Any) -> Callable[[], Any]:
        return driver.demo_sandbox
