"""The webhook endpoint: one URL per store, ``/webhooks/<connection key>``."""
from __future__ import annotations

from flask import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from core.integration.inbox import receive

webhooks_blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")

#: Bytes read from the request stream at a time.
CHUNK = 64 * 1024


@webhooks_blueprint.post("/<key>")
def receive_webhook(key: str) -> tuple[dict[str, object], int]:
    # The body is read only once the key names a store (an unknown key gets 404, unread), and
    # never past WEBHOOK_MAX_BYTES (core.request_limits): a larger body gets 413.
    receipt = receive(key, dict(request.headers), read_body)
    body: dict[str, object] = {"status": receipt.status, "message": receipt.message}
    if receipt.delivery_id is not None:
        body["delivery_id"] = receipt.delivery_id
    return body, receipt.status


def read_body() -> bytes:
    """The request body, at most ``request.max_content_length`` bytes, else 413.

    A ``Content-Length`` above the limit is refused before a byte is read; a body without one
    (chunked) is read up to one byte past the limit, never further (Werkzeug's own reading would
    cut it at the limit without a word).
    """
    limit = request.max_content_length
    stream = request.stream
    if limit is None:
        return stream.read()
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(parts)


@webhooks_blueprint.errorhandler(RequestEntityTooLarge)
def body_too_large(error: RequestEntityTooLarge) -> tuple[dict[str, object], int]:
    return {"status": 413, "message": "the body is larger than this server accepts for a webhook"}, 413
