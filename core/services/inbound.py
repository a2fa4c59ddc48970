"""Posting inbound requisitions and opening balances: stock in at a cost."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import Account, Branch, InboundLine, InboundRequisition, Product, Warehouse
from core.money import ZERO, money, quantity, unit_cost
from core.services.chart import account_by_key
from core.services.errors import DuplicateDocument, Invalid
from core.services.journal import Posting, write_entry
from core.services.lookup import referenced
from core.services.numbering import next_number
from core.services.stock import lock_levels, receive
from core.services.transaction import atomic

#: The account credited against inventory when the caller names none.
DEFAULT_COUNTER_ACCOUNT = {
    "opening_balance": "opening_balance_equity",
    "inbound_requisition": "goods_received",
}


@dataclass
class InboundLineDraft:
    product_id: int
    quantity: Decimal
    unit_cost: Decimal
    #: The line's own unique key (e.g. a store's opening balance of this product among others).
    external_key: str | None = None


@dataclass
class InboundDraft:
    warehouse_id: int
    lines: list[InboundLineDraft]
    kind: str = "inbound_requisition"
    date: date = field(default_factory=date.today)
    branch_id: int | None = None
    counter_account_id: int | None = None
    memo: str | None = None
    reference: str | None = None
    external_key: str | None = None


def post_inbound(draft: InboundDraft) -> InboundRequisition:
    """Post an inbound requisition or opening balance in one transaction."""
    try:
        with atomic():
            requisition = _write_inbound(draft)
            db.session.flush()
        return requisition
    except IntegrityError:
        existing = _existing(draft)
        if existing is None:
            raise
        key, found = existing
        raise DuplicateDocument(f"A requisition with key {key} exists: {found.number}.", found.id) from None


def _existing(draft: InboundDraft) -> tuple[str, InboundRequisition] | None:
    """The requisition holding the draft's key, or one of its lines' keys, with that key."""
    if draft.external_key is not None:
        found = db.session.execute(
            select(InboundRequisition).where(InboundRequisition.external_key == draft.external_key)
        ).scalar_one_or_none()
        if found is not None:
            return draft.external_key, found
    keys = [line.external_key for line in draft.lines if line.external_key is not None]
    if not keys:
        return None
    row = db.session.execute(
        select(InboundLine.external_key, InboundRequisition)
        .join(InboundRequisition, InboundLine.requisition_id == InboundRequisition.id)
        .where(InboundLine.external_key.in_(keys))
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def _write_inbound(draft: InboundDraft) -> InboundRequisition:
    if draft.kind not in DEFAULT_COUNTER_ACCOUNT:
        raise Invalid(
            "kind must be 'inbound_requisition' or 'opening_balance'.",
            {"kind": ["inbound_requisition or opening_balance"]},
        )
    referenced(Warehouse, draft.warehouse_id, "warehouse_id")
    if draft.branch_id is not None:
        referenced(Branch, draft.branch_id, "branch_id")
    counter = (
        referenced(Account, draft.counter_account_id, "counter_account_id")
        if draft.counter_account_id is not None
        else account_by_key(DEFAULT_COUNTER_ACCOUNT[draft.kind])
    )
    if not draft.lines:
        raise Invalid("A requisition needs at least one line.", {"lines": ["at least one line"]})
    problems: dict[str, list[str]] = {}
    # All the lines' products in one query; a missing one is named by referenced().
    ids = {line.product_id for line in draft.lines if isinstance(line.product_id, int)}
    found = {p.id: p for p in db.session.execute(select(Product).where(Product.id.in_(sorted(ids)))).scalars()} \
        if len(ids) > 1 else {}
    products = []
    for index, line in enumerate(draft.lines):
        product = found.get(line.product_id) or referenced(Product, line.product_id, f"lines.{index}.product_id")
        products.append(product)
        if not product.stock_tracked:
            problems[f"lines.{index}.product_id"] = [f"{product.code} is not stock-tracked"]
        if quantity(line.quantity) <= 0:
            problems[f"lines.{index}.quantity"] = ["must be greater than 0"]
        if line.unit_cost < 0:
            problems[f"lines.{index}.unit_cost"] = ["cannot be negative"]
    if problems:
        raise Invalid("The requisition is not valid.", problems)

    number = next_number(draft.kind)
    levels = lock_levels({(p.id, draft.warehouse_id) for p in products})
    lines = []
    for line, product in zip(draft.lines, products, strict=True):
        amount = money(quantity(line.quantity) * line.unit_cost)
        receive(
            levels[(product.id, draft.warehouse_id)],
            line.quantity,
            amount,
            kind=draft.kind,
            source_type=draft.kind,
            source_number=number,
        )
        lines.append({
            "product_id": product.id,
            "quantity": quantity(line.quantity),
            "unit_cost": unit_cost(line.unit_cost),
            "amount": amount,
            "external_key": line.external_key,
        })
    total = sum((line["amount"] for line in lines), ZERO)
    entry = write_entry(
        draft.date,
        [
            Posting(account_by_key("inventory").id, debit=total, branch_id=draft.branch_id),
            Posting(counter.id, credit=total, branch_id=draft.branch_id),
        ],
        memo=draft.memo or f"{draft.kind.replace('_', ' ').capitalize()} {number}",
        source_type=draft.kind,
        source_number=number,
    )
    db.session.flush()
    requisition = InboundRequisition(
        number=number,
        date=draft.date,
        kind=draft.kind,
        warehouse_id=draft.warehouse_id,
        branch_id=draft.branch_id,
        counter_account_id=counter.id,
        total=total,
        journal_entry_id=entry.id if entry else None,
        memo=draft.memo,
        reference=draft.reference,
        external_key=draft.external_key,
    )
    db.session.add(requisition)
    db.session.flush()
    # The lines in one statement (an ORM flush inserts them one by one on SQLite); read on first use.
    db.session.execute(insert(InboundLine), [{**line, "requisition_id": requisition.id} for line in lines])
    db.session.expire(requisition, ["lines"])
    return requisition
