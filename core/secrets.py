"""Encryption at rest for store credentials (C6): Fernet with a key from the configuration."""
from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet_key() -> bytes:
    """``ENCRYPTION_KEY`` when set (a Fernet key), else a key derived from ``SECRET_KEY``."""
    key = current_app.config.get("ENCRYPTION_KEY")
    if not key:
        digest = hashlib.sha256(b"mizan-credentials:" + current_app.config["SECRET_KEY"].encode()).digest()
        return base64.urlsafe_b64encode(digest)
    return key.encode() if isinstance(key, str) else key


def _fernet() -> Fernet:
    return Fernet(_fernet_key())


def encrypt_json(values: dict[str, Any]) -> str:
    """Encrypt a JSON-serialisable mapping into a text token."""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_json(token: str | None) -> dict[str, Any]:
    """Decrypt what :func:`encrypt_json` produced; raises ``ValueError`` on a wrong key."""
    if not token:
        return {}
    fernet_key = _fernet_key()
    try:
        return json.loads(_decrypted(fernet_key, token))
    except InvalidToken as error:
        raise ValueError("Stored credentials cannot be decrypted with this server's key.") from error


@lru_cache(maxsize=256)
def _decrypted(fernet_key: bytes, token: str) -> bytes:
    """The plaintext of ``token``: kept per (key, ciphertext), so it cannot go stale (new credentials
    are a new ciphertext); a webhook's verification then costs no decryption."""
    return Fernet(fernet_key).decrypt(token.encode())


def encrypt_bytes(value: bytes) -> bytes:
    """Encrypt raw bytes (e.g. a webhook body that carries tokens)."""
    return _fernet().encrypt(value)


def decrypt_bytes(token: bytes) -> bytes:
    """Decrypt what :func:`encrypt_bytes` produced; raises ``ValueError`` on a wrong key."""
    try:
        return _fernet().decrypt(token)
    except InvalidToken as error:
        raise ValueError("Stored data cannot be decrypted with this server's key.") from error


def mask(value: str | None) -> str | None:
    """Show a secret as its last four characters only."""
    if not value:
        return value
    return "…" + value[-4:] if len(value) > 8 else "…"
