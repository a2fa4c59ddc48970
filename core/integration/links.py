"""External links: which core record a store's id stands for (one per store, kind and id)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.models import ExternalLink
from core.services.upsert import insert_ignoring_conflicts


def linked_id(store_id: int, kind: str, external_id: str | None) -> int | None:
    """The core record id linked to ``external_id``, or ``None``."""
    if external_id is None:
        return None
    return db.session.execute(
        select(ExternalLink.local_id).where(
            ExternalLink.store_id == store_id,
            ExternalLink.kind == kind,
            ExternalLink.external_id == external_id,
        )
    ).scalar_one_or_none()


def link_row(store_id: int, kind: str, external_id: str) -> ExternalLink | None:
    """The link row of ``external_id`` (to update its ``stock_ref``), or ``None``."""
    return db.session.execute(
        select(ExternalLink).where(
            ExternalLink.store_id == store_id, ExternalLink.kind == kind, ExternalLink.external_id == external_id
        )
    ).scalar_one_or_none()


def link(store_id: int, kind: str, external_id: str, local_id: int, stock_ref: str | None = None) -> None:
    """Link within the caller's transaction; a second link of the same id raises IntegrityError."""
    db.session.add(
        ExternalLink(store_id=store_id, kind=kind, external_id=external_id, local_id=local_id, stock_ref=stock_ref)
    )


def link_if_free(store_id: int, kind: str, external_id: str, local_id: int, stock_ref: str | None = None) -> None:
    """Link within the caller's transaction unless ``external_id`` is linked already (no error then)."""
    insert_ignoring_conflicts(ExternalLink, [{
        "store_id": store_id, "kind": kind, "external_id": external_id, "local_id": local_id, "stock_ref": stock_ref,
    }])


def store_link_for(store_id: int, kind: str, local_id: int) -> ExternalLink | None:
    """The store's link to a core record (e.g. a product's variant id in that store)."""
    return db.session.execute(
        select(ExternalLink).where(
            ExternalLink.store_id == store_id, ExternalLink.kind == kind, ExternalLink.local_id == local_id
        )
    ).scalars().first()
