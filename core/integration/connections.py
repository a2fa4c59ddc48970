"""Store connections: create, keys (C1), credentials (C6), settings (C4), activation (C2–C3)."""
from __future__ import annotations

import hashlib
import secrets as token_source
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.settings import StoreSettingsSchema
from core.integration.waiting import release_waiting
from core.models import PluginRecord, StoreConnection
from core.models.base import utcnow
from core.platform.base import Credentials, PlatformPlugin, StoreAPI, StoreAPIError
from core.platform.webhooks import WebhookSubscription
from core.plugins import registry
from core.secrets import decrypt_json, encrypt_json, mask
from core.services.errors import Conflict, Invalid, NotFound
from core.services.transaction import atomic

KEY_PREFIX = "mzs_"


class StoreAlreadyConnected(Conflict):
    """Another connection (not disabled) holds the same external store: one store is connectable once."""

    code = "store_already_connected"

    def __init__(self, platform: str, ref: str, other: StoreConnection) -> None:
        super().__init__(
            f"This {platform} store ({ref}) is already connected as '{other.name}' (store connection {other.id}).",
            {"store_ref": ["already connected"]},
        )
        self.ref, self.other_id, self.other_name = ref, other.id, other.name


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> str:
    return KEY_PREFIX + token_source.token_urlsafe(24)


def _platform(name: str) -> PlatformPlugin:
    plugin = registry().platform(name)
    if plugin is None:
        raise Invalid(f"No enabled plugin for the platform '{name}'.", {"platform": ["not enabled"]})
    return plugin


def create_store(platform: str, name: str) -> tuple[StoreConnection, str]:
    """Add a store connection (C1, C5); returns it with its connection key, shown this once."""
    _platform(platform)
    if not name or len(name) > 200:
        raise Invalid("A store needs a name of up to 200 characters.", {"name": ["required"]})
    key = _new_key()
    with atomic():
        store = StoreConnection(
            platform=platform,
            name=name,
            status="pending",
            key_hash=_hash(key),
            key_prefix=key[:10],
            key_created_at=utcnow(),
            settings=StoreSettingsSchema().load({}),
        )
        db.session.add(store)
    return store, key


def rotate_key(store_id: int) -> str:
    """Issue a new connection key; the old one stops working at once (C1)."""
    key = _new_key()
    with atomic():
        store = get_store(store_id)
        store.key_hash, store.key_prefix, store.key_created_at = _hash(key), key[:10], utcnow()
    return key


def get_store(store_id: int) -> StoreConnection:
    store = db.session.get(StoreConnection, store_id)
    if store is None:
        raise NotFound(f"No store connection with id {store_id}.")
    return store


def store_for_key(key: str) -> StoreConnection | None:
    """The store a connection key belongs to (webhook URLs carry it)."""
    return db.session.execute(
        select(StoreConnection).where(StoreConnection.key_hash == _hash(key))
    ).scalar_one_or_none()


#: A store's own columns, each under its attribute's name (the store is built without the ORM).
_STORE_COLUMNS = tuple(
    attribute.columns[0].label(attribute.key)
    for attribute in sa_inspect(StoreConnection).column_attrs
    if getattr(attribute.columns[0], "table", None) is StoreConnection.__table__
)

#: The store of a key and whether its platform's plugin is enabled: one indexed query (key_hash is unique).
_STORE_FOR_WEBHOOK = (
    select(*_STORE_COLUMNS, PluginRecord.__table__.c.enabled.label("plugin_enabled"))
    .select_from(StoreConnection.__table__.outerjoin(
        PluginRecord.__table__, PluginRecord.__table__.c.name == StoreConnection.__table__.c.platform))
    .where(StoreConnection.__table__.c.key_hash == bindparam("key_hash"))
)


def store_for_webhook(connection: Connection, key: str) -> tuple[StoreConnection | None, bool]:
    """The store a connection key belongs to, and whether its platform is enabled, in one query on
    ``connection`` (the webhook endpoint asks it on every delivery; the enabled-plugins query is not
    needed). The store is a plain, unsaved object: what the plugin reads to verify, not a session's row."""
    row = connection.execute(_STORE_FOR_WEBHOOK, {"key_hash": _hash(key)}).one_or_none()
    if row is None:
        return None, False
    values = row._asdict()
    enabled = bool(values.pop("plugin_enabled"))
    return StoreConnection(**values), enabled


def webhook_url(key: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + "/webhooks/" + key


def credentials(store: StoreConnection) -> dict[str, Any]:
    """The store's decrypted credentials (for plugins; never returned by the API)."""
    return decrypt_json(store.credentials_encrypted)


#: A credentials field a plugin may keep: when the store's access token expires (unix time); the store page shows it.
TOKEN_EXPIRY_FIELD = "token_expires_at"


def token_expiry(store: StoreConnection) -> datetime | None:
    """When the store's access token expires, when its platform told (``token_expires_at``), else ``None``."""
    if not store.credentials_encrypted:
        return None
    try:
        value = credentials(store).get(TOKEN_EXPIRY_FIELD)
        return datetime.fromtimestamp(int(value), UTC) if value not in (None, "") else None
    except (ValueError, TypeError, OverflowError, OSError):  # unreadable credentials or a nonsense time
        return None


def masked_credentials(store: StoreConnection) -> dict[str, Any]:
    """Credentials fit to show: secrets reduced to their last characters (C6)."""
    plugin = registry().platform(store.platform)
    values = credentials(store)
    if plugin is None:  # not enabled: which fields are secret is unknown, so mask them all
        return {k: mask(str(v)) for k, v in values.items()}
    secret_fields = getattr(plugin, "secret_fields", ())
    return {k: (mask(v) if k in secret_fields else v) for k, v in values.items()}


def set_credentials(store_id: int, values: dict[str, Any], *, merge: bool = True) -> StoreConnection:
    """Validate ``values`` with the platform's schema and store them encrypted."""
    store = get_store(store_id)
    schema = _platform(store.platform).credentials_schema
    current = credentials(store) if merge else {}
    try:
        loaded = schema().load({**current, **values})
    except ValidationError as error:
        raise Invalid("The credentials are not valid.", error.normalized_messages()) from None
    ref = str(loaded["store_ref"]) if loaded.get("store_ref") else None
    with _claiming(store.platform, ref):
        store = get_store(store_id)
        if ref:
            refuse_duplicate(store, ref)
            store.external_ref = ref
        store.credentials_encrypted = encrypt_json(loaded)
    return store


def refuse_duplicate(store: StoreConnection, ref: str) -> None:
    """Raise :class:`StoreAlreadyConnected` when another connection, not disabled, holds ``ref``."""
    other = db.session.execute(
        select(StoreConnection).where(
            StoreConnection.platform == store.platform, StoreConnection.external_ref == ref,
            StoreConnection.id != store.id, StoreConnection.status != "disabled",
        ).limit(1)
    ).scalar_one_or_none()
    if other is not None:
        raise StoreAlreadyConnected(store.platform, ref, other)


@contextmanager
def _claiming(platform: str, ref: str | None) -> Iterator[None]:
    """A write that may set a store reference; the database's key settles a race with another one."""
    try:
        with atomic():
            yield
    except IntegrityError:
        db.session.rollback()
        other = ref and db.session.execute(
            select(StoreConnection).where(StoreConnection.platform == platform, StoreConnection.external_ref == ref,
                                          StoreConnection.status != "disabled").limit(1)
        ).scalar_one_or_none()
        if not other:
            raise
        raise StoreAlreadyConnected(platform, ref, other) from None


def update_settings(store_id: int, values: dict[str, Any]) -> StoreConnection:
    """Validate and save the store's settings (C4); unknown fields are refused."""
    store = get_store(store_id)
    try:
        loaded = StoreSettingsSchema().load({**store.settings, **values})
    except ValidationError as error:
        raise Invalid("The store settings are not valid.", error.normalized_messages()) from None
    if loaded["completed_statuses"] is None:
        loaded["completed_statuses"] = list(_platform(store.platform).completed_statuses)
    with atomic():
        store = get_store(store_id)
        store.settings = loaded
    return store


def store_api(store: StoreConnection) -> StoreAPI:
    """The store's API client, built by its platform's plugin; tokens it refreshes are saved."""
    store_id = store.id
    return _platform(store.platform).client(store, Credentials(credentials(store), _saver(store_id)))


def _saver(store_id: int) -> Callable[[dict[str, Any]], None]:
    def save(changes: dict[str, Any]) -> None:
        save_refreshed_credentials(store_id, changes)

    return save


def save_refreshed_credentials(store_id: int, changes: dict[str, Any]) -> None:
    """Keep credentials a platform refreshed (a rotated refresh token, a new access token), encrypted.

    Saved in a transaction of their own when the client is called outside one (as jobs call it),
    so the next client built for the store uses them.
    """
    with atomic():
        store = get_store(store_id)
        store.credentials_encrypted = encrypt_json({**credentials(store), **changes})


def activate(store_id: int, key: str | None = None) -> StoreConnection:
    """Check the credentials against the store, register webhooks, import categories (C2–C3).

    ``key`` (the connection key, needed to build the webhook URL) is required when the
    platform lets the ERP register its webhooks.
    """
    from core.integration.categories import import_categories

    store = get_store(store_id)
    plugin = _platform(store.platform)
    _check_credentials_set(store)
    registry().install(store.platform)  # default accounts, once
    api = store_api(store)
    try:
        _end_reads()
        api.check_credentials()
        ref = store.external_ref or _ref_from_store(api)
        if ref is None and _asks_for_ref(store.platform):
            raise Invalid("The store did not say its own id: enter the store reference in the credentials.",
                          {"store_ref": ["required"]})
        if ref:
            refuse_duplicate(store, ref)  # before the webhooks point at a second connection
        if plugin.registers_webhooks:
            owner = store_for_key(key) if key else None
            if owner is None or owner.id != store.id:
                raise Invalid("Activating this store needs its current connection key.", {"key": ["required"]})
            wanted = subscriptions(store, plugin, key)
            _end_reads()  # the platform may call the ERP while subscribing (WooCommerce's ping)
            api.register_webhooks(wanted)
    except StoreAPIError as error:
        raise Conflict(f"The store refused the connection: {error}") from None
    import_categories(store, api)
    with _claiming(store.platform, ref):
        store = get_store(store_id)
        if ref:
            refuse_duplicate(store, ref)
            store.external_ref = ref
        if not store.settings.get("completed_statuses"):
            store.settings = {**store.settings, "completed_statuses": list(plugin.completed_statuses)}
        store.status = "active"
        store.activated_at = store.activated_at or utcnow()
    release_waiting(store_id)  # deliveries kept while it was not active (design point 3)
    return store


def _end_reads() -> None:
    """End the session's transaction before a call to the store: no lock is held across the network
    (on SQLite every transaction holds the write lock, so a store calling back would wait on it)."""
    db.session.commit()


def subscriptions(store: StoreConnection, plugin: PlatformPlugin, key: str) -> list[WebhookSubscription]:
    """The webhook subscriptions of ``store``: one per topic, each to its own URL when the platform
    names events by URL, with the secret or Basic credentials the ERP generates once and keeps
    encrypted with the store's credentials (C6)."""
    values = credentials(store)
    generated: dict[str, str] = {}
    if plugin.webhook_secret_kind == "secret" and not values.get("webhook_secret"):
        generated["webhook_secret"] = token_source.token_urlsafe(32)
    if plugin.webhook_secret_kind == "basic" and not values.get("webhook_password"):
        generated["webhook_username"] = "mizan-" + token_source.token_hex(4)
        generated["webhook_password"] = token_source.token_urlsafe(32)
    if generated:
        values = {**values, **generated}
        with atomic():
            get_store(store.id).credentials_encrypted = encrypt_json(values)
    base = webhook_url(key)
    secret = values.get("webhook_secret") if plugin.webhook_secret_kind == "secret" else None
    user = values.get("webhook_username") if plugin.webhook_secret_kind == "basic" else None
    password = values.get("webhook_password") if plugin.webhook_secret_kind == "basic" else None
    return [
        WebhookSubscription(topic, f"{base}/{topic}" if plugin.topic_in_url else base, secret, user, password)
        for topic in plugin.webhook_topics
    ]


def _asks_for_ref(platform: str) -> bool:
    """Whether the platform's credentials have a ``store_ref`` a person can enter."""
    return "store_ref" in _platform(platform).credentials_schema().fields


def _ref_from_store(api: StoreAPI) -> str | None:
    """The store's own id as its API tells it (``StoreAPI.store_ref``, optional for a client)."""
    ask = getattr(api, "store_ref", None)
    ref = ask() if callable(ask) else None
    return str(ref) if ref not in (None, "") else None


def _check_credentials_set(store: StoreConnection) -> None:
    """409 naming the missing fields when the stored credentials do not satisfy the platform's schema."""
    schema = _platform(store.platform).credentials_schema
    try:
        stored = credentials(store)
    except ValueError:  # encrypted with another server key
        raise Conflict(
            "The stored credentials cannot be read with this server's key; set them again before activating."
        ) from None
    try:
        schema().load(stored)
    except ValidationError as error:
        fields = {f"credentials.{name}": messages for name, messages in error.normalized_messages().items()}
        raise Conflict("Set the store's credentials before activating it.", fields) from None


def authorize(store: StoreConnection, values: dict[str, Any]) -> None:
    """Save tokens a platform sent in an authorize event (e.g. Salla's easy mode) and activate.

    The event names the store (Salla's merchant id): a store another connection holds is refused.
    """
    ref = set_credentials(store.id, values).external_ref
    with _claiming(store.platform, ref):
        fresh = get_store(store.id)
        fresh.status = "active"
        fresh.activated_at = fresh.activated_at or utcnow()


def deactivate(store_id: int) -> StoreConnection:
    with atomic():
        store = get_store(store_id)
        if store.status == "pending":
            raise Conflict("This store was never activated.")
        store.status = "disabled"
    return store
