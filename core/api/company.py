"""Company settings: anyone may read them, only an admin may change them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from core.api.loading import load_body
from core.api.operations import operation
from core.api.schemas.company import CompanyChangesSchema, CompanySchema
from core.services.company import company_settings
from core.services.transaction import atomic

TAG = "Company"


@operation("Company settings", TAG, response=CompanySchema)
def get_company() -> dict[str, Any]:
    return CompanySchema().dump(company_settings())


@operation(
    "Change company settings (admin)",
    TAG,
    body=CompanyChangesSchema,
    response=CompanySchema,
    description="Send any of name, vat_number, base_currency, vat_rate; the others stay.",
)
def update_company() -> dict[str, Any]:
    changes = load_body(CompanyChangesSchema())
    with atomic():
        settings = company_settings()
        for name, value in changes.items():
            setattr(settings, name, value)
    return CompanySchema().dump(company_settings())


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/company", "company_get", get_company, methods=["GET"])
    blueprint.add_url_rule("/company", "company_update", update_company, methods=["PUT"])
