"""The webhook endpoint: one URL per store, ``/webhooks/<connection key>[/<topic>]``."""
from __future__ import annotations

from flask import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from core.integration import dispatcher
from core.integration.inbox import receive
from core.request_limits import read_body

webhooks_blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
# The app that receives webhooks runs the inbox's dispatcher in its workers (Redis mode).
webhooks_blueprint.record_once(lambda state: dispatcher.init_app(state.app))


@webhooks_blueprint.post("/<key>")
@webhooks_blueprint.post("/<key>/<topic>")
def receive_webhook(key: str, topic: str | None = None) -> tuple[dict[str, object], int]:
    # The body is read only once the key names a store (an unknown key gets 404, unread), and
    # never past WEBHOOK_MAX_BYTES (core.request_limits): a larger body gets 413. The topic, for
    # platforms that name the event only by the URL it is sent to, is the URL's last part.
    receipt = receive(key, request.headers.items(), read_body, topic=topic,
                      query=request.query_string.decode("latin-1"), content_type=request.content_type or "")
    body: dict[str, object] = {"status": receipt.status, "message": receipt.message}
    if receipt.delivery_id is not None:
        body["delivery_id"] = receipt.delivery_id
    return body, receipt.status


@webhooks_blueprint.errorhandler(RequestEntityTooLarge)
def body_too_large(error: RequestEntityTooLarge) -> tuple[dict[str, object], int]:
    return {"status": 413, "message": "the body is larger than this server accepts for a webhook"}, 413
