"""Mizan core: the Flask application factory."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core import config
from core.extensions import db, migrate


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Mizan application.

    Configuration comes, in order, from :mod:`core.config` defaults, the instance
    file ``instance/mizan.cfg`` (when present), environment variables
    (``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``) and finally ``test_config``
    (whose ``INSTANCE_PATH`` key, if any, moves the instance folder). Outside ``TESTING`` and
    ``DEBUG`` it raises :class:`core.config.ConfigurationError` without a real ``SECRET_KEY``.
    """
    instance_path = (test_config or {}).get("INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(config.Defaults)
    app.config.from_pyfile("mizan.cfg", silent=True)
    config.apply_environment(app.config)
    if test_config:
        app.config.update(test_config)
    config.finalise(app.config, app.instance_path)
    config.check_secrets(app.config, app.instance_path)
    hops = app.config["PROXY_HOPS"]
    if hops:  # the client's address and scheme as the trusted proxies saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from core import log_masking, request_limits

    log_masking.init_app(app)
    request_limits.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=config.migrations_directory())
    with app.app_context():
        from core.dbsetup import configure_engine

        configure_engine(db.engine, float(app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]))

    from core.requestguard import refuse_nul

    app.before_request(refuse_nul)  # first: no NUL character reaches a view or the database

    from core import headers, jobs, models, plugin_migrations, plugins, ratelimit  # noqa: F401  (models: the mappers)
    from core.api import api_blueprint
    from core.cli import register_commands
    from core.health import health_blueprint
    from core.integration import outbox
    from core.integration.tasks import schedule_recovery
    from core.integration.webhooks import webhooks_blueprint

    jobs.init_app(app)
    ratelimit.init_app(app)
    headers.init_app(app)
    outbox.init_app(app)  # the ledger's after-commit listener: dispatch the domain events it recorded
    schedule_recovery(app)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(webhooks_blueprint)
    app.register_blueprint(health_blueprint)
    plugins.init_app(app)
    plugin_migrations.init_app(app)
    register_commands(app)

    from core import web

    web.init_app(app)

    return app
