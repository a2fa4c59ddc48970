"""Fixtures for the Shopify plugin tests: a seeded sandbox shop served over HTTP and a client for it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request

from core.testing.sandbox import SandboxServer
from plugins.shopify.client import ShopifyClient
from plugins.shopify.sandbox import ShopifySandbox

SECRET = "shopify-test-secret"
TOKEN = "shpat_plugin_test"
SHOP = "mizan-test.myshopify.com"


class Receiver:
    """A webhook endpoint that keeps each delivery's raw body and headers, and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        app = Flask(__name__)

        @app.post("/hooks")
        def hooks() -> tuple[str, int]:
            self.received.append((dict(request.headers), request.get_data()))
            return "", 200

        self.server = SandboxServer(app).start()
        self.url = self.server.url + "/hooks"


@pytest.fixture
def shop() -> Iterator[ShopifySandbox]:
    sandbox = ShopifySandbox(shop=SHOP, access_token=TOKEN, client_secret=SECRET)
    sandbox.seed_demo()
    yield sandbox
    sandbox.flush()


@pytest.fixture
def shop_url(shop: ShopifySandbox) -> Iterator[str]:
    with shop.serve() as server:
        yield server.url


@pytest.fixture
def creds(shop_url: str) -> dict[str, Any]:
    return {"shop_domain": SHOP, "access_token": TOKEN, "client_secret": SECRET, "api_base": shop_url,
            "location_id": None, "store_ref": SHOP}


@pytest.fixture
def client(creds: dict[str, Any]) -> Iterator[ShopifyClient]:
    with ShopifyClient(creds) as api:
        yield api


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.stop()
