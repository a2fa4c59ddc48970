"""Alembic reads the core's revisions and those of every discovered plugin (``register_migrations``)."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app
from flask_migrate import Config

from core.extensions import migrate

#: Where the app keeps its plugin registry (see :func:`core.plugins.init_app`).
_REGISTRY = "mizan.plugins"


def version_locations(script_location: str) -> list[str]:
    """The core's ``versions`` folder first, then each plugin's folders."""
    core = str(Path(script_location, "versions").resolve())
    registry = current_app.extensions.get(_REGISTRY)
    plugins = registry.migration_locations() if registry is not None else []
    return [core, *(folder for folder in plugins if folder != core)]


def add_plugin_locations(config: Config) -> Config:
    """Flask-Migrate configure callback: set ``version_locations`` before Alembic reads the scripts.

    Alembic builds its script directory from the config before ``migrations/env.py`` runs, so
    the folders are set here, for every ``flask db`` command and ``flask_migrate`` function.
    """
    locations = version_locations(config.get_main_option("script_location") or migrate.directory)
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(path.replace("%", "%%") for path in locations))
    return config


def init_app(app: Flask) -> None:
    """Register the callback once on the shared :data:`core.extensions.migrate`."""
    if add_plugin_locations not in migrate.configure_callbacks:
        migrate.configure(add_plugin_locations)
