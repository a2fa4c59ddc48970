"""Fixtures for the Salla plugin tests: a seeded sandbox store, served over HTTP, and a client."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.testing.sandbox import SandboxServer
from plugins.salla.client import SallaClient
from plugins.salla.sandbox import API_PREFIX, SallaSandbox, seed_demo
from plugins.salla.tests import MERCHANT, SECRET, TOKEN


@pytest.fixture
def store() -> SallaSandbox:
    sandbox = SallaSandbox(merchant_id=MERCHANT, access_token=TOKEN, webhook_secret=SECRET)
    seed_demo(sandbox)
    return sandbox


@pytest.fixture
def served(store: SallaSandbox) -> Iterator[SandboxServer]:
    with store.serve() as running:
        yield running


@pytest.fixture
def credentials(served: SandboxServer) -> dict[str, Any]:
    return {"access_token": TOKEN, "webhook_secret": SECRET, "store_ref": str(MERCHANT),
            "api_base": served.url + API_PREFIX}


@pytest.fixture
def client(credentials: dict[str, Any]) -> Iterator[SallaClient]:
    with SallaClient(credentials, timeout=5) as api:
        yield api
