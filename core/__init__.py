"""Mizan core: the Flask application factory."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from core import config
from core.extensions import db, migrate


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Mizan application.

    Configuration comes, in order, from :mod:`core.config` defaults, the instance
    file ``instance/mizan.cfg`` (when present), environment variables
    (``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``) and finally ``test_config``
    (whose ``INSTANCE_PATH`` key, if any, moves the instance folder).
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

    db.init_app(app)
    migrate.init_app(app, db, directory=config.migrations_directory())
    with app.app_context():
        from core.dbsetup import configure_engine

        configure_engine(db.engine)

    from core import jobs, models, plugins  # noqa: F401  (models: register the mappers)
    from core.api import api_blueprint
    from core.cli import register_commands
    from core.health import health_blueprint
    from core.integration.tasks import schedule_recovery
    from core.integration.webhooks import webhooks_blueprint

    jobs.init_app(app)
    schedule_recovery(app)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(webhooks_blueprint)
    app.register_blueprint(health_blueprint)
    plugins.init_app(app)
    register_commands(app)

    from core import web

    web.init_app(app)

    return app
