"""The main navigation: sections appear once their blueprint is registered, for the roles allowed."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from core.web.auth import can

#: (endpoint, label, lowest role)
SECTIONS = (
    ("dashboard.index", _l("Dashboard"), "viewer"),
    ("accounting.accounts", _l("Accounting"), "viewer"),
    ("sales.invoices", _l("Sales"), "viewer"),
    ("catalog.products", _l("Catalog"), "viewer"),
    ("stores.index", _l("Stores"), "viewer"),
    ("sync.log", _l("Sync"), "viewer"),
    ("plugins.index", _l("Plugins"), "admin"),
)


def nav_items() -> list[tuple[str, str]]:
    return [
        (endpoint, str(label))
        for endpoint, label, role in SECTIONS
        if endpoint in current_app.view_functions and can(role)
    ]
