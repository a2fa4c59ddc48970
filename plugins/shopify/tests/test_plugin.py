"""The ShopifyPlugin class: its attributes, accounts, and hooks answering only for Shopify stores."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pluggy
import pytest

from core import hookspecs
from core.integration.inbox import webhook_request
from core.platform.base import Credentials
from core.platform.webhooks import Verdict
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
    monkeypatch.setattr(ShopifyPlugin, "credentials", lambda self, store: store.credentials)
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


def test_only_real_extension_points_are_hooks(manager: pluggy.PluginManager) -> None:
    """The plugin answers the lifecycle hook with its own accounts; the platform calls are methods."""
    assert manager.hook.register_default_accounts() == [ShopifyPlugin.default_accounts]
    assert not hasattr(manager.hook, "verify_webhook") and not hasattr(manager.hook, "store_api")


def test_webhook_calls_read_the_secret_from_the_stores_credentials(store: SimpleNamespace,
                                                                   shop: ShopifySandbox) -> None:
    plugin = ShopifyPlugin()
    body, headers = shop.build_delivery("orders/paid", shop.create_order([("COF-250", 1)], paid=True, send=False),
                                        event_id="e-9")
    request = webhook_request(headers, body)
    assert plugin.verify(store, request) is Verdict.AUTHENTIC
    store.credentials = store.credentials | {"client_secret": "rotated"}
    assert plugin.verify(store, request) is Verdict.REJECT
    assert plugin.delivery_key(store, request) == "event:e-9"
    event = plugin.parse(store, request)
    assert (event.kind, event.order.status) == ("order", "paid")


def test_the_store_api_is_a_client_for_the_stores_shop(store: SimpleNamespace) -> None:
    api = ShopifyPlugin().client(store, Credentials(store.credentials))
    assert isinstance(api, ShopifyClient)
    with api:
        assert api.check_credentials() == "Mizan Demo Store"
