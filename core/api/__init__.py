"""The REST API under /api/v1: token auth, JSON errors, one module per resource family."""
from flask import Blueprint

from core.api import (
    company,
    inbound,
    invoices,
    journal,
    master_data,
    openapi,
    plugins,
    reports,
    return_invoices,
    stock,
    stores,
    sync,
)
from core.api.auth import authenticate
from core.api.errors import register_error_handlers

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
api_blueprint.before_request(authenticate)
register_error_handlers(api_blueprint)
for module in (
    master_data, stock, invoices, return_invoices, inbound, journal, reports, company,
    plugins, stores, sync, openapi,
):
    module.register(api_blueprint)
