"""One page of the store's catalog synced at once: one query per lookup, batched writes, one opening balance (P4, O7)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import insert, or_, select

from core.extensions import db
from core.integration.categories import import_categories
from core.integration.products import ProductOutcome, completed, opening_key
from core.models import ExternalLink, Product, StoreConnection
from core.money import ZERO, money
from core.platform.base import StoreAPI, StoreAPIError
from core.platform.data import ProductData
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.upsert import insert_ignoring_conflicts

#: The opening balance's reference names the page's first and last SKU within this many characters.
REFERENCE_LENGTH = 100


class PageLinkMissing(LookupError):
    """A store product is linked to an ERP product that no longer exists: the page is synced one by one."""


def prepare_page(store: StoreConnection, products: list[ProductData], api: StoreAPI | None) -> list[ProductData]:
    """The page's products ready to write, before its transaction (this calls the store, and may commit).

    New products without a cost or categories get the ones the store's API gives (as
    :func:`~core.integration.products.upsert_from_store` does), and the store's categories are
    imported once when a product names categories none of which is imported yet.
    """
    ready = list(products)
    lacking = [i for i, data in enumerate(ready) if data.sku and (data.cost is None or not data.category_external_ids)]
    if lacking and api is not None:
        known = _known(store.id, [ready[i] for i in lacking])
        for i in lacking:
            data = ready[i]
            if data.external_id not in known[0] and data.sku not in known[1]:
                ready[i] = completed(data, api)
    wanted = {cid for data in ready if data.sku for cid in data.category_external_ids}
    if wanted and api is not None:
        linked = set(_categories(store.id, wanted))
        if any(data.sku and data.category_external_ids and not linked.intersection(data.category_external_ids)
               for data in ready):
            try:
                import_categories(store, api)
            except StoreAPIError:
                pass  # those products keep no category; the next event or sync sets it
    db.session.commit()  # end the read transaction: the page's write transaction starts fresh
    return ready


def write_page(store: StoreConnection, products: list[ProductData]) -> list[ProductOutcome]:
    """Create or update the page's products in the caller's transaction; one outcome per product, in order.

    The same rules as :func:`~core.integration.products.upsert_from_store`, product after product
    (a product later in the page sees the earlier ones), with each lookup made once for the page:
    the links of the store products, the ERP products by link or SKU, the links those products
    have, the barcodes taken and the categories. Products, links and updates are written in
    batches; the opening stock of the page's new products is one opening-balance document (O7)
    whose lines carry :func:`~core.integration.products.opening_key` each, unique in the database,
    so no product ever gets a second store opening. Any database error (a SKU another worker
    created meanwhile...) fails the whole page: the caller rolls back and syncs it one by one.
    """
    page = _Page.read(store, products)
    outcomes = [page.sync(data) for data in products]
    db.session.flush()  # the updates
    _insert_products(page.created)
    _write_links(store.id, page)
    _post_opening(store, page)
    return [item.outcome() if isinstance(item, _Later) else item for item in outcomes]


@dataclass(frozen=True)
class _Later:
    """An outcome whose product id is known once the page's new products are inserted."""

    name: str
    product: Product

    def outcome(self) -> ProductOutcome:
        return ProductOutcome(self.name, self.product.id)


#: The columns of a new product the page writes (the others keep their defaults).
_COLUMNS = ("code", "name", "name_ar", "barcode", "sale_price", "purchase_price", "category_id")


def _insert_products(created: list[Product]) -> None:
    """Insert the page's new products in one statement, then read their ids back by code (unique):
    the same on every database, where an ORM flush would insert them one by one on SQLite."""
    if not created:
        return
    db.session.execute(insert(Product), [{name: getattr(p, name) for name in _COLUMNS} for p in created])
    ids = dict(db.session.execute(
        select(Product.code, Product.id).where(Product.code.in_(sorted(p.code for p in created)))).all())
    for product in created:
        product.id = ids[product.code]


@dataclass
class _Page:
    """What the page's lookups found, kept up to date as its products are synced in memory."""

    store_id: int
    own_links: dict[str, ExternalLink]
    by_id: dict[int, Product]
    by_code: dict[str, Product]
    linked: set[int]  # Python ids of the products the store has a link to
    barcodes: set[str]
    categories: dict[str, int]
    created: list[Product] = field(default_factory=list)  # not in the session: inserted at once
    new_links: list[tuple[Product, ProductData]] = field(default_factory=list)
    added_links: list[tuple[Product, ProductData]] = field(default_factory=list)
    openings: list[tuple[Product, ProductData, Decimal]] = field(default_factory=list)

    @classmethod
    def read(cls, store: StoreConnection, products: list[ProductData]) -> _Page:
        coded = [data for data in products if data.sku]
        own = {row.external_id: row for row in db.session.execute(
            select(ExternalLink).where(ExternalLink.store_id == store.id, ExternalLink.kind == "product",
                                       ExternalLink.external_id.in_(sorted({d.external_id for d in coded})))
        ).scalars()}
        found = list(db.session.execute(
            select(Product).where(or_(Product.code.in_(sorted({str(d.sku) for d in coded})),
                                      Product.id.in_(sorted({row.local_id for row in own.values()}))))
        ).scalars())
        linked = set(db.session.execute(
            select(ExternalLink.local_id).where(ExternalLink.store_id == store.id, ExternalLink.kind == "product",
                                                ExternalLink.local_id.in_(sorted(p.id for p in found)))
        ).scalars()) if found else set()
        wanted = sorted({str(d.barcode) for d in coded if d.barcode})
        barcodes = set(db.session.execute(
            select(Product.barcode).where(Product.barcode.in_(wanted))).scalars()) if wanted else set()
        names = {cid for data in coded for cid in data.category_external_ids}
        return cls(store.id, own, {p.id: p for p in found}, {p.code: p for p in found},
                   {id(p) for p in found if p.id in linked}, barcodes,
                   _categories(store.id, names) if names else {})

    def sync(self, data: ProductData) -> ProductOutcome | _Later:
        """The outcome for one product (of a new one, once it is inserted)."""
        if not data.sku:
            return ProductOutcome("skipped", code="no_sku", params={"external_id": data.external_id, "name": data.name})
        own = self.own_links.get(data.external_id)
        product = None
        if own is not None:
            product = self.by_id.get(own.local_id)
            if product is None:
                raise PageLinkMissing(f"store product {data.external_id} is linked to missing product {own.local_id}")
        product = product or self.by_code.get(data.sku)
        if product is None:
            return self._create(data)
        return self._update(product, own, data)

    def _create(self, data: ProductData) -> _Later:
        assert data.sku
        barcode = data.barcode if data.barcode and data.barcode not in self.barcodes else None
        product = Product(code=data.sku, name=data.name[:300], name_ar=data.name_ar, barcode=barcode,
                          sale_price=money(data.price), purchase_price=money(data.cost or ZERO),
                          category_id=self._category(data))
        self.created.append(product)
        self.by_code[data.sku] = product
        if barcode:
            self.barcodes.add(barcode)
        self.new_links.append((product, data))
        self.linked.add(id(product))
        quantity = data.quantity if data.quantity is not None and data.quantity > 0 else ZERO
        if quantity > 0:
            self.openings.append((product, data, quantity))
        return _Later("created", product)

    def _update(self, product: Product, own: ExternalLink | None, data: ProductData) -> ProductOutcome | _Later:
        assert data.sku
        if product.code != data.sku:
            other = self.by_code.get(data.sku)
            if other is not None and other is not product:
                return ProductOutcome("needs_attention", product.id, code="sku_taken",
                                      params={"old": product.code, "new": data.sku, "name": data.name,
                                              "product": other.name})
            if self.by_code.get(product.code) is product:
                del self.by_code[product.code]
            product.code = data.sku
            self.by_code[data.sku] = product
        product.name = data.name[:300]
        if data.name_ar:
            product.name_ar = data.name_ar[:300]
        product.sale_price = money(data.price)
        if data.cost is not None:
            product.purchase_price = money(data.cost)
        if data.barcode and data.barcode != product.barcode and data.barcode not in self.barcodes:
            self.barcodes.discard(product.barcode or "")
            product.barcode = data.barcode
            self.barcodes.add(data.barcode)
        category_id = self._category(data)
        if category_id is not None:
            product.category_id = category_id
        if own is None and id(product) not in self.linked:
            self.added_links.append((product, data))
            self.linked.add(id(product))
        elif own is not None and data.stock_ref and own.stock_ref != data.stock_ref:
            own.stock_ref = data.stock_ref
        return _Later("updated", product)

    def _category(self, data: ProductData) -> int | None:
        return next((self.categories[c] for c in data.category_external_ids if c in self.categories), None)


def _write_links(store_id: int, page: _Page) -> None:
    """Links of new products unless their store id is linked already; of updated ones, as ``link`` does."""
    def row(product: Product, data: ProductData) -> dict[str, object]:
        return {"store_id": store_id, "kind": "product", "external_id": data.external_id,
                "local_id": product.id, "stock_ref": data.stock_ref}

    insert_ignoring_conflicts(ExternalLink, [row(p, d) for p, d in page.new_links])
    if page.added_links:
        db.session.execute(insert(ExternalLink), [row(p, d) for p, d in page.added_links])


def _post_opening(store: StoreConnection, page: _Page) -> None:
    """The opening stock of the page's new products: one opening-balance document, a keyed line each (O7)."""
    warehouse_id = store.settings.get("warehouse_id")
    if not page.openings or not warehouse_id:
        return
    skus = [str(data.sku) for _, data, _ in page.openings]
    reference = skus[0] if len(skus) == 1 else f"{skus[0]} … {skus[-1]}"
    post_inbound(InboundDraft(
        warehouse_id=int(warehouse_id),
        kind="opening_balance",
        branch_id=store.settings.get("branch_id"),
        lines=[InboundLineDraft(product.id, quantity, money(data.cost or ZERO),
                                external_key=opening_key(store.id, product.id))
               for product, data, quantity in page.openings],
        memo=f"Opening balance from store {store.name}",
        reference=reference[:REFERENCE_LENGTH],
    ))


def _known(store_id: int, products: list[ProductData]) -> tuple[set[str], set[str]]:
    """The store ids linked already and the SKUs the ERP has, among ``products``."""
    linked = set(db.session.execute(
        select(ExternalLink.external_id).where(
            ExternalLink.store_id == store_id, ExternalLink.kind == "product",
            ExternalLink.external_id.in_(sorted({d.external_id for d in products})))
    ).scalars())
    codes = set(db.session.execute(
        select(Product.code).where(Product.code.in_(sorted({str(d.sku) for d in products})))).scalars())
    return linked, codes


def _categories(store_id: int, external_ids: set[str]) -> dict[str, int]:
    """The ERP category of each of the store's category ids that is imported."""
    return dict(db.session.execute(
        select(ExternalLink.external_id, ExternalLink.local_id).where(
            ExternalLink.store_id == store_id, ExternalLink.kind == "category",
            ExternalLink.external_id.in_(sorted(external_ids)))
    ).all())
