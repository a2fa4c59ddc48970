"""Refuse NUL characters in URLs and forms with 400 before they reach a view or the database."""
from __future__ import annotations

from collections.abc import Iterable

from flask import request
from werkzeug.exceptions import BadRequest

NUL = "\x00"
#: Webhook bodies are stored exactly as the platforms send them; their receiver decides.
UNGUARDED_BLUEPRINTS = frozenset({"webhooks"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def contains_nul(pairs: Iterable[tuple[str, str]]) -> bool:
    return any(NUL in key or NUL in value for key, value in pairs)


def refuse_nul() -> None:
    """400 when the path, the query string or a submitted form holds a NUL character."""
    if request.blueprint in UNGUARDED_BLUEPRINTS:
        return
    if NUL in request.path:
        raise BadRequest("NUL characters are not allowed in the URL.")
    if contains_nul(request.args.items(multi=True)):
        raise BadRequest("NUL characters are not allowed in the query parameters.")
    if request.mimetype in FORM_TYPES and contains_nul(request.form.items(multi=True)):
        raise BadRequest("NUL characters are not allowed in form fields.")

