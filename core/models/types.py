"""Exact fixed-point column type: NUMERIC on PostgreSQL, scaled INTEGER on SQLite."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class Fixed(TypeDecorator[Decimal]):
    """A Decimal with a fixed number of places, never stored as a float.

    SQLite has no exact decimal type (NUMERIC columns hold floats), so there the
    value is stored as an integer count of the smallest unit (halalas for money);
    sums in SQL stay exact on both databases. Values with more places are rounded
    half-up (away from zero) on the way in, like :mod:`core.money`.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 2, precision: int = 18) -> None:
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._step = Decimal(1).scaleb(-scale)
        self._factor = Decimal(10) ** scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(str(value)).quantize(self._step, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(exact * self._factor)
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / self._factor).quantize(self._step)
        return Decimal(value).quantize(self._step)

    @property
    def python_type(self) -> type:
        return Decimal

    def __repr__(self) -> str:
        return f"Fixed(scale={self.scale}, precision={self.precision})"


Money = Fixed(2)
Quantity = Fixed(3)
UnitCost = Fixed(4)
