"""Connection keys in log lines: only their prefix is logged, since a webhook URL's key is a secret."""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask

#: A connection key (``core.integration.connections.KEY_PREFIX`` and its random part); the first
#: ten characters, the prefix the store pages show, are kept.
KEY_PATTERN = re.compile(r"(mzs_[A-Za-z0-9_-]{6})[A-Za-z0-9_-]+")
#: Loggers whose lines may carry a request URL: Flask's (this app's), the development server's
#: access log, and gunicorn's access and error logs.
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def mask_keys(text: str) -> str:
    """``/webhooks/mzs_abcdefXYZ…`` becomes ``/webhooks/mzs_abcdef…``."""
    return KEY_PATTERN.sub("\\1…", text)


def _masked(value: Any) -> Any:
    return mask_keys(value) if isinstance(value, str) else value


class MaskConnectionKeys(logging.Filter):
    """A logging filter that cuts connection keys down to their prefix in a record's message,
    arguments (a tuple or a mapping, such as gunicorn's access-log atoms) and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_keys(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            for name, value in list(dict.items(record.args)):
                if isinstance(value, str):
                    dict.__setitem__(record.args, name, mask_keys(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_keys(logging.Formatter().formatException(record.exc_info))
        return True


def install(logger: logging.Logger) -> None:
    """Add the filter to ``logger`` once."""
    if not any(isinstance(existing, MaskConnectionKeys) for existing in logger.filters):
        logger.addFilter(MaskConnectionKeys())


def init_app(app: Flask) -> None:
    """Mask keys in the app's own log and in the access and error logs of werkzeug and gunicorn."""
    install(app.logger)
    for name in LOGGERS:
        install(logging.getLogger(name))
