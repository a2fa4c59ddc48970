"""Bearer-token authentication and role checks for every API request."""
from __future__ import annotations

from flask import current_app, g, request

from core import ratelimit
from core.api.errors import ApiError
from core.api.operations import ROLE_RANK, operation_of, required_role
from core.services.users import user_for_token


def authenticate() -> None:
    """Run before each API view: 401 without a valid token, 403 when the role is too low.

    An address that sent too many unknown tokens gets 429 (with ``Retry-After``) for a while,
    whatever token it sends, so guessing learns nothing.
    """
    op = operation_of(current_app.view_functions.get(request.endpoint or ""))
    if op is not None and op.public:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "Send an API token: 'Authorization: Bearer <token>'.")
    wait = ratelimit.retry_after("api-token")
    if wait is not None:
        raise ApiError(
            429, f"Too many requests with an unknown API token from your address; try again in {wait} seconds.",
            code="too_many_requests",
        )
    user = user_for_token(token)
    if user is None:
        ratelimit.count_failure("api-token")
        raise ApiError(401, "The API token is unknown or has been revoked.")
    needed = required_role(op, request.method)
    if ROLE_RANK.get(user.role, -1) < ROLE_RANK[needed]:
        raise ApiError(403, f"This needs the {needed} role; your role is {user.role}.")
    g.api_user = user
