"""Errors the services raise; the API maps each to an HTTP status."""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class: a request the core refuses, with a message for people."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Invalid(ServiceError):
    """The request is well formed but breaks a business rule."""

    status = 422
    code = "invalid"


class Conflict(ServiceError):
    """The request clashes with what exists (duplicate code, already reversed, ...)."""

    status = 409
    code = "conflict"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class DuplicateDocument(Conflict):
    """A document with the same external key exists; ``existing_id`` names it."""

    code = "duplicate"

    def __init__(self, message: str, existing_id: int) -> None:
        super().__init__(message, {"external_key": [message]})
        self.existing_id = existing_id
