"""The plugin registry: discovery, start-up checks, enable/disable everywhere, isolated event hooks."""
from __future__ import annotations

from importlib.metadata import EntryPoint

import pluggy
import pytest
from sqlalchemy import select

from core import create_app
from core import plugins as plugins_module
from core.extensions import db
from core.hookspecs import hookimpl
from core.models import PluginRecord, SyncLogEntry
from core.plugins import ENTRY_POINT_GROUP, PluginStartupError, registry
from core.services.transaction import atomic
from core.testing.kit.driver import driver_classes

CALLS: list[str] = []


class Misspelled:
    name = "misspelled"

    @hookimpl
    def on_order_complete(self, store, order, invoice):  # a typo of on_order_completed
        pass


class Failing:
    name = "failing"

    @hookimpl
    def on_order_completed(self, store, order, invoice):
        CALLS.append("failing")
        raise RuntimeError("boom")


class Listening:
    name = "listening"

    @hookimpl
    def on_order_completed(self, store, order, invoice):
        CALLS.append(f"listening:{invoice.number}")


def _app_with(app, monkeypatch, *entry_points: EntryPoint, extra: tuple[str, ...] = ()):
    real = plugins_module.entry_points
    monkeypatch.setattr(
        plugins_module, "entry_points", lambda group: [*real(group=group), *entry_points]
    )
    return create_app({
        "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"], "REDIS_URL": None,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": app.instance_path,
        "EXTRA_PLUGINS": ("core.testing.dummy:DummyPlugin", *extra),
    })


def _enable_record(app, name: str) -> None:
    with app.app_context():
        with atomic():
            db.session.add(PluginRecord(name=name, installed=True, enabled=True))
        db.session.remove()


BROKEN = EntryPoint("broken", "no_such_module_anywhere:Plugin", ENTRY_POINT_GROUP)


def test_the_in_tree_plugins_are_found_through_the_entry_point_group(app):
    with app.app_context():
        names = {info.name for info in registry().describe()}
    assert set(driver_classes()) <= names  # every platform with a test driver has its plugin


def test_a_broken_plugin_that_is_enabled_stops_start_up(app, monkeypatch):
    _enable_record(app, "broken")
    with pytest.raises(PluginStartupError, match="broken"):
        _app_with(app, monkeypatch, BROKEN)


def test_a_broken_plugin_that_is_not_enabled_is_listed_with_its_error(app, monkeypatch):
    other = _app_with(app, monkeypatch, BROKEN)
    with other.app_context():
        broken = next(info for info in registry().describe() if info.name == "broken")
    assert "ModuleNotFoundError" in broken.error and not broken.enabled


def test_a_misspelled_hook_implementation_fails_loudly(app, monkeypatch):
    with pytest.raises(pluggy.PluginValidationError, match="on_order_complete"):
        _app_with(app, monkeypatch, extra=(f"{__name__}:Misspelled",))


def test_enabling_in_one_process_takes_effect_in_another_without_restart(app, monkeypatch):
    other = _app_with(app, monkeypatch)
    with other.app_context():
        assert registry().platform("dummy") is None
        db.session.remove()
    with app.app_context():
        registry().install("dummy")
        registry().enable("dummy")
        db.session.remove()
    with other.app_context():
        assert registry().platform("dummy") is not None
        db.session.remove()
    with app.app_context():
        registry().disable("dummy")
        db.session.remove()
    with other.app_context():
        assert registry().platform("dummy") is None


def test_a_failing_plugin_neither_blocks_the_others_nor_loses_the_event(app, monkeypatch, dummy_shop):
    """Events run one plugin at a time: the failure is logged with a retry, the other plugin ran."""
    from tests.integration.conftest import order_payload

    CALLS.clear()
    other = _app_with(app, monkeypatch, extra=(f"{__name__}:Failing", f"{__name__}:Listening"))
    with other.app_context():
        for name in ("failing", "listening"):
            registry().install(name)
            registry().enable(name)
        db.session.remove()
    other_client = other.test_client()
    dummy_shop.client = other_client
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]))
    assert "listening:INV-000001" in CALLS
    assert CALLS.count("failing") == 4  # first try and three retries
    with other.app_context():
        failures = db.session.execute(
            select(SyncLogEntry).where(SyncLogEntry.kind == "event", SyncLogEntry.status == "failed")
        ).scalars().all()
        assert failures and "plugin failing failed in on_order_completed" in failures[0].reason
        assert failures[0].retry["job"] == "core.integration.outbox.deliver"
        assert failures[0].retry["args"][1] == "failing"
