"""Company settings access."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.models import CompanySettings
from core.services.upsert import insert_ignoring_conflicts


def company_settings() -> CompanySettings:
    """The company settings row, created with defaults on first use."""
    settings = db.session.execute(select(CompanySettings).where(CompanySettings.id == 1)).scalar()
    if settings is None:
        insert_ignoring_conflicts(CompanySettings, [{"id": 1}])
        settings = db.session.get(CompanySettings, 1)
    assert settings is not None
    return settings
