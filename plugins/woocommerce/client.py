"""WooCommerce REST API v3 client (stub: filled in next)."""
from __future__ import annotations

from typing import Any


class WooCommerceClient:
    """The store API over WooCommerce's REST API v3."""

    def __init__(self, credentials: dict[str, Any], **_: Any) -> None:
        self.credentials = credentials
