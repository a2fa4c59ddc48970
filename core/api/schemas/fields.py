"""Field helpers: ids, money, quantities and rates as exact decimal strings."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate

MAX_ID = 2**31 - 1
#: URL converter for row ids: larger numbers are unknown URLs (404), not database errors.
URL_ID = f"int(max={MAX_ID})"
#: Larger amounts do not fit the NUMERIC(18, n) columns.
MAX_AMOUNT = Decimal("1000000000000")


#: How decimals appear in the OpenAPI document: strings, never floats.
DECIMAL_STRING = {"type": "string", "format": "decimal", "example": "120.00"}
#: The digits a decimal string may hold (ASCII only, no exponent), as documented.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class DecimalString(fields.Decimal):
    """A decimal sent as a JSON string such as ``"120.00"``: never a float, never an exponent."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal | None:
        if not isinstance(value, str):
            raise ValidationError('must be a string such as "120.00"')
        if not re.fullmatch(DECIMAL_PATTERN[1:-1], value):
            raise ValidationError('must be a decimal number such as "120.00"')
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only (not 1, "yes" or "on")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


def boolean(**kwargs: Any) -> fields.Boolean:
    return StrictBoolean(**kwargs)


def max_places(places: int) -> validate.Validator:
    """Refuse more decimal places than the column keeps (no silent rounding)."""

    class MaxPlaces(validate.Validator):
        def __call__(self, value: Decimal) -> Decimal:
            exponent = value.normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent > places:
                raise ValidationError(f"at most {places} decimal places")
            return value

    return MaxPlaces()


def decimal(
    places: int, *, minimum: Decimal | int = 0, positive: bool = False, maximum: Decimal = MAX_AMOUNT, **kwargs: Any
) -> fields.Decimal:
    """An exact decimal given and returned as a string, e.g. ``"120.00"``."""
    checks = [
        validate.Range(
            min=Decimal(minimum),
            min_inclusive=not positive,
            error="must be greater than {min}" if positive else "must be at least {min}",
        ),
        validate.Range(max=maximum, error="must be at most {max}"),
        max_places(places),
    ]
    metadata = {**DECIMAL_STRING, **kwargs.pop("metadata", {})}
    return DecimalString(as_string=True, validate=checks, metadata=metadata, **kwargs)


def money(**kwargs: Any) -> fields.Decimal:
    return decimal(2, **kwargs)


def quantity(**kwargs: Any) -> fields.Decimal:
    return decimal(3, **kwargs)


def unit_cost(**kwargs: Any) -> fields.Decimal:
    return decimal(4, **kwargs)


def amount_out() -> fields.Decimal:
    """A read-only decimal string."""
    return fields.Decimal(as_string=True, dump_only=True, metadata=DECIMAL_STRING)


def row_id(**kwargs: Any) -> fields.Integer:
    """A reference to a row by its id."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def text(max_length: int, *, required: bool = False, **kwargs: Any) -> fields.String:
    minimum = 1 if required else 0
    return fields.String(required=required, validate=validate.Length(min=minimum, max=max_length), **kwargs)


def query_id() -> fields.Integer:
    """An optional row id filter in a query string."""
    return fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


class ConfiguredMaxItems(validate.Validator):
    """At most ``app.config[key]`` items; apispec reads ``max`` and documents it as maxItems."""

    min = None
    equal = None

    def __init__(self, key: str, noun: str) -> None:
        self.key = key
        self.noun = noun

    @property
    def max(self) -> int:
        return int(current_app.config[self.key])

    def __call__(self, value: Any) -> Any:
        if len(value) > self.max:
            raise ValidationError(f"at most {self.max} {self.noun}")
        return value


class CappedList(fields.List):
    """A list whose item cap is checked before its items are read, so a huge list costs nothing."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list | tuple):
            for check in self.validators:
                if isinstance(check, ConfiguredMaxItems):
                    check(value)
        return super()._deserialize(value, attr, data, **kwargs)


def document_lines(line: type[Schema], *, minimum: int = 1, **kwargs: Any) -> fields.List:
    """A document's lines: ``minimum`` to ``API_MAX_DOCUMENT_LINES`` of them."""
    checks: list[validate.Validator] = [ConfiguredMaxItems("API_MAX_DOCUMENT_LINES", "lines")]
    if minimum:
        noun = "line" if minimum == 1 else "lines"
        words = {1: "one", 2: "two"}
        checks.insert(0, validate.Length(min=minimum, error=f"at least {words.get(minimum, minimum)} {noun}"))
    return CappedList(fields.Nested(line), validate=checks, **kwargs)
