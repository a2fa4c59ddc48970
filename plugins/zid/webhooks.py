"""Zid webhooks: Basic credentials, deduplication key, parsing into StoreEvents."""
from __future__ import annotations

#: The topics Mizan subscribes, each to its own URL ``/webhooks/<key>/<topic>``.
SUBSCRIBED_TOPICS = ("order.create", "order.status.update", "order.payment_status.update",
                     "product.create", "product.update", "product.delete")
