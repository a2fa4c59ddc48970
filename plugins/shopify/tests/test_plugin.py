"""The ShopifyPlugin class: its attributes, accounts, and hooks answering only for Shopify stores."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pluggy
import pytest

from core import hookspecs
from core.services.chart import DEFAULT_CHART
from plugins import shopify
from plugins.shopify import ShopifyPlugin
from plugins.shopify.client import ShopifyClient
from plugins.shopify.sandbox import ShopifySandbox
from plugins.shopify.schemas import ShopifyCredentialsSchema
from plugins.shopify.tests.conftest import SHOP


@pytest.fixture
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(ShopifyPlugin(), name="shopify")
    pm.check_pending()  # every hook implementation names a real hook
    return pm


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, creds: dict[str, Any]) -> SimpleNamespace:
    """A store connection without a database: ``credentials(store)`` answers from the object."""
    monkeypatch.setattr(shopify, "credentials", lambda store: store.credentials)
    return SimpleNamespace(id=1, platform="shopify", settings={}, external_ref=SHOP, name="Demo",
                           credentials=creds)


def test_the_plugin_describes_itself() -> None:
    plugin = ShopifyPlugin()
    assert (plugin.name, plugin.title, plugin.version) == ("shopify", "Shopify", shopify.__version__)
    assert plugin.credentials_schema is ShopifyCredentialsSchema
    assert plugin.secret_fields == ("access_token", "client_secret")
    assert plugin.completed_statuses == ("paid", "fulfilled")
    assert plugin.registers_webhooks is True
    assert plugin.clearing_account_key == "shopify_clearing"


def test_the_default_accounts_fit_the_chart_without_clashing() -> None:
    accounts = ShopifyPlugin.default_accounts
    assert [(a.code, a.key, a.type, a.parent_code) for a in accounts] == [
        ("1105", "shopify_clearing", "asset", "11"), ("4106", "shopify_sales", "revenue", "4"),
        ("5104", "shopify_fees", "expense", "5")]
    chart = {a.code: a for a in DEFAULT_CHART}
    assert not {a.code for a in accounts} & set(chart)
    assert not {a.key for a in accounts} & {a.key for a in DEFAULT_CHART}
    assert all(chart[a.parent_code].is_group and chart[a.parent_code].type == a.type for a in accounts)
    assert all(a.name_en and a.name_ar for a in accounts)


def test_hooks_answer_for_shopify_stores_only(manager: pluggy.PluginManager, store: SimpleNamespace) -> None:
    other = SimpleNamespace(id=2, platform="salla", settings={})
    assert manager.hook.settings_schema(platform="shopify") is ShopifyCredentialsSchema
    assert manager.hook.settings_schema(platform="salla") is None
    assert manager.hook.register_default_accounts(plugin_name="shopify") == [ShopifyPlugin.default_accounts]
    assert manager.hook.register_default_accounts(plugin_name="salla") == []
    assert manager.hook.verify_webhook(store=other, headers={}, body=b"") is None
    assert manager.hook.parse_webhook(store=other, headers={}, body=b"") is None
    assert manager.hook.store_api(store=other) is None


def test_webhook_hooks_read_the_secret_from_the_stores_credentials(manager: pluggy.PluginManager,
                                                                   store: SimpleNamespace,
                                                                   shop: ShopifySandbox) -> None:
    body, headers = shop.build_delivery("orders/paid", shop.create_order([("COF-250", 1)], paid=True, send=False),
                                        event_id="e-9")
    assert manager.hook.verify_webhook(store=store, headers=headers, body=body) is True
    store.credentials = store.credentials | {"client_secret": "rotated"}
    assert manager.hook.verify_webhook(store=store, headers=headers, body=body) is False
    assert manager.hook.webhook_delivery_key(store=store, headers=headers, body=body) == "event:e-9"
    event = manager.hook.parse_webhook(store=store, headers=headers, body=body)
    assert (event.kind, event.order.status) == ("order", "paid")


def test_the_store_api_is_a_client_for_the_stores_shop(manager: pluggy.PluginManager,
                                                       store: SimpleNamespace) -> None:
    api = manager.hook.store_api(store=store)
    assert isinstance(api, ShopifyClient)
    with api:
        assert api.check_credentials() == "Mizan Demo Store"
