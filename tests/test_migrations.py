"""The Alembic migrations build exactly the models' schema, and go down and up again."""
from __future__ import annotations

import os
from datetime import UTC, datetime
from types import SimpleNamespace

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import make_url

from core import create_app
from core.extensions import db


def core_tables() -> set[str]:
    """Tables mapped by the core models (plugin branches, if any, migrate their own)."""
    return {
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if mapper.class_.__module__.startswith("core.models")
    }


def script_heads() -> list[str]:
    return _scripts().get_heads()


def script_history() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def schema_differences(connection) -> list:
    tables = core_tables()

    def include_name(name, type_, parent_names):
        if type_ == "table":
            return name in tables
        return parent_names.get("table_name") in tables if parent_names.get("table_name") else True

    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True, "include_name": include_name},
    )
    return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(ctx):
    """The session database was built by `flask db upgrade`; autogenerate finds nothing to add."""
    with db.engine.connect() as connection:
        assert schema_differences(connection) == []
        present = set(inspect(connection).get_table_names())
    assert core_tables() <= present
    assert "alembic_version" in present


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """An empty database of the same kind as the session's, dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield "sqlite:///" + str(tmp_path / "migrations.sqlite")
        return
    url = make_url(database_url)
    scratch = f"{url.database}_m{os.getpid()}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{scratch}"')
    try:
        yield url.set(database=scratch).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def test_downgrade_to_base_then_upgrade_head_rebuilds_the_schema(scratch_url, tmp_path):
    other = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": scratch_url, "INSTANCE_PATH": str(tmp_path / "instance")}
    )
    with other.app_context():
        try:
            upgrade(revision="heads")
            with db.engine.connect() as connection:
                assert core_tables() <= set(inspect(connection).get_table_names())
                versions = {row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")}
            assert versions == set(script_heads()) and "0001_core" in script_history()

            downgrade(revision="base")
            with db.engine.connect() as connection:
                left = set(inspect(connection).get_table_names()) & core_tables()
                assert left == set()
                assert connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 0

            upgrade(revision="heads")
            with db.engine.connect() as connection:
                assert schema_differences(connection) == []
        finally:
            db.session.remove()
            db.engine.dispose()


def test_upgrading_drops_credential_headers_and_redacts_tokens_in_deliveries_stored_before(scratch_url, tmp_path):
    """Issue 7 item 7 for existing installs: rows stored before the inbox kept secrets are cleaned."""
    import json

    from core.models import WebhookDelivery
    from core.models.base import utcnow
    from core.plugins import registry
    from core.services.chart import seed_default_chart
    from core.services.transaction import atomic

    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": scratch_url,
                        "INSTANCE_PATH": str(tmp_path / "instance"), "EXTRA_PLUGINS": ("core.testing.dummy:DummyPlugin",)})
    authorize = {"event": "app.store.authorize", "data": {"access_token": "at-1", "refresh_token": "rt-1",
                                                          "scope": "orders.read"}}
    waiting = {"event": "app.store.authorize", "data": {"access_token": "at-2"}}
    with other.app_context():
        try:
            upgrade(revision="0006_security")
            with atomic():
                seed_default_chart()
            registry().install("dummy")
            registry().enable("dummy")
            # The store row as 0006 had it (today's model may have columns 0006 lacks).
            db.session.execute(text(
                "INSERT INTO store_connections (platform, name, status, key_hash, key_prefix, key_created_at,"
                " settings, created_at) VALUES ('dummy', 'Old shop', 'pending', :hash, 'mzs_old', :now, '{}', :now)"
            ), {"hash": "0" * 64, "now": utcnow()})
            store = SimpleNamespace(id=db.session.execute(text("SELECT max(id) FROM store_connections")).scalar_one())
            # Rows as the 0006 schema had them: only its columns (the model has grown since).
            db.session.execute(insert(WebhookDelivery.__table__), [
                {"store_id": store.id, "delivery_key": "d-1", "status": "processed",
                 "headers": {"authorization": "Basic c2VjcmV0", "x-delivery": "d-1"},
                 "body": json.dumps(authorize).encode()},
                {"store_id": store.id, "delivery_key": "d-2", "status": "received", "headers": {},
                 "body": json.dumps(waiting).encode()},
            ])
            db.session.commit()
            db.session.remove()

            upgrade(revision="heads")

            done, pending = db.session.query(WebhookDelivery).order_by(WebhookDelivery.delivery_key).all()
            assert done.headers == {"x-delivery": "d-1"}
            assert json.loads(done.body)["data"] == {"access_token": "[redacted]", "refresh_token": "[redacted]",
                                                     "scope": "orders.read"}
            assert json.loads(pending.body) == waiting  # its job still needs the token
        finally:
            db.session.remove()
            db.engine.dispose()


def test_upgrading_lets_refunds_skipped_for_an_unbooked_order_wait_for_it(scratch_url, tmp_path):
    """O11 for existing installs: a refund skipped before 0011 because its order was not booked now waits."""
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": scratch_url,
                        "INSTANCE_PATH": str(tmp_path / "instance")})
    with other.app_context():
        try:
            upgrade(revision="0010_reconcile_cursor")
            db.session.execute(text(
                "INSERT INTO store_connections (platform, name, status, key_hash, key_prefix, key_created_at,"
                " settings, created_at) VALUES ('dummy', 'Old shop', 'active', :hash, 'mzs_old', :now, '{}', :now)"
            ), {"hash": "1" * 64, "now": datetime.now(UTC)})
            store_id = db.session.execute(text("SELECT max(id) FROM store_connections")).scalar_one()
            for external_id, reason in (("r-1", "its order was never booked, so there is nothing to return"),
                                        ("r-2", "the refund names neither lines nor an amount")):
                db.session.execute(text(
                    "INSERT INTO store_refunds (store_id, external_id, order_external_id, state, reason, data,"
                    " updated_at) VALUES (:store, :ext, 'o-1', 'skipped', :reason, '{}', :now)"
                ), {"store": store_id, "ext": external_id, "reason": reason, "now": datetime.now(UTC)})
            db.session.commit()
            db.session.remove()

            upgrade(revision="heads")

            states = dict(db.session.execute(text("SELECT external_id, state FROM store_refunds")).all())
            assert states == {"r-1": "waiting", "r-2": "skipped"}
        finally:
            db.session.remove()
            db.engine.dispose()
