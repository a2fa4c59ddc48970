"""Users, password checks and API tokens."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from core.extensions import db
from core.models import ROLES, ApiToken, User
from core.services.errors import Conflict, Invalid
from core.services.transaction import atomic

TOKEN_PREFIX = "mzn_"


def create_user(username: str, password: str, role: str = "viewer", email: str | None = None) -> User:
    """Create a user with a hashed password."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}.", {"role": [f"one of {', '.join(ROLES)}"]})
    if len(password) < 8:
        raise Invalid("The password needs at least 8 characters.", {"password": ["at least 8 characters"]})
    try:
        with atomic():
            user = User(
                username=username,
                email=email,
                password_hash=generate_password_hash(password),
                role=role,
            )
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"The username {username} is taken.", {"username": ["already taken"]}) from None
    return user


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, name: str = "default") -> tuple[str, ApiToken]:
    """Issue a bearer token for ``user``; the plain token is returned once, only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with atomic():
        record = ApiToken(user_id=user.id, name=name, prefix=token[:10], token_hash=hash_token(token))
        db.session.add(record)
        db.session.flush()
    return token, record


def user_for_token(token: str) -> User | None:
    """The active user owning an unrevoked ``token``, or None.

    The lookup is by SHA-256 digest on a unique index, so no token comparison
    leaks timing about stored tokens.
    """
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or not row.user.active:
        return None
    return row.user


def sign_in(username: str, password: str, max_failures: int, lock_minutes: int) -> User | None:
    """The user when the password is right and the account is neither inactive nor locked.

    Each wrong password counts; at ``max_failures`` in a row the account is locked for
    ``lock_minutes`` (the count is kept in the database, so every web process agrees).
    """
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    with atomic():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active:
            return None
        locked = user.locked_until
        if locked is not None and (locked if locked.tzinfo else locked.replace(tzinfo=UTC)) > now:
            return None
        if not check_password(user, password):
            user.failed_logins += 1
            if user.failed_logins >= max_failures:
                user.locked_until = now + timedelta(minutes=lock_minutes)
                user.failed_logins = 0
            return None
        user.failed_logins = 0
        user.locked_until = None
    return user
