"""The Salla plugin class: its attributes, credentials schema and hooks through pluggy (no database)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pluggy
import pytest
from marshmallow import ValidationError

from core import hookspecs
from core.integration.inbox import webhook_request
from core.platform.base import Credentials
from core.platform.webhooks import Verdict
from core.services.chart import DEFAULT_CHART
from plugins.salla import SallaPlugin
from plugins.salla.client import SallaClient
from plugins.salla.sandbox import SallaSandbox
from plugins.salla.schemas import DEFAULT_API_BASE, SallaCredentialsSchema
from plugins.salla.tests import MERCHANT, SECRET


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch, credentials: dict[str, Any]) -> pluggy.PluginManager:
    """A plugin manager holding only Salla, whose stores' credentials are ``credentials``."""
    monkeypatch.setattr(SallaPlugin, "credentials", lambda self, store: credentials)
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(SallaPlugin(), name="salla")
    pm.check_pending()
    return pm


def fake_store(platform: str = "salla") -> SimpleNamespace:
    return SimpleNamespace(id=1, platform=platform, settings={}, external_ref=str(MERCHANT))


def test_plugin_attributes() -> None:
    plugin = SallaPlugin()
    assert (plugin.name, plugin.title, plugin.completed_statuses) == ("salla", "Salla", ("completed",))
    assert plugin.registers_webhooks is False and plugin.clearing_account_key == "salla_clearing"
    assert set(plugin.secret_fields) == {"access_token", "refresh_token", "webhook_secret"}


def test_default_accounts_fit_the_default_chart_without_clashing() -> None:
    """C3: the Salla accounts hang under existing groups and take free codes and keys."""
    chart = {a.code: a for a in DEFAULT_CHART}
    keys = {a.key for a in DEFAULT_CHART}
    accounts = {a.key: a for a in SallaPlugin.default_accounts}
    assert set(accounts) == {"salla_clearing", "salla_sales", "salla_expenses"}
    for account in accounts.values():
        assert account.code not in chart and account.key not in keys
        assert chart[account.parent_code].is_group and chart[account.parent_code].type == account.type
    assert accounts["salla_clearing"].parent_code == "11"


def test_credentials_schema_defaults_and_refusals() -> None:
    loaded = SallaCredentialsSchema().load({"webhook_secret": "s"})
    assert loaded["api_base"] == DEFAULT_API_BASE and loaded["access_token"] is None
    sandbox = SallaCredentialsSchema().load({"webhook_secret": "s", "access_token": "a",
                                            "api_base": "http://127.0.0.1:5101/admin/v2", "branch_id": 7})
    assert sandbox["branch_id"] == 7
    for bad in ({}, {"webhook_secret": ""}, {"webhook_secret": "s", "api_base": "ftp://x"},
                {"webhook_secret": "s", "shop": "typo"}):
        with pytest.raises(ValidationError):
            SallaCredentialsSchema().load(bad)


def test_webhook_calls_and_the_lifecycle_hook(manager: pluggy.PluginManager, store: SallaSandbox) -> None:
    order = store.create_order([("COF-250", 1)], send=False)
    body, headers = store.build_delivery("order.created", order)
    plugin, salla = manager.get_plugin("salla"), fake_store()
    assert plugin.verify(salla, webhook_request(headers, body)) is Verdict.AUTHENTIC
    assert plugin.verify(salla, webhook_request(headers, body + b" ")) is Verdict.REJECT
    assert len(plugin.delivery_key(salla, webhook_request(headers, body))) == 64
    event = plugin.parse(salla, webhook_request(headers, body))
    assert (event.kind, event.external_id) == ("order", str(order["id"]))
    assert manager.hook.register_default_accounts() == [SallaPlugin.default_accounts]


def test_the_client_works_against_the_sandbox(manager: pluggy.PluginManager, credentials: dict[str, Any],
                                              store: SallaSandbox) -> None:
    api = manager.get_plugin("salla").client(fake_store(), Credentials(credentials))
    assert isinstance(api, SallaClient)
    with api:
        assert api.check_credentials() == store.store_name


def test_secret_comes_from_the_store_credentials(monkeypatch: pytest.MonkeyPatch,
                                                 store: SallaSandbox) -> None:
    body, headers = store.build_delivery("app.store.authorize", store.authorize(send=False))
    monkeypatch.setattr(SallaPlugin, "credentials", lambda self, s: {"webhook_secret": "other"})
    assert SallaPlugin().verify(fake_store(), webhook_request(headers, body)) is Verdict.REJECT
    monkeypatch.setattr(SallaPlugin, "credentials", lambda self, s: {"webhook_secret": SECRET})
    assert SallaPlugin().verify(fake_store(), webhook_request(headers, body)) is Verdict.AUTHENTIC
