"""Per-address limits on failed sign-ins and unknown API tokens, counted in Redis or in memory."""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, Response, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

#: What is limited, and the configuration key holding its limits.
SCOPES = {"login": "LOGIN_ATTEMPT_LIMIT", "api-token": "API_TOKEN_FAILURE_LIMIT"}
KEY_PREFIX = "mizan-failures"


def init_app(app: Flask) -> None:
    """One counter per app: Redis when ``REDIS_URL`` is set (shared by every process), else memory.

    ``RATELIMIT_STORAGE_URI`` picks another storage (any URI of the ``limits`` library, which
    Flask-Limiter stores its counts with). Only failures are counted, by :func:`count_failure`;
    :func:`retry_after` tells a caller to refuse an attempt before checking anything. Nothing
    runs on other requests (Flask-Limiter's request hooks would cost every webhook ~45 µs).
    """
    uri = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "memory://"
    options = {} if uri.startswith("memory") else {"key_prefix": KEY_PREFIX}
    if uri.startswith(("redis://", "rediss://")):  # a Redis that drops packets costs seconds, not minutes
        options.update(socket_connect_timeout=2, socket_timeout=2)
    app.extensions["mizan.failure_limiter"] = MovingWindowRateLimiter(storage_from_string(uri, **options))
    app.after_request(_add_retry_after)


def _limiter() -> MovingWindowRateLimiter:
    return current_app.extensions["mizan.failure_limiter"]


def _limits(scope: str) -> list[RateLimitItem]:
    value = current_app.config.get(SCOPES[scope])
    return list(parse_many(value)) if value else []


def _address() -> str:
    return request.remote_addr or "unknown"


def retry_after(scope: str) -> int | None:
    """Seconds until this address may try ``scope`` again, or None when it may now."""
    return _over_limit(scope, count=False)


def take_attempt(scope: str) -> int | None:
    """Count one attempt at ``scope`` from this address, atomically, before it is tried: seconds
    to wait when the address is over a limit (the attempt is then refused), else None.

    Counting first closes the race of check-then-count: requests that arrive while earlier ones
    are still checking a password cannot all pass the check.
    """
    return _over_limit(scope, count=True)


def _over_limit(scope: str, *, count: bool) -> int | None:
    """Seconds to wait when this address is over a limit of ``scope``; ``count`` also counts this attempt."""
    limiter, address = _limiter(), _address()
    allowed = limiter.hit if count else limiter.test
    try:
        for limit in _limits(scope):
            if not allowed(limit, KEY_PREFIX, scope, address):
                reset_at = limiter.get_window_stats(limit, KEY_PREFIX, scope, address).reset_time
                g.mizan_retry_after = max(1, math.ceil(reset_at - time.time()))
                return g.mizan_retry_after
    except Exception:  # the storage is down: the per-account lockout still holds
        log.exception("rate limit storage unavailable; %s allowed", scope)
    return None


def count_failure(scope: str) -> None:
    """Count one failed attempt at ``scope`` from this address."""
    limiter, address = _limiter(), _address()
    try:
        for limit in _limits(scope):
            limiter.hit(limit, KEY_PREFIX, scope, address)
    except Exception:
        log.exception("rate limit storage unavailable; a %s failure was not counted", scope)


def reset() -> None:
    """Forget every count of this app's memory storage (tests; Redis counts expire by themselves)."""
    storage = _limiter().storage
    if isinstance(storage, MemoryStorage):
        storage.reset()


def _add_retry_after(response: Response) -> Response:
    seconds = g.get("mizan_retry_after")
    if seconds and response.status_code == 429:
        response.headers["Retry-After"] = str(seconds)
    return response
