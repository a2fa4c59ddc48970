"""Plugin discovery through entry points, the plugin manager of an app, and the plugin registry."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy
from flask import Flask, current_app, g
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from core import hookspecs
from core.extensions import db
from core.models import PluginRecord
from core.models.base import utcnow
from core.platform.base import PlatformPlugin
from core.services.errors import Conflict, NotFound
from core.services.transaction import atomic

#: The setuptools entry-point group that in-tree and third-party plugins register under.
ENTRY_POINT_GROUP = "mizan.plugins"

log = logging.getLogger(__name__)

#: Where the enabled set is kept for the rest of the app context.
_ENABLED = "mizan_enabled_plugins"


class PluginStartupError(RuntimeError):
    """An enabled plugin cannot be loaded: the app refuses to start without it."""


@dataclass(frozen=True)
class PluginInfo:
    """What the plugin list shows."""

    name: str
    title: str
    version: str
    hooks: list[str]
    installed: bool
    enabled: bool
    error: str | None = None


class PluginRegistry:
    """The app's plugin manager plus the installed/enabled state kept in the database.

    Every discovered plugin is registered with pluggy (so ``check_pending`` sees them all);
    hooks are called through :meth:`hook`, which leaves out plugins that are not enabled.
    The enabled set is read from the database on each call, so enabling or disabling takes
    effect at once in every web process and worker.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.load_errors: dict[str, str] = {}

    # -- discovery -------------------------------------------------------------

    def discover(self, extra: list[str] | tuple[str, ...] = ()) -> None:
        """Load the ``mizan.plugins`` entry points and ``extra`` "module:attr" references."""
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            self._load(entry_point.name, entry_point.load)
        for reference in extra:
            module_name, _, attribute = reference.partition(":")
            obj = getattr(import_module(module_name), attribute)
            self._register(obj)
        self.pm.check_pending()

    def _load(self, name: str, loader: Any) -> None:
        try:
            self._register(loader(), name)
        except Exception as error:  # a broken plugin is reported, and fatal only when enabled
            log.exception("plugin %s failed to load", name)
            self.load_errors[name] = f"{type(error).__name__}: {error}"

    def _register(self, obj: Any, name: str | None = None) -> None:
        plugin = obj() if isinstance(obj, type) else obj
        name = name or getattr(plugin, "name", None) or getattr(plugin, "__name__", None)
        if self.pm.get_plugin(name) is None:
            self.pm.register(plugin, name=name)

    def check_startup(self) -> None:
        """Fail loudly when a plugin enabled in the database could not be loaded."""
        broken = sorted(set(self.load_errors) & self.enabled_names())
        if broken:
            details = "; ".join(f"{name}: {self.load_errors[name]}" for name in broken)
            raise PluginStartupError(f"Enabled plugins failed to load: {details}")

    # -- state -----------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(name for name, _ in self.pm.list_name_plugin()) + sorted(self.load_errors)

    def enabled_names(self) -> set[str]:
        """The enabled plugins, read once per app context (a request or a job) and kept in ``g``.

        Every web process and worker reads the table anew for each request or job, so a change
        made anywhere takes effect at the next one; changes made here reset the kept copy.
        """
        if _ENABLED in g:
            return set(g.get(_ENABLED))
        try:
            names = set(db.session.execute(select(PluginRecord.name).where(PluginRecord.enabled)).scalars())
        except (OperationalError, ProgrammingError):  # before the first migration
            db.session.rollback()
            return set()
        setattr(g, _ENABLED, frozenset(names))
        return names

    def plugin(self, name: str) -> Any:
        plugin = self.pm.get_plugin(name)
        if plugin is None:
            raise NotFound(f"No plugin named {name} is installed on this server.")
        return plugin

    def platform(self, name: str) -> PlatformPlugin | None:
        """The enabled platform plugin for ``name``, or ``None``."""
        plugin = self.pm.get_plugin(name)
        if isinstance(plugin, PlatformPlugin) and name in self.enabled_names():
            return plugin
        return None

    def loaded_platform(self, name: str) -> PlatformPlugin | None:
        """The platform plugin ``name`` as loaded, enabled or not: for a caller that read whether it
        is enabled in its own query (the webhook endpoint, :func:`core.integration.connections.store_for_webhook`)."""
        plugin = self.pm.get_plugin(name)
        return plugin if isinstance(plugin, PlatformPlugin) and name not in self.load_errors else None

    def discovered_platforms(self) -> list[tuple[str, PlatformPlugin]]:
        """Every platform plugin that loaded, enabled or not (to install and enable them)."""
        return [(name, plugin) for name, plugin in sorted(self.pm.list_name_plugin())
                if isinstance(plugin, PlatformPlugin) and name not in self.load_errors]

    def platforms(self) -> list[PlatformPlugin]:
        enabled = self.enabled_names()
        return [
            plugin
            for name, plugin in sorted(self.pm.list_name_plugin())
            if isinstance(plugin, PlatformPlugin) and name in enabled
        ]

    def describe(self) -> list[PluginInfo]:
        records = {r.name: r for r in db.session.execute(select(PluginRecord)).scalars()}
        infos = []
        for name, plugin in sorted(self.pm.list_name_plugin()):
            record = records.get(name)
            infos.append(
                PluginInfo(
                    name=name,
                    title=getattr(plugin, "title", "") or name,
                    version=str(getattr(plugin, "version", "")),
                    hooks=sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []),
                    installed=bool(record and record.installed),
                    enabled=bool(record and record.enabled),
                )
            )
        for name, error in sorted(self.load_errors.items()):
            record = records.get(name)
            infos.append(PluginInfo(name, name, "", [], bool(record and record.installed), False, error))
        return infos

    def migration_locations(self) -> list[str]:
        """The Alembic version folders of every discovered plugin, enabled or not (``register_migrations``).

        Every discovered plugin counts: its tables exist before it is enabled, and disabling it
        keeps them. A folder that does not exist is an error naming the plugin.
        """
        locations: list[str] = []
        for impl in self.pm.hook.register_migrations.get_hookimpls():
            for folder in impl.function() or []:
                path = Path(folder).resolve()
                if not path.is_dir():
                    raise PluginStartupError(f"Plugin {impl.plugin_name} registers migrations in {folder}, "
                                             "which is not a folder.")
                if str(path) not in locations:
                    locations.append(str(path))
        return sorted(locations)

    # -- calling hooks ---------------------------------------------------------

    @property
    def hook(self) -> _EnabledHooks:
        """Hook callers that leave out the plugins that are not enabled."""
        enabled = self.enabled_names()
        disabled = [plugin for name, plugin in self.pm.list_name_plugin() if name not in enabled]
        return _EnabledHooks(self.pm, disabled)

    def implementers(self, hook_name: str) -> list[str]:
        """Names of the enabled plugins implementing ``hook_name``."""
        enabled = self.enabled_names()
        caller = getattr(self.pm.hook, hook_name)
        return [impl.plugin_name for impl in caller.get_hookimpls() if impl.plugin_name in enabled]

    def call_one(self, plugin_name: str, hook_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of ``hook_name`` (events run one plugin at a time)."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            if impl.plugin_name == plugin_name:
                return impl.function(*[kwargs[arg] for arg in impl.argnames])
        return None

    # -- install / enable / disable / uninstall --------------------------------

    def install(self, name: str) -> PluginRecord:
        """Record the plugin as installed and create its default accounts once (C3)."""
        from core.services.chart import ensure_accounts

        self.plugin(name)
        with atomic():
            record = self._record(name)
            record.installed = True
            record.installed_at = record.installed_at or utcnow()
            ensure_accounts(self.call_one(name, "register_default_accounts") or [])
        return record

    def enable(self, name: str) -> PluginRecord:
        if name in self.load_errors:
            raise Conflict(f"Plugin {name} cannot be enabled: {self.load_errors[name]}")
        self.plugin(name)
        with atomic():
            record = self._record(name)
            if not record.installed:
                raise Conflict(f"Install plugin {name} before enabling it.")
            record.enabled = True
        return record

    def disable(self, name: str) -> PluginRecord:
        with atomic():
            record = self._record(name)
            record.enabled = False
        return record

    def uninstall(self, name: str) -> PluginRecord:
        """Disable and mark uninstalled; its accounts stay, since entries may use them."""
        with atomic():
            record = self._record(name)
            record.enabled = False
            record.installed = False
        return record

    def _record(self, name: str) -> PluginRecord:
        g.pop(_ENABLED, None)  # the caller is about to change the plugin's state
        record = db.session.execute(select(PluginRecord).where(PluginRecord.name == name)).scalar_one_or_none()
        if record is None:
            record = PluginRecord(name=name, installed=False, enabled=False)
            db.session.add(record)
            db.session.flush()
        return record


class _EnabledHooks:
    def __init__(self, pm: pluggy.PluginManager, disabled: list[Any]) -> None:
        self._pm = pm
        self._disabled = disabled

    def __getattr__(self, hook_name: str) -> Any:
        return self._pm.subset_hook_caller(hook_name, remove_plugins=self._disabled)


def init_app(app: Flask) -> PluginRegistry:
    """Build the app's plugin registry and keep it in ``app.extensions``."""
    registry = PluginRegistry()
    registry.discover(app.config.get("EXTRA_PLUGINS", ()))
    app.extensions["mizan.plugins"] = registry
    with app.app_context():
        registry.check_startup()
        for hook_blueprints in registry.hook.register_blueprints():
            for blueprint in hook_blueprints or []:
                app.register_blueprint(blueprint)
    return registry


def registry() -> PluginRegistry:
    """The current app's plugin registry."""
    return current_app.extensions["mizan.plugins"]
