"""Journal entries: list, show, post manual entries and reverse them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.api.loading import load_body, load_query
from core.api.operations import operation
from core.api.pagination import paginate_query
from core.api.schemas.fields import URL_ID
from core.api.schemas.journal import (
    JournalEntrySchema,
    JournalQuery,
    ManualEntryCreateSchema,
    ReversalSchema,
)
from core.models import JournalEntry
from core.services.journal import post_manual_entry, reverse_entry
from core.services.lookup import get_or_404

TAG = "Journal"


@operation("List journal entries with their lines", TAG, response=JournalEntrySchema, query=JournalQuery, paginated=True)
def list_entries() -> dict[str, Any]:
    query = load_query(JournalQuery())
    statement = (
        select(JournalEntry)
        .options(selectinload(JournalEntry.lines))
        .order_by(JournalEntry.date.desc(), JournalEntry.id.desc())
    )
    for name in ("source_type", "source_number"):
        if query.get(name) is not None:
            statement = statement.where(getattr(JournalEntry, name) == query[name])
    if query.get("date_from"):
        statement = statement.where(JournalEntry.date >= query["date_from"])
    if query.get("date_to"):
        statement = statement.where(JournalEntry.date <= query["date_to"])
    return paginate_query(statement, JournalEntrySchema(), query)


@operation("Show a journal entry", TAG, response=JournalEntrySchema)
def get_entry(entry_id: int) -> dict[str, Any]:
    return JournalEntrySchema().dump(get_or_404(JournalEntry, entry_id, "Journal entry"))


@operation(
    "Post a manual journal entry",
    TAG,
    body=ManualEntryCreateSchema,
    response=JournalEntrySchema,
    status=201,
    description="Debits must equal credits; group accounts take no postings.",
)
def create_entry() -> tuple[dict[str, Any], int, dict[str, str]]:
    entry = post_manual_entry(load_body(ManualEntryCreateSchema()))
    return _created(entry)


@operation(
    "Reverse a manual journal entry",
    TAG,
    body=ReversalSchema,
    response=JournalEntrySchema,
    status=201,
    description="Posts the mirror image; the body is optional. Document entries answer 422 "
    "(correct them through a return); an entry reversed before answers 409.",
)
def reverse(entry_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    details = load_body(ReversalSchema(), optional=True)
    get_or_404(JournalEntry, entry_id, "Journal entry")
    return _created(reverse_entry(entry_id, details["date"], details["memo"]))


def _created(entry: JournalEntry) -> tuple[dict[str, Any], int, dict[str, str]]:
    return JournalEntrySchema().dump(entry), 201, {"Location": url_for("api.journal_entries_get", entry_id=entry.id)}


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/journal-entries", "journal_entries_list", list_entries, methods=["GET"])
    blueprint.add_url_rule("/journal-entries", "journal_entries_create", create_entry, methods=["POST"])
    blueprint.add_url_rule(f"/journal-entries/<{URL_ID}:entry_id>", "journal_entries_get", get_entry, methods=["GET"])
    blueprint.add_url_rule(
        f"/journal-entries/<{URL_ID}:entry_id>/reverse", "journal_entries_reverse", reverse, methods=["POST"]
    )
