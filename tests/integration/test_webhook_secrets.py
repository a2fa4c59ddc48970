"""Secrets in the inbox and the logs (issue 7, item 7): credential headers not kept, keys logged as a prefix.

Tokens carried in a body are stored encrypted: see the platform plugins' own tests."""
from __future__ import annotations

import logging
import sys
import threading

import httpx
from sqlalchemy import select
from werkzeug.serving import make_server

from core.extensions import db
from core.models import WebhookDelivery
from core.testing.sandbox import SandboxServer
from tests.integration.conftest import order_payload

BEARER = "Bearer proxy-credential-123456"


def test_an_order_delivery_is_stored_as_received_without_credential_headers(app, dummy_shop):
    order = order_payload([("MUG-01", "1", "25.00")])
    dummy_shop.client.environ_base["HTTP_AUTHORIZATION"] = BEARER
    try:
        assert dummy_shop.deliver("order", order).status_code == 200
    finally:
        del dummy_shop.client.environ_base["HTTP_AUTHORIZATION"]
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert not delivery.body_encrypted and b'"external_id"' in delivery.body
        assert "authorization" not in delivery.headers
        assert "x-dummy-signature" in delivery.headers
        assert delivery.status == "processed"


# --- logs ---------------------------------------------------------------------------------------


def test_the_access_log_of_a_real_server_shows_only_the_key_prefix(app, dummy_shop, caplog):
    """werkzeug's development server logs each request line; the key in it is cut to its prefix."""
    server = make_server("127.0.0.1", 0, app, threaded=True)  # the default handler logs requests
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            httpx.post(f"http://127.0.0.1:{server.server_port}/webhooks/{dummy_shop.key}", content=b"{}",
                       timeout=30)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("/webhooks/" + dummy_shop.key[:10] + "…" in line for line in lines), lines
    assert not any(dummy_shop.key in line for line in lines)


def test_a_crash_logged_by_flask_shows_only_the_key_prefix(app, dummy_shop, caplog):
    try:
        raise RuntimeError(f"failed on /webhooks/{dummy_shop.key}")
    except RuntimeError:
        exc_info = sys.exc_info()
    with app.test_request_context(f"/webhooks/{dummy_shop.key}", method="POST"), caplog.at_level(logging.ERROR):
        app.log_exception(exc_info)
    assert caplog.records, "Flask logged nothing"
    assert dummy_shop.key not in caplog.text
    assert dummy_shop.key[:10] + "…" in caplog.text


def test_gunicorn_access_log_atoms_show_only_the_key_prefix(app, dummy_shop, caplog):
    """gunicorn logs ``access_log_format % atoms`` on ``gunicorn.access``; the atoms are masked."""
    atoms = {"r": f"POST /webhooks/{dummy_shop.key} HTTP/1.1", "U": f"/webhooks/{dummy_shop.key}", "s": "200"}
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s %(U)s', atoms)
    assert dummy_shop.key not in caplog.text
    assert caplog.text.count(dummy_shop.key[:10] + "…") == 2


def test_a_webhook_served_by_a_quiet_server_still_works(app, dummy_shop):
    """The masking changes log lines only: the full key still reaches its store."""
    with SandboxServer(app) as server:
        response = httpx.post(f"{server.url}/webhooks/{dummy_shop.key}", content=b"{}", timeout=30)
    assert response.status_code == 401  # found the store, refused the (missing) signature
