"""JSON error bodies for every failure under /api/v1, never a stack trace."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from core.services.errors import DuplicateDocument, ServiceError

API_PREFIX = "/api/v1"

#: Machine-readable codes for the HTTP errors raised by Flask and Werkzeug.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


class ApiError(Exception):
    """A refusal raised by the API layer itself (auth, malformed input)."""

    def __init__(
        self, status: int, message: str, fields: dict[str, list[str]] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or HTTP_CODES.get(status, "error")
        self.message = message
        self.fields = fields or {}


def error_response(
    status: int, code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any
) -> Response:
    """The one error shape: ``{"error": {"status", "code", "message", "fields", ...}}``."""
    body = {"status": status, "code": code, "message": message, "fields": _as_field_lists(fields or {})}
    body.update(extra)
    response = jsonify({"error": body})
    response.status_code = status
    return response


def _as_field_lists(fields: dict[str, Any]) -> dict[str, list[str]]:
    return {
        str(name): [str(m) for m in messages] if isinstance(messages, list | tuple) else [str(messages)]
        for name, messages in fields.items()
    }


def handle_api_error(error: ApiError) -> Response:
    response = error_response(error.status, error.code, error.message, error.fields)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mizan"'
    return response


def handle_service_error(error: ServiceError) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(error, DuplicateDocument):
        extra["existing_id"] = error.existing_id
    return error_response(error.status, error.code, error.message, error.fields, **extra)


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    """JSON for HTTP errors on API paths (unknown URLs, wrong methods, crashes)."""
    if not is_api_path(request.path):
        page = current_app.extensions.get("mizan.error_page")  # the web UI's, when it is installed
        return page(error) if page else error
    status = error.code or 500
    if status >= 500:
        message = "An unexpected error happened. It has been logged; please try again or report it."
    else:
        message = error.description or HTTP_CODES.get(status, "error")
    response = error_response(status, HTTP_CODES.get(status, "error"), message)
    allowed = error.get_response().headers.get("Allow") if status == 405 else None
    if allowed:
        response.headers["Allow"] = allowed
    return response


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def register_error_handlers(blueprint: Blueprint) -> None:
    """API errors on the blueprint; HTTP errors app-wide but only for API paths."""
    blueprint.register_error_handler(ApiError, handle_api_error)
    blueprint.register_error_handler(ServiceError, handle_service_error)
    blueprint.app_errorhandler(HTTPException)(handle_http_error)
