"""Schema of the company settings."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

from core.api.schemas.fields import decimal, text


class CompanySchema(Schema):
    name = text(200, required=True)
    vat_number = text(30, allow_none=True)
    base_currency = fields.String(
        validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code such as SAR"), required=True
    )
    vat_rate = decimal(4, maximum=Decimal("1"), required=True, metadata={"description": "0.15 for 15 %."})


class CompanyChangesSchema(CompanySchema):
    """Any of the company settings; the others stay (``PUT /company``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=True, **kwargs)
