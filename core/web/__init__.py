"""The web interface: server-rendered pages for admins, accountants and viewers, in Arabic and English."""
from __future__ import annotations

from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from core.extensions import db

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def init_app(app: Flask) -> None:
    """Sign-in, CSRF on every form, the locale, and the page blueprints."""
    from core.api import api_blueprint
    from core.integration.webhooks import webhooks_blueprint
    from core.models import User
    from core.web import accounting, auth, catalog, dashboard, errors, i18n, sales

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The active user whose id and session version the session holds (see ``User.get_id``)."""
        user_id, _, version = session_id.partition(":")
        if not (user_id.isdigit() and version.isdigit()):
            return None  # e.g. a session from before session versions: sign in again
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return user

    csrf.init_app(app)
    csrf.exempt(api_blueprint)  # bearer tokens, no cookies
    csrf.exempt(webhooks_blueprint)  # signed by the platforms
    babel.init_app(app, locale_selector=i18n.select_locale)
    app.jinja_env.globals.update(i18n.template_globals())
    app.jinja_env.filters.update(i18n.filters())

    from core.web import plugins as plugin_pages
    from core.web import stores, sync

    for blueprint in (auth.blueprint, i18n.blueprint, dashboard.blueprint,
                      plugin_pages.blueprint, stores.blueprint, sync.blueprint,
                      accounting.blueprint, sales.blueprint, catalog.blueprint):
        app.register_blueprint(blueprint)
    app.extensions["mizan.error_page"] = errors.error_page
