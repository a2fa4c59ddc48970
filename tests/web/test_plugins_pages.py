"""The plugins page: discovered plugins with version and hooks; install, enable, disable, uninstall (admin only)."""
from __future__ import annotations

from core.extensions import db
from core.models import PluginRecord
from core.testing.kit.driver import driver_classes
from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)


def _record(app, name: str):
    with app.app_context():
        row = db.session.query(PluginRecord).filter_by(name=name).one_or_none()
        state = (row.installed, row.enabled) if row else (False, False)
        db.session.remove()
    return state


def test_lists_discovered_plugins_with_version_and_hooks(sign_in):
    page = sign_in("admin").text("/plugins/")
    assert 'id="plugin-dummy"' in page
    assert "Dummy store" in page and "1.0" in page
    assert "on_stock_changed" in page and "register_default_accounts" in page
    assert 'id="install-dummy"' in page
    for name in driver_classes():  # every installed platform, whatever its name
        assert f'id="plugin-{name}"' in page


def test_install_enable_disable_uninstall(app, sign_in):
    admin = sign_in("admin")
    response = admin.post("/plugins/dummy/install", follow_redirects=True)
    assert response.status_code == 200
    assert "is installed" in response.get_data(as_text=True)
    assert _record(app, "dummy") == (True, False)

    page = admin.post("/plugins/dummy/enable", follow_redirects=True).get_data(as_text=True)
    assert "is enabled" in page and 'id="disable-dummy"' in page
    assert _record(app, "dummy") == (True, True)

    admin.post("/plugins/dummy/disable")
    assert _record(app, "dummy") == (True, False)

    page = admin.post("/plugins/dummy/uninstall", follow_redirects=True).get_data(as_text=True)
    assert "is uninstalled" in page and 'id="install-dummy"' in page
    assert _record(app, "dummy") == (False, False)


def test_enabling_before_installing_says_why_without_an_error_page(app, sign_in):
    response = sign_in("admin").post("/plugins/dummy/enable", follow_redirects=True)
    assert response.status_code == 200
    assert "Install plugin dummy before enabling it." in response.get_data(as_text=True)
    assert _record(app, "dummy") == (False, False)


def test_unknown_plugin_or_action_is_404(sign_in):
    admin = sign_in("admin")
    assert admin.post("/plugins/nope/install").status_code == 404
    assert admin.post("/plugins/dummy/explode").status_code == 404


def test_only_admins_manage_plugins(app, sign_in):
    for role in ("viewer", "accountant"):
        user = sign_in(role)
        assert user.get("/plugins/").status_code == 403
        assert user.post("/plugins/dummy/install").status_code == 403
        assert "/plugins/" not in user.text("/")  # not in the navigation
    assert _record(app, "dummy") == (False, False)
    assert 'href="/plugins/"' in sign_in("admin").text("/")


def test_actions_need_the_csrf_token(app, sign_in):
    response = sign_in("admin").post("/plugins/dummy/install", csrf=False)
    assert response.status_code == 400
    assert _record(app, "dummy") == (False, False)
