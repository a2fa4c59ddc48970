"""The webhook endpoint: one URL per store, ``/webhooks/<connection key>``."""
from __future__ import annotations

from flask import Blueprint, request

from core.integration.inbox import receive

webhooks_blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@webhooks_blueprint.post("/<key>")
def receive_webhook(key: str) -> tuple[dict[str, object], int]:
    receipt = receive(key, dict(request.headers), request.get_data(cache=False))
    body: dict[str, object] = {"status": receipt.status, "message": receipt.message}
    if receipt.delivery_id is not None:
        body["delivery_id"] = receipt.delivery_id
    return body, receipt.status
