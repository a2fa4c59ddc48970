"""A plugin's Alembic branch, found through ``register_migrations``, goes up with the core and down alone."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from core import create_app
from core.extensions import db
from core.hookspecs import hookimpl
from core.models import Product
from core.plugins import PluginStartupError
from core.testing.example_migrations import TABLE, VERSIONS
from tests import test_migrations
from tests.builders import Builders
from tests.test_migrations import _scripts, core_tables

#: An empty database of the session's kind (SQLite, or PostgreSQL under DATABASE_URL).
scratch_url = test_migrations.scratch_url

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "core.testing.example_migrations:ExampleMigrationsPlugin"
CORE_VERSIONS = str(ROOT / "migrations" / "versions")


class MissingFolderPlugin:
    """Registers a version folder that does not exist."""

    name = "missing_folder"

    @hookimpl
    def register_migrations(self) -> list[str]:
        return [str(ROOT / "no-such-folder")]


def make_app(url: str, tmp_path: Path, *plugins: str):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path / "instance"),
                       "EXTRA_PLUGINS": plugins, "REDIS_URL": None})


def tables() -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def versions() -> set[str]:
    with db.engine.connect() as connection:
        return {row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")}


def flask_db(url: str, *args: str) -> subprocess.CompletedProcess:
    """``flask db <args>`` in a process of its own, with the example plugin discovered."""
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "MIZAN_JOBS_MODE")}
    env.update({"FLASK_APP": "core", "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
                "MIZAN_EXTRA_PLUGINS": EXAMPLE})
    return subprocess.run([str(Path(sys.executable).with_name("flask")), "db", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_flask_db_upgrade_heads_applies_a_plugin_branch_which_then_goes_down_alone(scratch_url, tmp_path):
    """`flask db upgrade heads` creates the core's tables and the example plugin's; downgrading
    `example_migrations@base` drops the plugin's table and leaves the core's schema and rows (issue 8)."""
    done = flask_db(scratch_url, "upgrade", "heads")
    assert done.returncode == 0, done.stderr
    app = make_app(scratch_url, tmp_path, EXAMPLE)
    with app.app_context():
        try:
            core_heads = {head for head in _scripts().get_heads() if head != "example_migrations_0001"}
            assert versions() == core_heads | {"example_migrations_0001"}
            assert {TABLE} | core_tables() <= tables()
            mug = Builders().product("MUG-01", "25").id
            db.session.remove()
            with db.engine.begin() as connection:  # the plugin's table refers to the core's products
                connection.execute(text(f"INSERT INTO {TABLE} (product_id, note) VALUES (:id, 'fragile')"), {"id": mug})
                notes = connection.execute(text(f"SELECT product_id, note FROM {TABLE}")).all()
            assert [tuple(row) for row in notes] == [(mug, "fragile")]

            downgrade(revision="example_migrations@base")
            assert TABLE not in tables()
            assert core_tables() <= tables()
            assert versions() == core_heads
            assert db.session.execute(select(Product.code)).scalars().all() == ["MUG-01"]
            db.session.remove()

            upgrade(revision="heads")
            assert TABLE in tables() and versions() == core_heads | {"example_migrations_0001"}
            downgrade(revision="base")
            assert tables() & (core_tables() | {TABLE}) == set()
            assert versions() == set()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_scripts_hold_a_plugin_branch_only_while_its_plugin_is_discovered(tmp_path):
    """The hook governs what Alembic reads: the core's folder first, then each discovered plugin's (issue 8)."""
    url = "sqlite:///" + str(tmp_path / "unused.sqlite")
    with make_app(url, tmp_path).app_context():
        plain = _scripts()
        assert plain.version_locations == [CORE_VERSIONS]
        assert "example_migrations_0001" not in {script.revision for script in plain.walk_revisions()}
    with make_app(url, tmp_path, EXAMPLE).app_context():
        scripts = _scripts()
        assert scripts.version_locations == [CORE_VERSIONS, str(VERSIONS)]
        example = scripts.get_revision("example_migrations@head")
        assert example.revision == "example_migrations_0001"
        assert example.branch_labels == {"example_migrations"} and example.dependencies == "0001_core"
        assert "example_migrations_0001" in scripts.get_heads() and len(scripts.get_heads()) == 2


def test_a_plugin_that_registers_a_missing_folder_is_named_in_the_error(tmp_path):
    """A wrong path fails the migration command loudly instead of skipping the plugin's tables (issue 8)."""
    url = "sqlite:///" + str(tmp_path / "unused.sqlite")
    with make_app(url, tmp_path, "tests.test_plugin_migrations:MissingFolderPlugin").app_context():
        with pytest.raises(PluginStartupError, match="missing_folder registers migrations in .*no-such-folder"):
            _scripts()
