"""``GET /healthz``: the process answers (no database, no Redis), for load balancers and probes."""
from __future__ import annotations

from flask import Blueprint

health_blueprint = Blueprint("health", __name__)


@health_blueprint.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200
