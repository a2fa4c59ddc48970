"""Receiving a webhook: the plugin verifies, the inbox stores it durably with a unique key (the dispatcher queues it)."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import parse_qsl, urlencode

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.connections import store_for_webhook
from core.integration.synclog import log_event
from core.integration.waiting import PROCESS_JOB, delivery_job_id
from core.jobs import enqueue, hand_over
from core.models import StoreConnection, WebhookDelivery
from core.models.base import utcnow
from core.platform.base import PlatformPlugin
from core.platform.webhooks import Headers, Verdict, WebhookRequest
from core.plugins import registry
from core.secrets import decrypt_bytes, encrypt_bytes
from core.services.transaction import atomic, statement_connection

#: The acknowledgement's one write, built once (the columns left out take their defaults).
_STORE_DELIVERY = insert(WebhookDelivery.__table__).returning(WebhookDelivery.__table__.c.id)

log = logging.getLogger(__name__)

#: Headers kept with a delivery: what parsing needs (platform ``x-`` headers, the content type).
KEPT_HEADER_PREFIXES = ("x-", "content-type")
#: Kept headers whose name holds one of these are dropped all the same: they carry credentials.
SECRET_HEADER_WORDS = ("authorization", "token", "secret", "password", "api-key", "apikey", "cookie")
#: Query parameters named like these are not stored either (e.g. a static token sent in the URL).
SECRET_QUERY_WORDS = ("key", "signature", "sig", "auth")
#: What a topic in a webhook URL may look like (``order.create``, ``refund_created``).
TOPIC_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,100}")
#: The inbox's ``delivery_key`` column holds this many characters.
DELIVERY_KEY_MAX = 200
#: The sync-log reason of a delivery the plugin ignores (:attr:`Verdict.IGNORE`), like ``tasks.REASONS``.
IGNORED_REASON = "sent_without_credentials: {what} arrived without credentials; it is not stored or acted on"


@dataclass(frozen=True)
class Receipt:
    """The answer the endpoint gives: an HTTP status and a short message."""

    status: int
    message: str
    delivery_id: int | None = None


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers stored with a delivery: lower-cased names, no credentials."""
    kept = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(KEPT_HEADER_PREFIXES) and not any(word in lowered for word in SECRET_HEADER_WORDS):
            kept[lowered] = value
    return kept


def kept_query(query: str) -> str:
    """The query string stored with a delivery: parameters named like credentials removed (C6)."""
    kept = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True)
            if not any(word in name.lower() for word in SECRET_HEADER_WORDS + SECRET_QUERY_WORDS)]
    return urlencode(kept)


def receive(
    key: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | Callable[[], bytes],
    *,
    topic: str | None = None,
    query: str = "",
    content_type: str | None = None,
) -> Receipt:
    """Handle one delivery addressed to the store with connection key ``key`` (and ``topic``, when
    the URL names one).

    ``body`` may be a function that reads it: it is called only once ``key`` names a store of
    an enabled platform, so an unknown key is refused without reading what was posted. The
    platform's plugin decides whether the delivery is authentic (stored and queued), not
    (401, nothing stored), a ping to acknowledge (200, nothing stored) or an event to ignore
    (200, nothing stored, one sync-log line).
    """
    with statement_connection() as connection:
        receipt, follow_up = _acknowledge(connection, key, headers, body, topic, query, content_type)
    # After the commit and with the connection returned: the delivery's hand-over, or what a
    # duplicate or an ignored event needs (they use the session).
    if follow_up is not None:
        follow_up()
    return receipt


def _acknowledge(
    connection: Connection,
    key: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | Callable[[], bytes],
    topic: str | None,
    query: str,
    content_type: str | None,
) -> tuple[Receipt, Callable[[], object] | None]:
    """Verify and store one delivery on ``connection`` (autocommit): one query for the store, then
    one INSERT that is its own transaction, committed when it returns (no BEGIN or COMMIT round
    trip, and on SQLite the write lock is held for the INSERT alone). Returns the answer and what
    to do once the connection is given back."""
    store, enabled = store_for_webhook(connection, key)
    if store is None or store.status == "disabled":
        return Receipt(404, "unknown store"), None
    plugin = registry().loaded_platform(store.platform) if enabled else None
    if plugin is None:
        return Receipt(404, f"the {store.platform} plugin is not enabled"), None
    if topic is not None and not TOPIC_PATTERN.fullmatch(topic):
        return Receipt(404, "unknown topic"), None
    if callable(body):
        body = body()
    request = webhook_request(headers, body, topic=topic, query=query, content_type=content_type)
    verdict = _verdict(plugin, store, request)
    if verdict is Verdict.ACKNOWLEDGE:
        return Receipt(200, "acknowledged; nothing to process"), None
    if verdict is Verdict.IGNORE:
        return Receipt(200, "ignored; not stored"), partial(_ignore, store.id, topic)
    if verdict is not Verdict.AUTHENTIC:
        return Receipt(401, "not authentic: the signature or credentials do not match"), None
    if plugin.body_format == "json" and not is_json(body):
        return Receipt(400, "body is not JSON"), None
    delivery_key = _delivery_key(plugin, store, request)
    secret = _carries_secrets(plugin, store, request)
    stored = encrypt_bytes(body) if secret else body
    # Nothing else is written (the store's "last webhook" is read from the inbox) and no queue
    # is called on Redis: the workers' dispatcher queues the delivery.
    try:
        delivery_id = connection.execute(_STORE_DELIVERY, {
            "store_id": store.id, "delivery_key": delivery_key, "headers": kept_headers(request.headers),
            "body": stored, "body_encrypted": secret, "topic": topic, "query": kept_query(query) or None,
        }).scalar_one()
    except IntegrityError:  # the unique (store, delivery key): this delivery is stored already
        return (Receipt(200, "duplicate delivery; already received"),
                partial(_requeue_if_stale, store.id, delivery_key))
    return Receipt(200, "received", delivery_id), partial(_hand_over, delivery_id)


def _ignore(store_id: int, topic: str | None) -> None:
    """An event sent without credentials: one sync-log line (so the merchant sees it came), nothing stored."""
    what = f"a '{topic}' event" if topic else "an event"
    with atomic():
        log_event(store_id, "webhook", "skipped", reason=IGNORED_REASON.format(what=what))


def webhook_request(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    topic: str | None = None,
    query: str | None = "",
    content_type: str | None = None,
) -> WebhookRequest:
    """The request object handed to a plugin (at the endpoint, and rebuilt from a stored delivery)."""
    wrapped = Headers(headers)
    return WebhookRequest(body=body, headers=wrapped, content_type=content_type or wrapped.get("content-type", ""),
                          query=query or "", topic=topic)


def delivery_request(delivery: WebhookDelivery) -> WebhookRequest:
    """A stored delivery as the plugin saw it when it arrived (credentials excepted)."""
    return webhook_request(delivery.headers or {}, stored_body(delivery), topic=delivery.topic, query=delivery.query)


def is_json(body: bytes) -> bool:
    """Whether ``body`` is JSON text (UTF-8/16/32). Numbers are not converted, so a 5,000-digit one
    is JSON; nesting too deep to follow counts as JSON: the delivery is kept and processing says why."""
    try:
        json.loads(body, parse_int=str, parse_float=str)
    except RecursionError:
        return True
    except ValueError:
        return False
    return True


def stored_body(delivery: WebhookDelivery) -> bytes:
    """A delivery's body as it was received (decrypted when it was stored encrypted)."""
    return decrypt_bytes(delivery.body) if delivery.body_encrypted else delivery.body


def _verdict(plugin: PlatformPlugin, store: StoreConnection, request: WebhookRequest) -> Verdict:
    """The plugin's verdict; a plugin that fails to decide refuses the delivery (never a 500)."""
    try:
        verdict = plugin.verify(store, request)
    except Exception:
        log.exception("the %s plugin failed to verify a delivery; it is refused", store.platform)
        return Verdict.REJECT
    return verdict if isinstance(verdict, Verdict) else Verdict.REJECT


def _delivery_key(plugin: PlatformPlugin, store: StoreConnection, request: WebhookRequest) -> str:
    """The platform's deduplication key; the hash of the topic and body when the plugin fails or gives none."""
    try:
        key = plugin.delivery_key(store, request)
    except Exception:  # a plugin bug must not lose an authentic delivery
        log.exception("the %s plugin failed to give a delivery key; the body's hash is used", store.platform)
        key = None
    if not key:
        topic = f"{request.topic}:" if request.topic else ""
        return "sha256:" + hashlib.sha256(topic.encode() + request.body).hexdigest()
    key = str(key)
    return key if len(key) <= DELIVERY_KEY_MAX else "sha256-key:" + hashlib.sha256(key.encode()).hexdigest()


def _carries_secrets(plugin: PlatformPlugin, store: StoreConnection, request: WebhookRequest) -> bool:
    """Whether to store the body encrypted; when the plugin cannot tell (it fails), it is."""
    try:
        return bool(plugin.carries_secrets(store, request))
    except Exception:
        log.exception("the %s plugin failed to tell whether a delivery holds secrets; stored encrypted",
                      store.platform)
        return True


def _hand_over(delivery_id: int) -> bool:
    """Give the delivery to the jobs of this process (inline: processed now; thread: the thread is
    woken); True when done. On Redis nothing is sent and the answer is False: the dispatcher in the
    workers queues it (:mod:`core.integration.dispatcher`), as the recovery does when this fails.
    Either way the delivery is stored, so the acknowledgement says "received"."""
    try:
        return hand_over(PROCESS_JOB, delivery_id, unique=delivery_job_id(delivery_id))
    except Exception:
        log.exception("delivery %s stored but not handed over; the recovery will queue it", delivery_id)
        return False


def _queue(delivery_id: int) -> bool:
    """Queue the delivery's job; False when the queue is unreachable (the periodic recovery queues it)."""
    try:
        enqueue(PROCESS_JOB, delivery_id, unique=delivery_job_id(delivery_id))
    except Exception:  # e.g. Redis down: the delivery is stored, so the answer is still 200
        log.exception("delivery %s stored but not queued; the recovery will queue it", delivery_id)
        return False
    return True


def _requeue_if_stale(store_id: int, delivery_key: str) -> None:
    """A re-delivery of a delivery still unprocessed after JOB_RECOVER_AFTER seconds queues it again."""
    cutoff = utcnow() - timedelta(seconds=float(current_app.config["JOB_RECOVER_AFTER"]))
    stale = db.session.execute(
        select(WebhookDelivery.id).where(
            WebhookDelivery.store_id == store_id, WebhookDelivery.delivery_key == delivery_key,
            WebhookDelivery.status == "received", WebhookDelivery.received_at <= cutoff,
        )
    ).scalar_one_or_none()
    db.session.commit()
    if stale is not None:
        _queue(stale)


def unprocessed_deliveries(older_than_seconds: float = 60) -> list[int]:
    """Deliveries still ``received`` after a while: their job was lost or its worker died."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return list(
        db.session.execute(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "received", WebhookDelivery.received_at < cutoff)
            .order_by(WebhookDelivery.id)
        ).scalars()
    )
