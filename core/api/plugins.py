"""Platform and other plugins: list them; install, enable, disable or uninstall one (admin)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

from core.api.loading import load_query
from core.api.operations import operation
from core.api.pagination import paginate_list
from core.api.schemas.common import PageQuery
from core.api.schemas.integration import PluginSchema
from core.plugins import PluginInfo, registry
from core.services.errors import NotFound

TAG = "Plugins"
ACTIONS = ("install", "enable", "disable", "uninstall")


@operation("List the plugins this server discovered, with their state", TAG, response=PluginSchema,
           query=PageQuery, paginated=True)
def list_plugins() -> dict[str, Any]:
    query = load_query(PageQuery())
    return paginate_list(registry().describe(), PluginSchema(), query)


def plugin_info(name: str) -> PluginInfo:
    """The plugin list's row for ``name``; 404 for a plugin this server does not know."""
    for info in registry().describe():
        if info.name == name:
            return info
    raise NotFound(f"No plugin named {name} is installed on this server.")


def _action_view(action: str) -> Callable[[str], dict[str, Any]]:
    descriptions = {
        "install": "Records the plugin as installed and creates its default accounts once (C3).",
        "enable": "The plugin must be installed and must have loaded; takes effect at once.",
        "disable": "Its hooks stop being called; stores of its platform stop receiving webhooks.",
        "uninstall": "Disables it and marks it uninstalled; its accounts stay.",
    }

    @operation(f"{action.capitalize()} a plugin (admin)", TAG, response=PluginSchema, role="admin",
               description=descriptions[action])
    def view(name: str) -> dict[str, Any]:
        plugin_info(name)
        getattr(registry(), action)(name)
        return PluginSchema().dump(plugin_info(name))

    view.__name__ = f"{action}_plugin"
    return view


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/plugins", "plugins_list", list_plugins, methods=["GET"])
    for action in ACTIONS:
        blueprint.add_url_rule(f"/plugins/<name>/{action}", f"plugins_{action}", _action_view(action),
                               methods=["POST"])
