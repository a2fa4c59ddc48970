"""What a platform plugin is handed for a webhook, what it answers, and the checks it uses."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from marshmallow import ValidationError


class Headers(Mapping[str, str]):
    """Request headers whose names are matched whatever their case (``headers["x-salla-signature"]``)."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items = {str(name).lower(): str(value) for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class WebhookRequest:
    """A delivery as the plugin sees it, at the endpoint and again when its job parses it.

    ``topic`` is the last part of the URL it was posted to (``/webhooks/<key>/<topic>``), or
    ``None`` when it was posted to ``/webhooks/<key>`` (the platform names the event in the
    body or a header). ``query`` is the raw query string. The body is exactly the bytes
    received; the core assumes nothing about its format.
    """

    body: bytes
    headers: Headers = field(default_factory=Headers)
    content_type: str = ""
    query: str = ""
    topic: str | None = None

    def header(self, name: str) -> str | None:
        """A header's value, or ``None``."""
        return self.headers.get(name)

    def query_args(self) -> dict[str, str]:
        """The query string's parameters (the last value of a repeated one)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self) -> Any:
        """The body as JSON; :class:`marshmallow.ValidationError` when it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            raise ValidationError({"_body": ["The body is not JSON."]}) from None

    def form(self) -> dict[str, str]:
        """The body as an HTML form (``a=1&b=2``); empty when it is not one."""
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            return {}


class Verdict(Enum):
    """What verification decides about a delivery."""

    #: Authentic: stored, acknowledged and processed.
    AUTHENTIC = "authentic"
    #: Not authentic: 401, nothing stored.
    REJECT = "reject"
    #: Answered 200 and not stored (a platform's ping, which must get a 200 to keep the webhook alive).
    ACKNOWLEDGE = "acknowledge"
    #: Answered 200, not stored, one sync-log line: an event the platform sends without credentials
    #: (e.g. an app's lifecycle event), which the merchant sees arrived but which is never acted on.
    IGNORE = "ignore"


@dataclass(frozen=True)
class WebhookSubscription:
    """One topic the ERP asks a store to send, to its own URL, with the credentials it will carry."""

    topic: str
    url: str
    #: A shared secret the ERP generated for the platform to sign with (``webhook_secret_kind = "secret"``).
    secret: str | None = None
    #: Basic credentials the ERP generated for the platform to send (``webhook_secret_kind = "basic"``).
    username: str | None = None
    password: str | None = None


def hmac_hex(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` (Salla's ``X-Salla-Signature``)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hmac_base64(secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of ``body`` (Shopify's and WooCommerce's signature headers)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signatures_match(expected: str, received: str | None) -> bool:
    """Constant-time comparison of two signatures or tokens (``False`` when one is missing)."""
    if not received or not expected:
        return False
    return hmac.compare_digest(expected.encode(), received.strip().encode())


def basic_credentials(request: WebhookRequest) -> tuple[str, str] | None:
    """The user name and password of the request's ``Authorization: Basic`` header, or ``None``."""
    value = request.header("authorization") or ""
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def basic_matches(request: WebhookRequest, username: str | None, password: str | None) -> bool:
    """Whether the request carries exactly these Basic credentials (constant time)."""
    sent = basic_credentials(request)
    if sent is None or not username or not password:
        return False
    user_ok = signatures_match(username, sent[0])
    password_ok = signatures_match(password, sent[1])
    return user_ok and password_ok


class OtherStore(Exception):
    """Raised by ``parse``: the delivery names another account of the platform than the store's (e.g. another
    merchant id). It goes to needs attention with the reason code ``other_store`` and is never acted on."""


class StoreUnidentified(Exception):
    """Raised by ``parse``: the store's account id is not known yet, so only the event that tells it (an
    authorize) can be acted on. The delivery waits (reason code ``store_not_identified``) and is parsed again
    once the store is activated."""
