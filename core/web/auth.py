"""Signing in and out, and the role each page needs."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import ratelimit
from core.services.users import end_sessions, sign_in
from core.web.redirects import safe_next

blueprint = Blueprint("auth", __name__)

ROLE_RANK = {"viewer": 0, "accountant": 1, "admin": 2}


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def role_required(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Pages that need at least ``role`` (viewer < accountant < admin); 403 otherwise."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def checked(*args: Any, **kwargs: Any) -> Any:
            if ROLE_RANK.get(current_user.role, -1) < ROLE_RANK[role]:
                abort(403)
            return view(*args, **kwargs)

        return checked

    return decorate


def can(role: str) -> bool:
    """In templates: whether the signed-in user has at least ``role``."""
    return bool(current_user.is_authenticated and ROLE_RANK.get(current_user.role, -1) >= ROLE_RANK[role])


@blueprint.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    """Sign in; too many attempts from one address answer 429 for a while, whatever is sent."""
    form = LoginForm()
    if request.method == "POST":
        wait = ratelimit.take_attempt("login")
        if wait is not None:
            flash(_("Too many sign-in attempts from your address. Try again in %(time)s.",
                    time=format_timedelta(timedelta(seconds=wait), threshold=1)), "error")
            return render_template("auth/login.html", form=form), 429
    if form.validate_on_submit():
        user = sign_in(
            form.username.data, form.password.data,
            current_app.config["LOGIN_MAX_FAILURES"], current_app.config["LOGIN_LOCK_MINUTES"],
        )
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
        form.password.errors.append(
            _("Wrong username or password, or the account is locked after too many attempts.")
        )
    return render_template("auth/login.html", form=form)


@blueprint.post("/logout")
@login_required
def logout():  # noqa: ANN201
    session["locale"] = current_user.locale  # the login page stays in the user's language
    end_sessions(current_user.id)  # a copy of this session's cookie stops working too
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
