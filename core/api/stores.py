"""Store connections (C1–C6): create, keys, credentials, settings, activation; orders sent by hand (O2)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from core.api.loading import json_object, load_body, load_query
from core.api.operations import operation
from core.api.pagination import paginate_query
from core.api.schemas.fields import URL_ID
from core.api.schemas.integration import (
    ActivateSchema,
    ConnectionKeySchema,
    SendOrdersResultSchema,
    SendOrdersSchema,
    StoreCreatedSchema,
    StoreCreateSchema,
    StoreCredentialsSchema,
    StoreLocationsSchema,
    StoreQuery,
    StoreSchema,
    StoreSettingsBodySchema,
)
from core.integration import connections
from core.integration.locations import store_locations
from core.integration.manual import send_orders
from core.integration.queries import stores_statement
from core.models import StoreConnection
from core.services.errors import NotFound

TAG = "Stores"
STORE = f"/stores/<{URL_ID}:store_id>"


def _store(store_id: int) -> dict[str, Any]:
    return StoreSchema().dump(connections.get_store(store_id))


@operation("List store connections (secrets masked)", TAG, response=StoreSchema, query=StoreQuery, paginated=True)
def list_stores() -> dict[str, Any]:
    query = load_query(StoreQuery())
    statement = stores_statement()
    if query.get("platform"):
        statement = statement.where(StoreConnection.platform == query["platform"])
    if query.get("status"):
        statement = statement.where(StoreConnection.status == query["status"])
    return paginate_query(statement, StoreSchema(), query)


@operation("Show a store connection (secrets masked)", TAG, response=StoreSchema)
def get_store(store_id: int) -> dict[str, Any]:
    return _store(store_id)


@operation(
    "Add a store connection (admin)",
    TAG,
    body=StoreCreateSchema,
    response=StoreCreatedSchema,
    status=201,
    role="admin",
    description="The platform's plugin must be enabled. The answer holds the connection key and the "
    "webhook URL: they are shown this once (C1).",
)
def create_store() -> tuple[dict[str, Any], int, dict[str, str]]:
    body = load_body(StoreCreateSchema())
    store, key = connections.create_store(body["platform"], body["name"])
    shown = {**_store(store.id), "connection_key": key, "webhook_url": connections.webhook_url(key)}
    return shown, 201, {"Location": url_for("api.stores_get", store_id=store.id)}


@operation(
    "Issue a new connection key (admin)",
    TAG,
    response=ConnectionKeySchema,
    role="admin",
    description="The old key, and the webhook URL that holds it, stop working at once (C1). The new "
    "key is shown this once.",
)
def rotate_key(store_id: int) -> dict[str, Any]:
    key = connections.rotate_key(store_id)
    return ConnectionKeySchema().dump(
        {"connection_key": key, "webhook_url": connections.webhook_url(key), "key_prefix": key[:10]}
    )


@operation(
    "Set a store's credentials (admin)",
    TAG,
    body=StoreCredentialsSchema,
    response=StoreSchema,
    role="admin",
    description="The fields the platform plugin asks for; validated by its schema (422 with field "
    "messages). Given fields replace the stored ones; the others stay. Stored encrypted (C6). A "
    "store_ref another connection (not disabled) holds answers 409 store_already_connected.",
)
def set_credentials(store_id: int) -> dict[str, Any]:
    connections.set_credentials(store_id, json_object())
    return _store(store_id)


@operation(
    "List the store's inventory locations (admin)",
    TAG,
    response=StoreLocationsSchema,
    role="admin",
    description="Asked of the store now, for platforms that keep stock per location (C2): the "
    "locations and the one linked to the store's warehouse. Link another by setting the credential "
    "location_id (PUT /stores/{store_id}/credentials). 404 when the store's platform has no locations "
    "or its credentials are not set; 409 when the store cannot be reached.",
)
def list_store_locations(store_id: int) -> dict[str, Any]:
    found = store_locations(store_id)
    if found is None or not found.locations:
        raise NotFound("This store has no inventory locations to choose from.")
    return StoreLocationsSchema().dump({"locations": found.locations, "location_id": found.current})


@operation(
    "Change a store's settings (admin)",
    TAG,
    body=StoreSettingsBodySchema,
    response=StoreSchema,
    role="admin",
    description="Any of the settings (C4); the others stay. Unknown fields and unknown client, "
    "warehouse or branch ids answer 422.",
)
def update_settings(store_id: int) -> dict[str, Any]:
    connections.update_settings(store_id, load_body(StoreSettingsBodySchema()))
    return _store(store_id)


@operation(
    "Activate a store connection (admin)",
    TAG,
    body=ActivateSchema,
    response=StoreSchema,
    role="admin",
    description="Checks the credentials against the store, registers webhooks where the platform "
    "allows it (send the current connection key), imports categories and creates the platform's "
    "default accounts once (C2–C3). A store that refuses answers 409 with its message; so does a "
    "store another connection holds (store_already_connected).",
)
def activate_store(store_id: int) -> dict[str, Any]:
    body = load_body(ActivateSchema(), optional=True)
    connections.activate(store_id, body.get("key"))
    return _store(store_id)


@operation("Deactivate a store connection (admin)", TAG, response=StoreSchema, role="admin",
           description="Its webhooks answer 404 until it is activated again.")
def deactivate_store(store_id: int) -> dict[str, Any]:
    connections.deactivate(store_id)
    return _store(store_id)


@operation(
    "Send store orders to the ERP by number",
    TAG,
    body=SendOrdersSchema,
    response=SendOrdersResultSchema,
    description="Fetches each order from the store and books it if it is completed, older orders "
    "included (O2); each number gets its own result. A booked order answers already_booked and "
    "changes nothing (O3). The store must be active (409 otherwise).",
)
def send_store_orders(store_id: int) -> dict[str, Any]:
    body = load_body(SendOrdersSchema())
    return SendOrdersResultSchema().dump({"results": send_orders(store_id, body["numbers"])})


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/stores", "stores_list", list_stores, methods=["GET"])
    blueprint.add_url_rule("/stores", "stores_create", create_store, methods=["POST"])
    blueprint.add_url_rule(STORE, "stores_get", get_store, methods=["GET"])
    blueprint.add_url_rule(f"{STORE}/key", "stores_rotate_key", rotate_key, methods=["POST"])
    blueprint.add_url_rule(f"{STORE}/credentials", "stores_credentials", set_credentials, methods=["PUT"])
    blueprint.add_url_rule(f"{STORE}/settings", "stores_settings", update_settings, methods=["PUT"])
    blueprint.add_url_rule(f"{STORE}/locations", "stores_locations", list_store_locations, methods=["GET"])
    blueprint.add_url_rule(f"{STORE}/activate", "stores_activate", activate_store, methods=["POST"])
    blueprint.add_url_rule(f"{STORE}/deactivate", "stores_deactivate", deactivate_store, methods=["POST"])
    blueprint.add_url_rule(f"{STORE}/send-orders", "stores_send_orders", send_store_orders, methods=["POST"])
