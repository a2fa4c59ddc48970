"""Small builders that set up test data through the core services."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from core.models import Branch, Client, Product, Warehouse
from core.services.inbound import InboundDraft, InboundLineDraft, post_inbound
from core.services.invoices import InvoiceDraft, InvoiceLineDraft, post_invoice
from core.services.master_data import create_record

_counter = itertools.count(1)


class Builders:
    """Each method creates one thing through the services and returns it."""

    def warehouse(self, code: str | None = None) -> Warehouse:
        code = code or f"WH{next(_counter)}"
        return create_record(Warehouse, {"code": code, "name": f"Warehouse {code}"})

    def branch(self, code: str | None = None) -> Branch:
        code = code or f"BR{next(_counter)}"
        return create_record(Branch, {"code": code, "name": f"Branch {code}"})

    def client(self, name: str = "Client") -> Client:
        return create_record(Client, {"name": name})

    def product(self, code: str | None = None, sale_price: str = "100", **fields) -> Product:
        code = code or f"SKU-{next(_counter)}"
        return create_record(
            Product, {"code": code, "name": f"Product {code}", "sale_price": Decimal(sale_price), **fields}
        )

    def stock(self, product: Product, warehouse: Warehouse, qty: str, unit_cost: str):
        return post_inbound(
            InboundDraft(
                warehouse_id=warehouse.id,
                lines=[InboundLineDraft(product.id, Decimal(qty), Decimal(unit_cost))],
            )
        )

    def invoice(
        self,
        client: Client,
        branch: Branch,
        warehouse: Warehouse,
        lines: list[tuple[Product, str, str]],
        **options,
    ):
        """Post an invoice; ``lines`` are (product, quantity, unit price)."""
        return post_invoice(
            InvoiceDraft(
                client_id=client.id,
                branch_id=branch.id,
                warehouse_id=warehouse.id,
                date=options.pop("date", date(2026, 1, 15)),
                lines=[
                    InvoiceLineDraft(p.id, Decimal(q), Decimal(price)) for p, q, price in lines
                ],
                **options,
            )
        )
