"""The demo's sandbox stores: each platform's demo sandbox (its ``mizan.testing`` driver's), served and connected."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.extensions import db
from core.integration import connections
from core.models import Branch, Client, StoreConnection, Warehouse
from core.platform.base import PlatformPlugin
from core.plugins import registry
from core.testing.kit.driver import driver_classes
from core.testing.sandbox import SandboxServer


@dataclass(frozen=True)
class DemoStore:
    """A connected sandbox store, for the start-up message."""

    title: str
    url: str
    store_id: int
    hint: str


def connect_demo_stores(first_port: int) -> tuple[list[DemoStore], list[SandboxServer]]:
    """Serve every platform plugin's demo sandbox from ``first_port`` on and connect a store to each.

    Sandboxes are development code: the driver a platform registers under the ``mizan.testing``
    entry-point group offers it (``demo_sandbox()``); production plugin modules never import one.

    Runs at each start: sandboxes keep their state in memory, so each start rotates the
    store's connection key and points the sandbox's webhooks at the new URL.
    """
    plugins = registry()
    stores, servers = [], []
    drivers = driver_classes()
    offers = [(name, plugin, drivers[name]) for name, plugin in plugins.discovered_platforms()
              if getattr(drivers.get(name), "demo_sandbox", None) is not None]
    for (name, plugin, driver), port in zip(offers, demo_ports(first_port, [d for _, _, d in offers]), strict=True):
        sandbox = driver.demo_sandbox()
        plugins.install(name)
        plugins.enable(name)
        server = SandboxServer(sandbox.app, port=port).start()
        servers.append(server)
        store_id = _store_id(plugin, server.url, sandbox.credentials(server.url))
        key = connections.rotate_key(store_id)
        sandbox.set_webhook_target(connections.webhook_url(key))
        connections.activate(store_id, key)
        stores.append(DemoStore(plugin.title, server.url, store_id, sandbox.hint.replace("{url}", server.url)))
    return stores, servers


def demo_ports(first_port: int, drivers: list[type]) -> list[int]:
    """Each driver's sandbox port: ``first_port`` plus the driver's ``demo_port_offset`` (so a platform keeps its port
    in the README whatever other plugins are installed); drivers without one take the next free ports after."""
    taken = {getattr(d, "demo_port_offset", None) for d in drivers} - {None}
    spare = (offset for offset in range(len(drivers) + len(taken)) if offset not in taken)
    return [first_port + (d.demo_port_offset if getattr(d, "demo_port_offset", None) is not None else next(spare))
            for d in drivers]


def _store_id(plugin: PlatformPlugin, url: str, credentials: dict) -> int:
    name = f"{plugin.title} sandbox"
    found = db.session.execute(
        select(StoreConnection.id).where(StoreConnection.platform == plugin.name, StoreConnection.name == name)
    ).scalar_one_or_none()
    if found is None:
        found = connections.create_store(plugin.name, name)[0].id
    connections.set_credentials(found, credentials, merge=False)
    connections.update_settings(found, {
        "default_client_id": _first_id(Client),
        "warehouse_id": _first_id(Warehouse),
        "branch_id": _first_id(Branch),
        "create_financial_invoice": True,
        "update_inventory": True,
        "product_sync": False,
    })
    return found


def _first_id(model: type) -> int | None:
    return db.session.execute(select(model.id).order_by(model.id).limit(1)).scalar_one_or_none()
