"""Per-address limits on failed sign-ins and unknown API tokens, counted in Flask-Limiter's storage."""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, Response, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

log = logging.getLogger(__name__)

#: What is limited, and the configuration key holding its limits.
SCOPES = {"login": "LOGIN_FAILURE_LIMIT", "api-token": "API_TOKEN_FAILURE_LIMIT"}


def init_app(app: Flask) -> None:
    """One limiter per app: Redis when ``REDIS_URL`` is set (shared by every process), else memory.

    ``RATELIMIT_STORAGE_URI`` picks another storage. Only failures are counted, by
    :func:`count_failure`; :func:`retry_after` tells a caller to refuse the attempt before
    checking anything. A ``Retry-After`` header is added to the refusal.
    """
    storage = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "memory://"
    limiter = Limiter(get_remote_address, storage_uri=storage, key_prefix="mizan-failures",
                      strategy="moving-window")
    limiter.init_app(app)
    app.extensions["mizan.failure_limiter"] = limiter
    app.after_request(_add_retry_after)


def _limits(scope: str) -> list[RateLimitItem]:
    value = current_app.config.get(SCOPES[scope])
    return list(parse_many(value)) if value else []


def retry_after(scope: str) -> int | None:
    """Seconds until this address may try ``scope`` again, or None when it may now."""
    limiter: Limiter = current_app.extensions["mizan.failure_limiter"]
    address = get_remote_address()
    try:
        for limit in _limits(scope):
            if not limiter.limiter.test(limit, scope, address):
                reset_at = limiter.limiter.get_window_stats(limit, scope, address).reset_time
                g.mizan_retry_after = max(1, math.ceil(reset_at - time.time()))
                return g.mizan_retry_after
    except Exception:  # the storage is down: the per-account lockout still holds
        log.exception("rate limit storage unavailable; %s allowed", scope)
    return None


def count_failure(scope: str) -> None:
    """Count one failed attempt at ``scope`` from this address."""
    limiter: Limiter = current_app.extensions["mizan.failure_limiter"]
    address = get_remote_address()
    try:
        for limit in _limits(scope):
            limiter.limiter.hit(limit, scope, address)
    except Exception:
        log.exception("rate limit storage unavailable; a %s failure was not counted", scope)


def reset() -> None:
    """Forget every count (tests, or an admin after an incident)."""
    current_app.extensions["mizan.failure_limiter"].reset()


def _add_retry_after(response: Response) -> Response:
    seconds = g.get("mizan_retry_after")
    if seconds and response.status_code == 429:
        response.headers["Retry-After"] = str(seconds)
    return response
