"""The OpenAPI 3 document, built from the URL map and each view's operation and schemas."""
from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app
from marshmallow import fields
from werkzeug.routing import Rule

from core.api.errors import API_PREFIX
from core.api.operations import Operation, operation, operation_of, required_role
from core.api.schemas.common import ErrorSchema, page_schema
from core.api.schemas.fields import DECIMAL_PATTERN

RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
ERROR_STATUSES = {
    "400": "Malformed JSON or query parameters, or NUL characters in the URL",
    "401": "Missing, unknown or revoked token",
    "403": "Role too low",
    "404": "Unknown resource",
    "405": "Method not allowed on this path (see the Allow header)",
    "409": "Conflict: duplicate, not enough stock, already posted",
    "413": "Request body too large",
    "422": "Invalid fields",
    "429": "Too many requests: wait before trying again",
}
#: What a public operation (no token) may answer besides its success.
PUBLIC_ERROR_STATUSES = ("400", "405")
DESCRIPTION = (
    "Mizan's accounting and inventory core. Send `Authorization: Bearer <token>`. Roles: viewer "
    "reads, accountant also posts documents and master data, admin also changes company settings. "
    "Money and quantities are strings. Errors are "
    '`{"error": {"status", "code", "message", "fields"}}`.'
)


def openapi_path(rule: Rule) -> str:
    """``/api/v1/invoices/<int(max=...):invoice_id>`` becomes ``/api/v1/invoices/{invoice_id}``."""
    return RULE_ARGUMENT.sub(lambda m: "{" + m.group("name") + "}", rule.rule)


def decimal_as_string(_converter: Any, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
    """Decimals travel as strings: numeric bounds become a pattern and a note."""
    if isinstance(field, fields.Decimal):
        bounds = [f"{name} {ret.pop(key)}" for key, name in (("minimum", "min"), ("maximum", "max")) if key in ret]
        if ret.pop("exclusiveMinimum", False):
            bounds[0] = bounds[0].replace("min", "greater than", 1)
        ret["pattern"] = DECIMAL_PATTERN
        if bounds:
            ret["description"] = " ".join(filter(None, [ret.get("description"), f"({', '.join(bounds)})"]))
    return ret


def build_spec(app: Flask) -> dict[str, Any]:
    """Describe every ``/api/v1`` rule of ``app``; a view without an operation is an error."""
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Mizan API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[marshmallow_plugin],
        info={"description": DESCRIPTION},
    )
    assert marshmallow_plugin.converter is not None
    marshmallow_plugin.converter.add_attribute_function(decimal_as_string)
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        op = operation_of(app.view_functions[rule.endpoint])
        if op is None:
            raise LookupError(f"{rule.endpoint} has no @operation description")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(openapi_path(rule), {})[method.lower()] = _operation(rule, method, op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(rule: Rule, method: str, op: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "in": "path",
            "name": m.group("name"),
            "required": True,
            "schema": {"type": "integer"} if m.group("converter") == "int" else {"type": "string"},
        }
        for m in RULE_ARGUMENT.finditer(rule.rule)
    ]
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    response: dict[str, Any] = {"description": {201: "Created", 202: "Accepted"}.get(op.status, "OK")}
    if op.response is not None:
        schema = page_schema(op.response) if op.paginated else op.response
        response["content"] = {"application/json": {"schema": schema}}
    if op.status in (201, 202):
        response["headers"] = {"Location": {"schema": {"type": "string"}, "description": "URL of the new resource"}}
    responses: dict[str, Any] = {str(op.status): response}
    for status, text in ERROR_STATUSES.items():
        if not op.public or status in PUBLIC_ERROR_STATUSES:
            responses[status] = {"description": text, "content": {"application/json": {"schema": "Error"}}}
    described: dict[str, Any] = {
        "operationId": rule.endpoint.removeprefix("api."),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
        "security": [] if op.public else [{"bearerAuth": []}],
    }
    notes = [op.description] if op.description else []
    if not op.public:
        notes.append(f"Role: {required_role(op, method)} or higher.")
    described["description"] = " ".join(notes)
    if op.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    return described


@operation("This OpenAPI document", "Meta", public=True)
def get_openapi() -> dict[str, Any]:
    return build_spec(current_app._get_current_object())  # type: ignore[attr-defined]


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/openapi.json", "openapi", get_openapi, methods=["GET"])
