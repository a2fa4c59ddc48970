"""Store products in the ERP: matched by store link then SKU, created with an opening balance, updated (P1, P3, O7)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select, union_all
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.categories import import_categories
from core.integration.links import link, link_if_free, link_row, linked_id, store_link_for
from core.integration.synclog import log_event
from core.models import ExternalLink, InboundLine, InboundRequisition, Product, StoreConnection
from core.money import ZERO, money
from core.platform.base import StoreAPI, StoreAPIError
from core.platform.data import OrderLineData, ProductData
from core.services.errors import Invalid
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.transaction import atomic

#: Why a store product was skipped or held, by reason code; the params fill in the English text.
REASONS = {
    "no_sku": "store product {external_id} ({name}) has no SKU",
    "sku_taken": "the store changed the SKU of {name} from {old} to {new}, which ERP product {product} already has; "
                 "give one of them another SKU, then sync again",
    "cost_set": "purchase price set to {cost}",
    "cost_revalued": "purchase price set to {cost}; the stock left from the store's opening balance "
                     "revalued by {change}",
    "cost_unknown_product": "the store's cost {cost} is for a product the ERP does not have ({ref}); "
                            "it is read again when the product is created",
}

#: The ERP product every store's fee lines (gift wrap, cash-on-delivery fees) are booked against (O5).
STORE_FEE_CODE = "STORE-FEE"
STORE_FEE_NAME = "Store fees"
STORE_FEE_NAME_AR = "رسوم المتجر"


@dataclass(frozen=True)
class ProductOutcome:
    """What a product sync did: ``created``, ``updated``, ``skipped`` (P3) or ``needs_attention`` (held,
    nothing changed); ``code`` and ``params`` say why it was skipped or held (see :data:`REASONS`)."""

    outcome: str
    product_id: int | None = None
    code: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        """The reason in English, for the sync log and the report."""
        return REASONS[self.code].format(**self.params) if self.code else None


def opening_key(store_id: int, product_id: int) -> str:
    """The unique key of the opening balance a store brought for a product it created (O7, O8)."""
    return f"store:{store_id}:opening:product:{product_id}"


def store_opening_numbers(store_id: int, product: Product) -> list[str]:
    """The numbers of the documents holding the store's opening balance of ``product`` (O7): one of its
    own (keyed :func:`opening_key`, or by the former key, its code), or a synced page's (a keyed line)."""
    keys = (opening_key(store_id, product.id), f"store:{store_id}:opening:{product.code}")
    own = select(InboundRequisition.number).where(InboundRequisition.external_key.in_(keys))
    in_page = (select(InboundRequisition.number)
               .join(InboundLine, InboundLine.requisition_id == InboundRequisition.id)
               .where(InboundLine.external_key == keys[0]))
    return list(db.session.execute(union_all(own, in_page)).scalars())


def product_id_for_sku(sku: str) -> int | None:
    return db.session.execute(select(Product.id).where(Product.code == sku)).scalar_one_or_none()


def create_from_store(
    store: StoreConnection, data: ProductData, opening_quantity: Decimal, *, link_to_store: bool = True,
    api: StoreAPI | None = None,
) -> int:
    """Create the product, link it, and bring ``opening_quantity`` into the store's warehouse (O7).

    The product and its opening balance are one transaction, so no other worker ever sees the
    product without its stock. Created once under concurrency: the product's unique code
    decides (its insert runs in a savepoint); a worker that loses the race waits for the
    winner's commit, then gets the winner's id and posts no second opening balance. A store id
    linked already (e.g. the store's product of another variant, met in an order) keeps its
    link; ``link_to_store`` is false when ``data`` comes from an order line, not from the
    store's own product data. A category the product names that is not imported yet is imported
    first, through ``api`` (see :func:`_category_id`).
    """
    assert data.sku
    category_id = _category_id(store, data, api)
    with atomic():
        try:
            with db.session.begin_nested():
                product = Product(
                    code=data.sku,
                    name=data.name[:300],
                    name_ar=data.name_ar,
                    barcode=data.barcode if data.barcode and not _barcode_taken(data.barcode) else None,
                    sale_price=money(data.price),
                    purchase_price=money(data.cost or ZERO),
                    category_id=category_id,
                )
                db.session.add(product)
                db.session.flush()
        except IntegrityError:
            found = product_id_for_sku(data.sku)
            if found is None:
                raise
            return found  # another worker created it, with its opening balance, in one commit
        if link_to_store:
            link_if_free(store.id, "product", data.external_id, product.id, data.stock_ref)
        if opening_quantity > 0 and store.settings.get("warehouse_id"):
            post_inbound(
                InboundDraft(
                    warehouse_id=int(store.settings["warehouse_id"]),
                    kind="opening_balance",
                    branch_id=store.settings.get("branch_id"),
                    lines=[InboundLineDraft(product.id, opening_quantity, money(data.cost or ZERO))],
                    memo=f"Opening balance from store {store.name}",
                    reference=data.sku,
                    external_key=opening_key(store.id, product.id),
                )
            )
        return product.id


def store_fee_product_id() -> int:
    """The non-stock ERP product store fee lines are booked against (O5), created on first use.

    Created once under concurrency like :func:`create_from_store`: the product's unique code decides
    (its insert runs in a savepoint), and a worker that loses the race gets the winner's product. It
    joins the caller's transaction when there is one. A product with its code that tracks stock (made
    by hand) is refused: a fee must never move stock.
    """
    with atomic():
        product = _store_fee_product()
        if product is None:
            try:
                with db.session.begin_nested():
                    product = Product(code=STORE_FEE_CODE, name=STORE_FEE_NAME, name_ar=STORE_FEE_NAME_AR,
                                      stock_tracked=False, sale_price=ZERO, purchase_price=ZERO)
                    db.session.add(product)
                    db.session.flush()
            except IntegrityError:
                product = _store_fee_product()
                if product is None:
                    raise
        if product.stock_tracked:
            raise Invalid(f"product {STORE_FEE_CODE} ({product.name}), which store fees are booked against, "
                          "tracks stock; turn its stock tracking off, then re-process the order")
        return product.id


def _store_fee_product() -> Product | None:
    return db.session.execute(
        select(Product).where(Product.code == STORE_FEE_CODE).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def from_order_line(line: OrderLineData) -> ProductData:
    """Product data built from an order line, when the store API cannot say more."""
    return ProductData(
        external_id=line.product_external_id or f"sku:{line.sku}",
        sku=line.sku,
        name=line.name,
        price=line.unit_price,
    )


def upsert_from_store(store: StoreConnection, data: ProductData, api: StoreAPI | None = None) -> ProductOutcome:
    """Create or update the ERP product from the store's data (P1); no SKU → skipped (P3).

    A new product whose data has no cost (a platform whose product events leave it out) is
    created at the cost the store's API (``api``) gives for it, so its opening balance is valued
    at the store's cost (O7). The ERP product is the one the store's product is linked to, else the one with its SKU. When a
    linked product's SKU was edited in the store, the ERP product's code follows it; when another
    ERP product already has the new SKU, nothing changes and the product is held (``sku_taken``).
    """
    if not data.sku:
        return ProductOutcome("skipped", code="no_sku", params={"external_id": data.external_id, "name": data.name})
    product_id = linked_id(store.id, "product", data.external_id)
    if product_id is None:
        product_id = product_id_for_sku(data.sku)
    if product_id is None:
        quantity = data.quantity if data.quantity is not None and data.quantity > 0 else ZERO
        return ProductOutcome("created", create_from_store(store, completed(data, api), quantity, api=api))
    try:
        return _update(store, data, product_id, api)
    except IntegrityError:
        held = _held_for_taken_sku(db.session.get(Product, product_id), data)
        if held is None:
            raise
        return held  # another worker gave the SKU to another product meanwhile


def sync_store_product(store: StoreConnection, data: ProductData, *, delivery_id: int | None = None,
                       api: StoreAPI | None = None) -> ProductOutcome:
    """:func:`upsert_from_store`, then a sync-log entry saying what came of it (V1)."""
    result = upsert_from_store(store, data, api)
    status = {"created": "done", "updated": "done"}.get(result.outcome, result.outcome)
    with atomic():
        log_event(store.id, "product", status, external_id=data.external_id, reason=result.reason or result.outcome,
                  delivery_id=delivery_id)
    return result


@dataclass(frozen=True)
class KnownProducts:
    """What the ERP knows of an order's products, read at once (see :func:`known_products`)."""

    by_sku: dict[str, int]
    #: The store's product ids linked to ERP products.
    linked: dict[str, int]
    #: ERP products (of those found by SKU) that have a link to one of the store's products.
    store_linked: frozenset[int]


def known_products(store_id: int, lines: list[OrderLineData]) -> KnownProducts:
    """The products of ``lines`` by SKU and their links in the store, in two queries for the whole order."""
    skus = sorted({line.sku for line in lines if line.sku})
    by_sku = {code: product_id for code, product_id
              in db.session.execute(select(Product.code, Product.id).where(Product.code.in_(skus)))} if skus else {}
    external_ids = sorted({line.product_external_id for line in lines if line.product_external_id})
    linked: dict[str, int] = {}
    store_linked: set[int] = set()
    if external_ids or by_sku:
        rows = db.session.execute(
            select(ExternalLink.external_id, ExternalLink.local_id).where(
                ExternalLink.store_id == store_id, ExternalLink.kind == "product",
                ExternalLink.external_id.in_(external_ids) | ExternalLink.local_id.in_(list(by_sku.values())),
            )
        ).all()
        linked = {external_id: local_id for external_id, local_id in rows if external_id in external_ids}
        store_linked = {local_id for _, local_id in rows}
    return KnownProducts(by_sku, linked, frozenset(store_linked))


def product_for_order_line(
    store: StoreConnection, line: OrderLineData, store_product: Callable[[str], ProductData | None],
    known: KnownProducts | None = None,
) -> int | None:
    """The ERP product an order line books against, or ``None`` when the ERP has none yet (O7).

    The line's SKU decides (O6) unless the line's store product is linked to another ERP product
    and the store confirms the SKU edit: ``store_product(sku)`` (the store's API) answers with that
    very product. The linked product then follows the new SKU, or is held (``sku_taken``), and the
    line books against it either way. A product found by SKU gets linked to the store's product
    when the store confirms it, so that a later SKU edit renames it instead of creating another.
    """
    assert line.sku
    if known is not None:  # read for the whole order (nothing was created or linked since)
        linked = known.linked.get(line.product_external_id) if line.product_external_id else None
        by_sku = known.by_sku.get(line.sku)
    else:
        linked = linked_id(store.id, "product", line.product_external_id)
        by_sku = product_id_for_sku(line.sku)
    if linked is not None and linked == by_sku:
        return linked
    if linked is None and (by_sku is None or not line.product_external_id
                           or _has_store_link(store.id, by_sku, known)):
        return by_sku
    data = store_product(line.sku)
    confirmed = data is not None and data.sku == line.sku and data.external_id == line.product_external_id
    if not confirmed:
        # The store could not confirm (its API failed, or answered otherwise). An SKU the ERP knows
        # decides (O6); an unknown one on a linked store product still names the linked product,
        # never a new one (the SKU edit is applied by the product's update or the next sync).
        return linked if by_sku is None and linked is not None else by_sku
    assert data is not None
    if linked is not None:
        sync_store_product(store, data)
        return linked
    with atomic():
        link_if_free(store.id, "product", data.external_id, by_sku, data.stock_ref)
    return by_sku


def _has_store_link(store_id: int, product_id: int, known: KnownProducts | None) -> bool:
    if known is not None:
        return product_id in known.store_linked
    return store_link_for(store_id, "product", product_id) is not None


def _update(store: StoreConnection, data: ProductData, product_id: int, api: StoreAPI | None) -> ProductOutcome:
    assert data.sku
    category_id = _category_id(store, data, api)
    with atomic():
        product = db.session.get(Product, product_id)
        if product.code != data.sku:
            held = _held_for_taken_sku(product, data)
            if held is not None:
                return held
            product.code = data.sku
        product.name = data.name[:300]
        if data.name_ar:
            product.name_ar = data.name_ar[:300]
        product.sale_price = money(data.price)
        if data.cost is not None:
            product.purchase_price = money(data.cost)
        if data.barcode and data.barcode != product.barcode and not _barcode_taken(data.barcode):
            product.barcode = data.barcode
        if category_id is not None:
            product.category_id = category_id
        own = link_row(store.id, "product", data.external_id)
        if own is None and store_link_for(store.id, "product", product_id) is None:
            link(store.id, "product", data.external_id, product_id, data.stock_ref)
        elif own is not None and data.stock_ref and own.stock_ref != data.stock_ref:
            own.stock_ref = data.stock_ref
    return ProductOutcome("updated", product_id)


def _held_for_taken_sku(product: Product, data: ProductData) -> ProductOutcome | None:
    """``sku_taken`` when another ERP product has the store's new SKU for ``product``."""
    other = db.session.execute(
        select(Product).where(Product.code == data.sku, Product.id != product.id)
    ).scalar_one_or_none()
    if other is None:
        return None
    return ProductOutcome("needs_attention", product.id, code="sku_taken",
                          params={"old": product.code, "new": str(data.sku), "name": data.name, "product": other.name})


def completed(data: ProductData, api: StoreAPI | None) -> ProductData:
    """``data`` with the cost and categories the store's API gives for the same product, when ``data``
    has none (platforms whose product events leave them out)."""
    if (data.cost is not None and data.category_external_ids) or api is None or not data.sku:
        return data
    try:
        found = api.fetch_product(data.sku)
    except StoreAPIError:
        return data  # created without; the store's next cost event or product sync sets them
    if found is None or found.sku != data.sku or found.external_id != data.external_id:
        return data
    return dataclasses.replace(data, cost=data.cost if data.cost is not None else found.cost,
                               category_external_ids=data.category_external_ids or found.category_external_ids)


def _barcode_taken(barcode: str) -> bool:
    return db.session.execute(select(Product.id).where(Product.barcode == barcode)).first() is not None


def _category_id(store: StoreConnection, data: ProductData, api: StoreAPI | None = None) -> int | None:
    """The ERP category of the product's first store category that has one (P1).

    When the product names categories none of which is imported yet, the store's categories are
    imported on the fly through ``api`` (every one not linked yet, C3), then looked up again. Call
    it outside a transaction: the import commits its own.
    """
    found = _linked_category(store, data)
    if found is not None or not data.category_external_ids or api is None:
        return found
    try:
        import_categories(store, api)
    except StoreAPIError:
        return None  # the product keeps no category; the next event or sync sets it
    return _linked_category(store, data)


def _linked_category(store: StoreConnection, data: ProductData) -> int | None:
    for external_id in data.category_external_ids:
        found = linked_id(store.id, "category", external_id)
        if found is not None:
            return found
    return None


def stock_ref(store_id: int, product_id: int) -> ExternalLink | None:
    return store_link_for(store_id, "product", product_id)
