"""Importing a store's categories into the core's category tree (C3), once."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.links import link, linked_id
from core.integration.synclog import log_event
from core.models import Category, StoreConnection
from core.platform.base import StoreAPI
from core.services.transaction import atomic


def import_categories(store: StoreConnection, api: StoreAPI) -> int:
    """Create a core category for each store category not linked yet; returns how many were new."""
    created = 0
    for category in api.list_categories():
        if linked_id(store.id, "category", category.external_id) is not None:
            continue
        try:
            with atomic():
                parent_id = linked_id(store.id, "category", category.parent_external_id)
                row = Category(name=category.name, name_ar=category.name_ar, parent_id=parent_id)
                db.session.add(row)
                db.session.flush()
                link(store.id, "category", category.external_id, row.id)
            created += 1
        except IntegrityError:  # linked meanwhile by another worker
            continue
    with atomic():
        log_event(store.id, "categories", "done", direction="outbound", reason=f"{created} new categories")
    return created
