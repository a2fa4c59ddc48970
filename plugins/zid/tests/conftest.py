"""Fixtures for the Zid plugin tests: a seeded sandbox store served over HTTP, its credentials, a webhook receiver."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request

from core.testing.sandbox import SandboxServer
from plugins.zid.sandbox import ZidSandbox, seed_demo


class Receiver:
    """A webhook endpoint that keeps each delivery's path, headers and raw body, and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        app = Flask(__name__)

        @app.post("/hooks/<path:topic>")
        def hooks(topic: str) -> tuple[str, int]:
            self.received.append((topic, dict(request.headers), request.get_data()))
            return "", 200

        self.server = SandboxServer(app).start()
        self.url = self.server.url + "/hooks"


@pytest.fixture
def store() -> ZidSandbox:
    """The sandbox with the kit's catalog (MUG-01, COF-250, DATE-1KG, one product without SKU)."""
    sandbox = ZidSandbox()
    seed_demo(sandbox)
    return sandbox


@pytest.fixture
def store_url(store: ZidSandbox) -> Iterator[str]:
    with store.serve() as server:
        yield server.url


@pytest.fixture
def creds(store: ZidSandbox, store_url: str) -> dict[str, Any]:
    """Credentials the plugin's schema loads, pointing at the served sandbox."""
    return {"authorization": store.authorization, "access_token": store.access_token,
            "store_id": str(store.store_id), "api_base": store_url}


@pytest.fixture
def api_headers(store: ZidSandbox) -> dict[str, str]:
    """The headers of an authenticated Manager API call."""
    return {"Authorization": f"Bearer {store.authorization}", "X-Manager-Token": store.access_token,
            "Role": "Manager", "Accept": "application/json"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.stop()
