"""Request body size limits per path: webhooks and the API get tighter limits than the app-wide one."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask import Request as FlaskRequest
from werkzeug.exceptions import RequestEntityTooLarge

#: Bytes read from the request stream at a time.
CHUNK = 64 * 1024
#: Path prefixes and the config key of the largest body each accepts (the first match wins).
PATH_LIMITS = (("/webhooks/", "WEBHOOK_MAX_BYTES"), ("/api/", "API_MAX_BYTES"))


class SizeLimitedRequest(FlaskRequest):
    """A request whose ``max_content_length`` depends on its path.

    Werkzeug enforces it when the body is first read: a ``Content-Length`` above it raises
    413 before a byte is read, and a body without one (chunked) is cut off one byte past it.
    A view may still set ``request.max_content_length`` itself.
    """

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        if not current_app:
            return super().max_content_length
        for prefix, key in PATH_LIMITS:
            if self.path.startswith(prefix) and current_app.config.get(key) is not None:
                return int(current_app.config[key])
        return current_app.config["MAX_CONTENT_LENGTH"]  # type: ignore[no-any-return]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def init_app(app: Flask) -> None:
    """Make every request of ``app`` a :class:`SizeLimitedRequest`."""
    app.request_class = SizeLimitedRequest


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
