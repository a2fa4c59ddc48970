"""What the store browser tests share: a platform's sandbox served through its kit driver, the store orders as booked."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from sqlalchemy import select

from core.extensions import db


@contextmanager
def served_driver(driver_class: type) -> Iterator[SimpleNamespace]:
    """A platform's kit driver with its sandbox (demo catalog) served over HTTP."""
    driver = driver_class()
    with driver.sandbox.serve() as server:
        driver.url = server.url
        yield SimpleNamespace(driver=driver, sandbox=driver.sandbox, url=server.url)


def store_orders(app, store_id: int) -> dict[str, str]:  # noqa: ANN001
    """The store's orders as the ERP keeps them: number → state."""
    from core.models import StoreOrder

    with app.app_context():
        rows = db.session.execute(
            select(StoreOrder.number, StoreOrder.state).where(StoreOrder.store_id == store_id)
        ).all()
        db.session.remove()
    return dict(rows)
