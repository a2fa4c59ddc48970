"""Document number counters (INV-000001, ...), one row per document type."""
from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class Sequence(db.Model):
    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(10))
    last_value: Mapped[int] = mapped_column(Integer, default=0)
