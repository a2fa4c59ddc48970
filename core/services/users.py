"""Users, password checks and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from core.extensions import db
from core.models import ROLES, ApiToken, User
from core.services.errors import Conflict, Invalid, NotFound
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


def end_sessions(user_id: int) -> None:
    """End every session of the user (sign-out, password change): their stored id no longer matches."""
    with atomic():
        db.session.execute(
            update(User).where(User.id == user_id)
            .values(session_version=User.session_version + 1)
            .execution_options(synchronize_session=False)
        )


def set_password(username: str, password: str) -> User:
    """Give the user a new password, unlock the account and end the sessions signed in with the old one."""
    if len(password) < 8:
        raise Invalid("The password needs at least 8 characters.", {"password": ["at least 8 characters"]})
    with atomic():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise NotFound(f"No user named {username}.")
        user.password_hash = generate_password_hash(password)
        user.failed_logins = 0
        user.locked_until = None
        user.session_version = User.session_version + 1
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
    ``lock_minutes``. The count is kept in the database and increased by one ``UPDATE`` (never
    read, add, write), so parallel attempts in any number of processes each count. Every
    attempt checks one password hash, an unknown username a dummy one, so the time taken does
    not tell which usernames exist.
    """
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(generate_password_hash), password)
        return None
    user_id, right, active = user.id, check_password(user, password), user.active
    now = datetime.now(UTC)
    if not active:
        return None
    if not right:
        _count_failure(user_id, now, max_failures, lock_minutes)
        return None
    with atomic():
        cleared = db.session.execute(
            update(User).where(User.id == user_id, _not_locked(now))
            .values(failed_logins=0, locked_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return user if cleared else None


def _not_locked(now: datetime) -> ColumnElement[bool]:
    return or_(User.locked_until.is_(None), User.locked_until <= now)


def _count_failure(user_id: int, now: datetime, max_failures: int, lock_minutes: int) -> None:
    """One more failure for an unlocked account, locking it (and starting over) at the limit."""
    with atomic():
        failures = db.session.execute(
            update(User).where(User.id == user_id, _not_locked(now))
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if failures is not None and failures >= max_failures:  # the row stays locked until commit
            db.session.execute(
                update(User).where(User.id == user_id)
                .values(failed_logins=0, locked_until=now + timedelta(minutes=lock_minutes))
                .execution_options(synchronize_session=False)
            )


@lru_cache(maxsize=4)
def _dummy_hash(make_hash: Callable[[str], str]) -> str:
    """A hash made the way passwords are hashed now, to check unknown usernames against."""
    return make_hash(secrets.token_urlsafe(16))
