"""Finding the client for a store order (O4): by store id, then email, then phone; else create."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.integration.links import link, linked_id
from core.models import Client, StoreConnection
from core.platform.data import CustomerData
from core.services.transaction import atomic


def client_for(store: StoreConnection, customer: CustomerData | None) -> int:
    """The client id an order of ``customer`` is invoiced to; guests go to the default client."""
    if customer is None:
        return int(store.settings["default_client_id"])
    client_id = linked_id(store.id, "client", customer.external_id)
    if client_id is not None:
        return client_id
    client_id = _match(customer)
    try:
        with atomic():
            if client_id is None:
                client = Client(name=customer.name, email=customer.email, phone=customer.phone)
                db.session.add(client)
                db.session.flush()
                client_id = client.id
            if customer.external_id is not None:
                link(store.id, "client", customer.external_id, client_id)
    except IntegrityError:  # another worker linked this customer first
        found = linked_id(store.id, "client", customer.external_id)
        if found is None:
            raise
        return found
    return client_id


def _match(customer: CustomerData) -> int | None:
    for column, value in ((Client.email, customer.email), (Client.phone, customer.phone)):
        if value:
            found = db.session.execute(
                select(Client.id).where(column == value).order_by(Client.id).limit(1)
            ).scalar_one_or_none()
            if found is not None:
                return found
    return None
