"""Values shown through ``_(value)`` in the templates (roles, statuses, outcomes, directions, log kinds).

Listed here only so that ``pybabel extract`` puts them in the catalogue; nothing imports this module.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLES = (_l("admin"), _l("accountant"), _l("viewer"))

#: Store connections, documents, sync log entries, product-sync runs and their items.
STATUSES = (
    _l("active"), _l("pending"), _l("disabled"),
    _l("approved"), _l("paid"),
    _l("received"), _l("booked"), _l("done"), _l("skipped"), _l("needs_attention"), _l("failed"),
    _l("queued"), _l("running"), _l("processed"), _l("ignored"),
    _l("already_booked"), _l("not_found"), _l("created"), _l("updated"),
    _l("waiting"), _l("cancelled"), _l("returned"), _l("partly_returned"),
)

#: Payment directions.
DIRECTIONS = (_l("received"), _l("refunded"))

#: Kinds of sync log entries.
LOG_KINDS = (
    _l("order"), _l("refund"), _l("product"), _l("product_sync"), _l("stock"),
    _l("webhook"), _l("event"), _l("authorize"), _l("categories"),
)

#: Store credentials fields, labelled from their key (``access_token`` → "Access token").
CREDENTIAL_LABELS = (
    _l("Access token"), _l("Refresh token"), _l("Webhook secret"), _l("Api base"), _l("Store ref"),
    _l("Branch id"), _l("Shop domain"), _l("Client secret"), _l("Location id"), _l("Secret"),
    _l("Authorization"), _l("App id"), _l("Product prices include vat"), _l("Store url"), _l("Consumer key"),
    _l("Consumer secret"), _l("Restock refunds"), _l("Product prices include tax"),
)
