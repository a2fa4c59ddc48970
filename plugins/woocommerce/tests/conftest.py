"""Fixtures for the WooCommerce plugin tests: a seeded sandbox store served over HTTP, its credentials, a webhook
receiver."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, request

from core.testing.sandbox import SandboxServer
from plugins.woocommerce.sandbox import API, WooCommerceSandbox, seed_demo


class Receiver:
    """A webhook endpoint that keeps each delivery's headers and raw body and answers ``status`` (default 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        app = Flask(__name__)

        @app.post("/hooks")
        def hooks() -> tuple[str, int]:
            self.received.append((dict(request.headers), request.get_data()))
            return "", self.status

        self.server = SandboxServer(app).start()
        self.url = self.server.url + "/hooks"


@pytest.fixture
def store() -> WooCommerceSandbox:
    """The sandbox with the kit's catalog (MUG-01, COF-250, DATE-1KG, one product without SKU)."""
    sandbox = WooCommerceSandbox()
    seed_demo(sandbox)
    return sandbox


@pytest.fixture
def store_url(store: WooCommerceSandbox) -> Iterator[str]:
    with store.serve() as server:
        yield server.url


@pytest.fixture
def creds(store: WooCommerceSandbox, store_url: str) -> dict[str, Any]:
    """Credentials the plugin's schema loads, pointing at the served sandbox."""
    return {"store_url": store_url, "consumer_key": store.consumer_key, "consumer_secret": store.consumer_secret}


@pytest.fixture
def api(store: WooCommerceSandbox, store_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the store's REST API v3 with its Basic consumer key and secret."""
    with httpx.Client(base_url=store_url + API, auth=(store.consumer_key, store.consumer_secret)) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.stop()
