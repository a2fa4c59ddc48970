"""The REST API under /api/v1."""
from flask import Blueprint

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
