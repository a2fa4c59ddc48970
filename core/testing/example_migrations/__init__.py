"""A plugin that ships only an Alembic branch: the worked example of ``register_migrations``."""
from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl

#: The plugin's version folder: its revisions form the ``example_migrations`` branch.
VERSIONS = Path(__file__).resolve().parent / "versions"
#: The table its first revision creates.
TABLE = "example_plugin_notes"


class ExampleMigrationsPlugin:
    """Load it with ``EXTRA_PLUGINS = ("core.testing.example_migrations:ExampleMigrationsPlugin",)``."""

    name = "example_migrations"
    title = "Example plugin migrations"
    version = "1.0"

    @hookimpl
    def register_migrations(self) -> list[str]:
        return [str(VERSIONS)]
