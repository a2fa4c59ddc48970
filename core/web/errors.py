"""Error pages for the web UI: a clear sentence and a way back, never a stack trace."""
from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def error_page(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    if isinstance(error, CSRFError):
        message = _("This form has expired or did not come from Mizan. Go back, reload the page and try again.")
    elif status == 403:
        message = _("Your role does not allow this page or action. Ask an administrator if you need it.")
    elif status == 404:
        message = _("There is nothing at this address.")
    elif status >= 500:
        message = _("Something went wrong on our side. It has been logged; please try again.")
    else:
        message = _("The request could not be handled.")
    return render_template("error.html", status=status, message=message), status
