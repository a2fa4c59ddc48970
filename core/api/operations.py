"""Describing each API view once: summary, schemas and role, for auth and OpenAPI."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from marshmallow import Schema

F = TypeVar("F", bound=Callable[..., Any])

#: Lowest role allowed per HTTP method, unless an operation names its own.
ROLE_FOR_METHOD = {
    "GET": "viewer",
    "HEAD": "viewer",
    "OPTIONS": "viewer",
    "POST": "accountant",
    "PUT": "admin",
    "PATCH": "admin",
    "DELETE": "admin",
}
ROLE_RANK = {"viewer": 0, "accountant": 1, "admin": 2}


@dataclass(frozen=True)
class Operation:
    """What one view does, read by the auth check and the OpenAPI builder."""

    summary: str
    tag: str
    response: type[Schema] | None = None
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    paginated: bool = False
    status: int = 200
    public: bool = False
    role: str | None = None
    description: str | None = None


def operation(summary: str, tag: str, **details: Any) -> Callable[[F], F]:
    """Attach an :class:`Operation` to a view function."""

    def attach(view: F) -> F:
        view.api_operation = Operation(summary, tag, **details)  # type: ignore[attr-defined]
        return view

    return attach


def operation_of(view: Callable[..., Any] | None) -> Operation | None:
    return getattr(view, "api_operation", None)


def required_role(op: Operation | None, method: str) -> str:
    if op is not None and op.role is not None:
        return op.role
    return ROLE_FOR_METHOD.get(method, "admin")
