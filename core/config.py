"""Configuration defaults and how the environment overrides them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class Defaults:
    """Settings used when nothing else is configured (the embedded default)."""

    SECRET_KEY = "dev-only-change-me"
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    REDIS_URL: str | None = None  # None: jobs run in-process
    #: rq queue name; tests give each run its own.
    JOB_QUEUE = "mizan"
    #: Fernet key for store credentials; derived from SECRET_KEY when unset.
    ENCRYPTION_KEY: str | None = None
    #: Public base URL of this server, used in the webhook URLs given to stores.
    PUBLIC_URL = "http://127.0.0.1:5000"
    #: "module:attribute" plugins registered in addition to the entry points (tests, demos).
    EXTRA_PLUGINS: tuple[str, ...] = ()
    #: Sign-in: wrong passwords in a row before the account is locked, and for how long.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Send the session cookie over HTTPS only; turned on when PUBLIC_URL is https.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ("en", "ar")
    #: Largest difference between an order's total and the invoice booked to rounding (O5).
    ROUNDING_TOLERANCE = "0.05"
    SQLITE_BUSY_TIMEOUT_SECONDS = 30
    API_PAGE_SIZE = 50
    API_MAX_PAGE_SIZE = 500
    JSON_SORT_KEYS = False
    #: Without REDIS_URL: "inline" runs each job in the request that queued it (tests, commands);
    #: "thread" runs it after the answer, in a background thread of the process (``flask demo serve``).
    JOBS_MODE = "inline"
    #: Seconds between the retries of a failed job (rq's Retry intervals, and the thread's).
    JOB_RETRY_INTERVALS = (5, 30, 120)
    #: Every this many seconds a worker (or the background thread) queues again the webhook
    #: deliveries still unprocessed JOB_RECOVER_AFTER seconds after they arrived (e.g. Redis was down).
    JOB_RECOVER_INTERVAL = 60
    JOB_RECOVER_AFTER = 300


ENVIRONMENT_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL": "REDIS_URL",
    "SECRET_KEY": "SECRET_KEY",
    "ENCRYPTION_KEY": "ENCRYPTION_KEY",
    "PUBLIC_URL": "PUBLIC_URL",
    "MIZAN_JOB_QUEUE": "JOB_QUEUE",
    "MIZAN_JOBS_MODE": "JOBS_MODE",
    "MIZAN_JOB_RECOVER_INTERVAL": "JOB_RECOVER_INTERVAL",
    "MIZAN_JOB_RECOVER_AFTER": "JOB_RECOVER_AFTER",
}


def apply_environment(cfg: dict[str, Any]) -> None:
    """Copy the documented environment variables into the config.

    ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, ``ENCRYPTION_KEY`` and ``PUBLIC_URL`` set the
    keys of :data:`ENVIRONMENT_KEYS`; ``MIZAN_JOB_QUEUE`` sets ``JOB_QUEUE`` (the rq queue name);
    ``MIZAN_EXTRA_PLUGINS`` sets ``EXTRA_PLUGINS`` from comma-separated "module:attribute"
    references (e.g. ``core.testing.dummy:DummyPlugin`` for a worker or server that must load
    the dummy plugin a test or benchmark enabled). Unset or empty variables change nothing.
    """
    for env_name, key in ENVIRONMENT_KEYS.items():
        value = os.environ.get(env_name)
        if value:
            cfg[key] = value
    extra = os.environ.get("MIZAN_EXTRA_PLUGINS", "")
    references = tuple(ref.strip() for ref in extra.split(",") if ref.strip())
    if references:
        cfg["EXTRA_PLUGINS"] = references


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def finalise(cfg: dict[str, Any], instance_path: str) -> None:
    """Fill in derived settings: the database URL and its engine options."""
    url = cfg.get("SQLALCHEMY_DATABASE_URI") or "sqlite:///" + os.path.join(
        instance_path, "mizan.sqlite"
    )
    url = normalise_database_url(url)
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    if str(cfg.get("PUBLIC_URL", "")).startswith("https://"):
        cfg["SESSION_COOKIE_SECURE"] = cfg["REMEMBER_COOKIE_SECURE"] = True
    options = dict(cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("timeout", cfg["SQLITE_BUSY_TIMEOUT_SECONDS"])
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
    else:
        options.setdefault("pool_pre_ping", True)
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = options


def migrations_directory() -> str:
    """The Alembic folder at the top of the source tree."""
    return str(Path(__file__).resolve().parent.parent / "migrations")
