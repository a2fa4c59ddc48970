"""Reading request bodies and query strings through marshmallow schemas."""
from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from core.api.errors import ApiError
from core.request_limits import read_body


def json_object(optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; 400 when it is missing, malformed, too deep or not an object.

    A NUL character in any string or key answers 422 naming the field: PostgreSQL text cannot hold it.
    """
    body = read_body()  # 413 past API_MAX_BYTES, a chunked body too (never cut short and parsed)
    if not body:
        if optional:
            return {}
        raise ApiError(400, "A JSON object is required as the request body.")
    try:
        data = json.loads(body)
    except RecursionError:
        data = TOO_DEEP
    except ValueError:
        data = None
    if data is TOO_DEEP or (data is not None and nesting_depth(data) > MAX_DEPTH):
        raise ApiError(400, f"The request body is nested more than {MAX_DEPTH} levels deep.")
    if data is None:
        raise ApiError(400, "The request body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    refused = {name: [NUL_MESSAGE] for name in nul_fields(data)}
    if refused:
        raise ApiError(422, "The request body is not valid.", refused)
    return data


TOO_DEEP = object()
#: Deepest nesting of objects and arrays a request body may have.
MAX_DEPTH = 32
NUL_MESSAGE = "must not contain NUL characters"


def nesting_depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_DEPTH:
                return deepest
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def nul_fields(value: Any, prefix: str = "") -> list[str]:
    """The dotted names (``lines.0.memo``) of the strings and keys in ``value`` that hold a NUL character."""
    if isinstance(value, str):
        return [prefix or "_schema"] if "\x00" in value else []
    if isinstance(value, dict):
        items = [(f"{prefix}.{key}" if prefix else str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(f"{prefix}.{index}" if prefix else str(index), item) for index, item in enumerate(value)]
    else:
        return []
    found: list[str] = []
    for name, item in items:
        if "\x00" in name:
            found.append(name.replace("\x00", "\\u0000"))
        else:
            found.extend(nul_fields(item, name))
    return found


def load_body(schema: Schema, optional: bool = False) -> Any:
    """Validate the JSON body with ``schema``: 422 with field messages when it is invalid."""
    try:
        return schema.load(json_object(optional))
    except ValidationError as error:
        raise ApiError(422, "The request body is not valid.", flatten_messages(error.messages)) from None


def load_query(schema: Schema) -> dict[str, Any]:
    """Validate the query string with ``schema``: 400 with field messages when it is malformed."""
    try:
        return schema.load(request.args)
    except ValidationError as error:
        raise ApiError(400, "The query parameters are not valid.", flatten_messages(error.messages)) from None


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"lines.0.quantity": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" and prefix else f"{prefix}.{key}" if prefix else str(key)
            for field, texts in flatten_messages(value, name).items():
                flat.setdefault(field, []).extend(texts)
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list | tuple):
        for item in messages:
            for field, texts in flatten_messages(item, prefix).items():
                flat.setdefault(field, []).extend(texts)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat
