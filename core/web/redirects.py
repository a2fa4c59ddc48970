"""Where a form may send the browser next: only a path on this site, never another host."""
from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` when it is a same-site absolute path (``/sales?page=2``), else ``fallback``.

    Refused: anything with a scheme or host (``https://x``, ``//x``), backslashes (browsers
    read ``/\\x`` as ``//x``), whitespace and control characters (``/\\t/x`` loses the tab
    and becomes ``//x``), and paths that do not start with a single ``/``.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return fallback
    return target
