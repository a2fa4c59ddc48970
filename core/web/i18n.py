"""Arabic and English: the locale of each request, switching it, and locale-aware formatting."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from core.extensions import db
from core.services.transaction import atomic
from core.web.redirects import safe_next

blueprint = Blueprint("i18n", __name__)

RTL_LOCALES = ("ar",)


def select_locale() -> str:
    """The signed-in user's language, else the one chosen this session, else the browser's."""
    languages = current_app.config["LANGUAGES"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


@blueprint.post("/language/<code>")
def switch_language(code: str):  # noqa: ANN201
    """Switch the language (kept on the user, or in the session before sign-in)."""
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if getattr(current_user, "is_authenticated", False):
            with atomic():
                user = db.session.merge(current_user._get_current_object())
                user.locale = code
    home = url_for("dashboard.index")
    target = request.form.get("next")
    if not target and request.referrer and request.referrer.startswith(request.host_url):
        target = "/" + request.referrer[len(request.host_url):]
    return redirect(return_address(safe_next(target, home)))


def return_address(target: str) -> str:
    """``target`` (a same-site path) when it answers GET; else the nearest page above it that does
    (a form's POST-only address → its page), else the dashboard."""
    parts = urlsplit(target)
    path, query = parts.path, parts.query
    while path not in ("", "/"):
        if _answers_get(path):
            return path + ("?" + query if query else "")
        path, query = path.rstrip("/").rsplit("/", 1)[0], ""
    return url_for("dashboard.index")


def _answers_get(path: str) -> bool:
    adapter = current_app.url_map.bind(request.host, script_name=request.root_path or None)
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:  # e.g. a missing trailing slash: the page exists
        return True
    except HTTPException:  # 404 or 405
        return False
    return True


def is_rtl() -> bool:
    return str(get_locale()) in RTL_LOCALES


def money(value: Decimal | None) -> str:
    """An amount with two decimals, grouped per locale (Latin digits, readable in both)."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.00;-#,##0.00")


def quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.###;-#,##0.###")


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "medium")
    return format_date(value, "medium")


def template_globals() -> dict[str, Any]:
    from core.web.auth import can
    from core.web.navigation import nav_items

    return {"is_rtl": is_rtl, "get_locale": get_locale, "nav_items": nav_items, "can": can}


def filters() -> dict[str, Any]:
    return {"money": money, "quantity": quantity, "day": day}
