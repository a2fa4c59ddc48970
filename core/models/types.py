"""Column types: exact fixed-point decimals, and timestamps that always read back aware in UTC."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
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

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def bind_processor(self, dialect: Dialect) -> Any:
        """One function per dialect (called for every value bound: a posting binds about sixty),
        doing what :meth:`process_bind_param` does without a call through the decorator."""
        impl = self.load_dialect_impl(dialect).bind_processor(dialect)
        if impl is not None:
            return super().bind_processor(dialect)
        step, scale = self._step, self.scale
        sqlite = dialect.name == "sqlite"

        def process(value: Any) -> Any:
            if value is None:
                return None
            if value.__class__ is not Decimal:
                value = Decimal(str(value))
            exact = value.quantize(step, rounding=ROUND_HALF_UP)
            return int(exact.scaleb(scale)) if sqlite else exact

        return process

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.__class__ is not Decimal:  # (a Decimal is taken as it is: no round trip through str)
            value = Decimal(str(value))
        exact = value.quantize(self._step, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.scale))
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)  # exact, with ``scale`` places
        return Decimal(value).quantize(self._step)

    @property
    def python_type(self) -> type:
        return Decimal

    def __repr__(self) -> str:
        return f"Fixed(scale={self.scale}, precision={self.precision})"


Money = Fixed(2)
Quantity = Fixed(3)
UnitCost = Fixed(4)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored in UTC and read back aware in UTC on every database.

    SQLite keeps no offset (values come back naive) and PostgreSQL answers in the session's
    time zone; both are turned into UTC here. A naive value given is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    @property
    def python_type(self) -> type:
        return datetime


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken to be UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
