"""Zid's Manager API (v1) as the core's StoreAPI."""
from __future__ import annotations

from typing import Any


class ZidClient:
    """Calls Zid's API with the store's tokens (work in progress)."""

    def __init__(self, credentials: dict[str, Any]) -> None:
        self.credentials = credentials

    def close(self) -> None:
        """Nothing to release yet."""
