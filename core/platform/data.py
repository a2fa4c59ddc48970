"""Platform-neutral store data: what a platform plugin turns its payloads into."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

ZERO = Decimal("0")
#: What an order line is: ``item`` (a product) or ``fee`` (a store charge with no product: gift wrap, a COD fee).
LINE_KINDS = ("item", "fee")


@dataclass(frozen=True)
class CustomerData:
    """The buyer of a store order; ``None`` on the order means a guest."""

    external_id: str | None
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class OrderLineData:
    """One order line as the store priced it. Amounts are per line except ``unit_price``.

    A line of ``kind`` ``fee`` is a store charge with no product (gift wrap, a cash-on-delivery fee): it needs
    no SKU, is booked as a line of the ERP's non-stock "Store fees" product with ``name`` as its description,
    and never moves stock.
    """

    external_id: str
    sku: str | None
    name: str
    quantity: Decimal
    unit_price: Decimal
    #: Discount on this line (same VAT basis as ``unit_price``).
    discount: Decimal = ZERO
    #: The VAT the store charged on this line, when it says.
    tax: Decimal | None = None
    product_external_id: str | None = None
    #: ``item`` or ``fee`` (see :data:`LINE_KINDS`).
    kind: str = "item"


@dataclass(frozen=True)
class OrderData:
    """A store order, validated: everything the core needs to book it."""

    external_id: str
    number: str
    status: str
    currency: str
    prices_include_vat: bool
    lines: list[OrderLineData]
    total: Decimal
    customer: CustomerData | None = None
    shipping: Decimal = ZERO
    #: Order-level discount not already on the lines (same VAT basis as prices).
    order_discount: Decimal = ZERO
    tax_total: Decimal | None = None
    created_at: datetime | None = None
    cancelled: bool = False
    #: The store's version of the order (its last change); an older version never overwrites a newer one (O11).
    modified_at: datetime | None = None
    #: Statuses the store says the order went through before its current one (e.g. ``delivered`` for an order
    #: now ``reversed``), when it says: an order that reached a completed status is booked even if the first
    #: version the ERP sees has moved on (returned before its webhooks were handled, or found by reconciliation).
    reached_statuses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RefundLineData:
    """A refunded quantity of one order line."""

    line_external_id: str
    quantity: Decimal
    restock: bool = True


@dataclass(frozen=True)
class RefundData:
    """A refund or return: some lines, the whole order, or only an amount."""

    external_id: str
    order_external_id: str
    lines: list[RefundLineData] = field(default_factory=list)
    whole_order: bool = False
    include_shipping: bool = False
    #: For a refund that names only an amount (VAT-inclusive), with no lines.
    amount: Decimal | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class CategoryData:
    """A store category."""

    external_id: str
    name: str
    parent_external_id: str | None = None
    #: The Arabic name, when the store keeps one apart (``name`` is then the other language's).
    name_ar: str | None = None


@dataclass(frozen=True)
class ProductData:
    """A store product (or variant), as master data."""

    external_id: str
    sku: str | None
    name: str
    price: Decimal = ZERO
    cost: Decimal | None = None
    barcode: str | None = None
    quantity: Decimal | None = None
    category_external_ids: list[str] = field(default_factory=list)
    #: Platform id needed to push stock for this product (variant / inventory item id).
    stock_ref: str | None = None
    #: The Arabic name, when the store keeps one apart (``name`` is then the other language's).
    name_ar: str | None = None


@dataclass(frozen=True)
class LocationData:
    """An inventory location of a store (a warehouse, a branch); one of them is linked to the store's
    ERP warehouse (its credential ``location_id``), else the one ``is_default`` marks."""

    external_id: str
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class CostData:
    """A store product's unit cost, sent apart from the product (e.g. on its inventory item).

    The product is named by ``stock_ref`` (as :attr:`ProductData.stock_ref` names it) and/or ``sku``.
    """

    cost: Decimal
    stock_ref: str | None = None
    sku: str | None = None


@dataclass(frozen=True)
class StockQuantity:
    """An absolute quantity to push to a store for one product."""

    sku: str
    quantity: Decimal
    external_id: str | None = None
    stock_ref: str | None = None


@dataclass(frozen=True)
class StoreEvent:
    """A parsed webhook: what happened, and the validated data that goes with it.

    ``kind`` is one of ``order`` (``order`` set), ``refund`` (``refund`` set),
    ``product`` (``product`` set), ``cost`` (``cost`` set: a product's new unit cost), ``authorize`` (``credentials`` set) or ``ignored``
    (an event the core does not act on; ``reason`` says why), or a reference that the core
    resolves through the store API before acting:

    - ``order_ref``: the order with id ``external_id``, fetched anew (``fetch_order_by_id``): for
      platforms whose deliveries cannot be proven untampered, or that send no order body;
    - ``refunds_ref``: the refunds of the order ``external_id`` (``list_refunds``); ``reference``
      names one refund id to book, or ``None`` for all of them.
    """

    kind: str
    name: str
    external_id: str
    order: OrderData | None = None
    refund: RefundData | None = None
    product: ProductData | None = None
    cost: CostData | None = None
    credentials: dict[str, Any] | None = None
    reason: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class ProductPage:
    """One page of a store's catalog and the cursor of the next page (``None`` at the end)."""

    products: list[ProductData]
    next_cursor: str | None = None
    #: How many products the store has in all, when it says (for progress).
    total: int | None = None


@dataclass(frozen=True)
class OrderPage:
    """One page of the orders a store modified since a moment, and the cursor of the next page.

    ``modified_through``: when the platform lists oldest change first, every order modified up to
    this moment is on this page or an earlier one, so a reconciliation may move its cursor there
    after handling the page (``None``: not known before the last page).
    """

    orders: list[OrderData]
    next_cursor: str | None = None
    modified_through: datetime | None = None


def nul_fields(value: Any, path: str = "") -> list[str]:
    """The paths (``order.lines[0].name``) of the texts in ``value`` that hold a NUL character.

    ``value`` is a store data object, or a list, dict or text inside one; database text columns
    cannot store NUL, so an event holding one cannot be acted on.
    """
    if isinstance(value, str):
        return [path or "text"] if "\x00" in value else []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [found for item in dataclasses.fields(value)
                for found in nul_fields(getattr(value, item.name), f"{path}.{item.name}".lstrip("."))]
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in nul_fields(str(key), f"{path}[key]") + nul_fields(item, f"{path}[{key!r}]")]
    if isinstance(value, list | tuple):
        return [found for index, item in enumerate(value) for found in nul_fields(item, f"{path}[{index}]")]
    return []
