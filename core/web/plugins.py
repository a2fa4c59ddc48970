"""The plugins page: discovered plugins, their version and hooks; install, enable, disable, uninstall (admin)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from core.extensions import db
from core.plugins import registry
from core.services.errors import ServiceError
from core.web.auth import role_required

blueprint = Blueprint("plugins", __name__, url_prefix="/plugins")

ACTIONS = ("install", "enable", "disable", "uninstall")


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""


@blueprint.get("/")
@role_required("admin")
def index():  # noqa: ANN201
    return render_template("plugins/index.html", plugins=registry().describe(), form=ActionForm())


@blueprint.post("/<name>/<action>")
@role_required("admin")
def act(name: str, action: str):  # noqa: ANN201
    if action not in ACTIONS:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    plugins = registry()
    if name not in plugins.names():
        abort(404)
    try:
        getattr(plugins, action)(name)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("plugins.index"))
    messages = {
        "install": _("Plugin %(name)s is installed and its default accounts exist. Enable it to use it.", name=name),
        "enable": _("Plugin %(name)s is enabled: you can now connect its stores.", name=name),
        "disable": _("Plugin %(name)s is disabled: its stores' webhooks are refused until you enable it again.",
                     name=name),
        "uninstall": _("Plugin %(name)s is uninstalled. Its accounts stay, since entries may use them.", name=name),
    }
    flash(messages[action], "info")
    return redirect(url_for("plugins.index"))
