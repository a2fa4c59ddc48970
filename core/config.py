"""Configuration defaults and how the environment overrides them."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

#: Shortest SECRET_KEY accepted outside debug and testing (``secrets.token_hex(32)`` gives 64).
MIN_SECRET_KEY_LENGTH = 32
#: Values that are public (old defaults, examples) and so never protect anything.
KNOWN_WEAK_SECRETS = frozenset({"dev-only-change-me", "change-me", "changeme", "secret", "development"})
MAKE_SECRET = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
MAKE_FERNET_KEY = "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class ConfigurationError(RuntimeError):
    """The configuration is not safe to run with; the message says what to set and how."""


class Defaults:
    """Settings used when nothing else is configured (the embedded default)."""

    #: Signs session cookies; also derives ENCRYPTION_KEY when that is unset. No default: outside
    #: debug and testing the app refuses to start without a real one (see :func:`check_secrets`).
    SECRET_KEY: str | None = None
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
    #: Per client address: sign-in attempts (each counted before its password is checked, so
    #: parallel guesses cannot slip past), and requests with an unknown API token, allowed before
    #: answering 429 ("10 per minute", as in Flask-Limiter; ";" between limits; empty: no limit).
    LOGIN_ATTEMPT_LIMIT = "10 per minute;50 per hour"
    API_TOKEN_FAILURE_LIMIT = "20 per minute;100 per hour"
    #: Where those counts are kept; unset: REDIS_URL when set (every process agrees), else memory.
    RATELIMIT_STORAGE_URI: str | None = None
    #: Reverse proxies in front of Mizan whose X-Forwarded-For/-Proto/-Host are trusted (0: none).
    #: Behind one proxy set 1, or every client shares the proxy's address in the limits above.
    PROXY_HOPS = 0
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
    #: On PostgreSQL a pooled connection unused for longer than this is pinged before use (0: never;
    #: ``SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}`` pings before every use).
    DATABASE_PING_AFTER_IDLE_SECONDS = 5.0
    API_PAGE_SIZE = 50
    API_MAX_PAGE_SIZE = 500
    #: Most lines one document (invoice, return, inbound requisition, journal entry) may have in the API.
    API_MAX_DOCUMENT_LINES = 500
    JSON_SORT_KEYS = False
    #: Largest request body in bytes (Flask answers 413 beyond it); the two below are tighter per path.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    #: Largest webhook body: refused with 413 after the connection key is checked, before it is read.
    WEBHOOK_MAX_BYTES = 5 * 1024 * 1024
    #: Largest request body under ``/api/``.
    API_MAX_BYTES = 2 * 1024 * 1024
    #: Without REDIS_URL: "inline" runs each job in the request that queued it (tests, commands);
    #: "thread" runs it after the answer, in a background thread of the process (``flask demo serve``).
    JOBS_MODE = "inline"
    #: Seconds between the retries of a failed job (rq's Retry intervals, and the thread's).
    JOB_RETRY_INTERVALS = (5, 30, 120)
    #: Every this many seconds a worker (or the background thread) queues again the webhook
    #: deliveries still unprocessed JOB_RECOVER_AFTER seconds after they arrived (e.g. Redis was down).
    JOB_RECOVER_INTERVAL = 60
    JOB_RECOVER_AFTER = 300
    #: Every this many seconds each active store is asked for the orders and refunds it changed
    #: since the last time, and what its webhooks missed is booked (O12); 0 turns it off.
    RECONCILE_INTERVAL = 900


ENVIRONMENT_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL": "REDIS_URL",
    "SECRET_KEY": "SECRET_KEY",
    "ENCRYPTION_KEY": "ENCRYPTION_KEY",
    "PUBLIC_URL": "PUBLIC_URL",
    "MIZAN_JOB_QUEUE": "JOB_QUEUE",
    "MIZAN_PROXY_HOPS": "PROXY_HOPS",
    "MIZAN_JOBS_MODE": "JOBS_MODE",
    "MIZAN_JOB_RECOVER_INTERVAL": "JOB_RECOVER_INTERVAL",
    "MIZAN_JOB_RECOVER_AFTER": "JOB_RECOVER_AFTER",
    "MIZAN_RECONCILE_INTERVAL": "RECONCILE_INTERVAL",
}


def apply_environment(cfg: dict[str, Any]) -> None:
    """Copy the documented environment variables into the config.

    ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, ``ENCRYPTION_KEY`` and ``PUBLIC_URL`` set the
    keys of :data:`ENVIRONMENT_KEYS`; ``MIZAN_JOB_QUEUE`` sets ``JOB_QUEUE`` (the rq queue name),
    ``MIZAN_PROXY_HOPS`` sets ``PROXY_HOPS`` (trusted reverse proxies);
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
    try:
        cfg["PROXY_HOPS"] = int(cfg.get("PROXY_HOPS") or 0)
    except ValueError:
        raise ConfigurationError("MIZAN_PROXY_HOPS / PROXY_HOPS must be a whole number of proxies.") from None
    options = dict(cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("timeout", cfg["SQLITE_BUSY_TIMEOUT_SECONDS"])
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = options


def secret_key_problem(key: str | bytes | None) -> str | None:
    """Why ``key`` cannot protect sessions and credentials, or None when it can."""
    if not key:
        return "SECRET_KEY is not set"
    text = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
    if text.strip().lower() in KNOWN_WEAK_SECRETS:
        return "SECRET_KEY is a publicly known value"
    if len(text) < MIN_SECRET_KEY_LENGTH or len(set(text)) < 8:
        return f"SECRET_KEY is too weak (it needs at least {MIN_SECRET_KEY_LENGTH} random characters)"
    return None


def check_secrets(cfg: dict[str, Any], instance_path: str) -> None:
    """Refuse to run with a missing or weak ``SECRET_KEY`` or an invalid ``ENCRYPTION_KEY``.

    Anyone who knows the secret can forge a signed-in admin's session cookie and decrypt every
    store credential, so outside ``TESTING`` and ``DEBUG`` a real one is required. Under
    ``DEBUG`` a missing key is generated once into ``instance/mizan.cfg`` (as ``make run`` does)
    and kept across restarts; under ``TESTING`` a missing key is random for the process.
    """
    problem = secret_key_problem(cfg.get("SECRET_KEY"))
    if problem:
        if not (cfg.get("TESTING") or cfg.get("DEBUG")):
            cfg_file = os.path.join(instance_path, "mizan.cfg")
            raise ConfigurationError(
                f"{problem}. Mizan will not start without a real secret: it signs the session "
                "cookies and derives the key that encrypts store credentials. Set the SECRET_KEY "
                f'environment variable, or put SECRET_KEY = "..." in {cfg_file}, to a value made by: '
                f"{MAKE_SECRET}  (`make run` writes one for the demo)."
            )
        if not cfg.get("SECRET_KEY"):
            # Imported here, not at the top: `python -m core.instance_secret` runs that module.
            from core.instance_secret import ensure_secret_key

            cfg["SECRET_KEY"] = (
                secrets.token_hex(32) if cfg.get("TESTING") else ensure_secret_key(instance_path)
            )
    encryption_key = cfg.get("ENCRYPTION_KEY")
    if encryption_key:
        try:
            Fernet(encryption_key)
        except (ValueError, TypeError):
            raise ConfigurationError(
                "ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes). Make one "
                f"with: {MAKE_FERNET_KEY}  or leave it unset to derive it from SECRET_KEY."
            ) from None


def migrations_directory() -> str:
    """The Alembic folder at the top of the source tree."""
    return str(Path(__file__).resolve().parent.parent / "migrations")
