"""Request size limits (issue 7, item 3): the key is checked before the body is read, bodies are capped."""
from __future__ import annotations

import io
import json
import socket

import pytest

from core.models import WebhookDelivery
from core.testing.dummy import SIGNATURE_HEADER, sign
from core.testing.sandbox import SandboxServer
from tests.integration.conftest import SECRET, order_payload
from tests.integration.reads import count

TWENTY_MB = 20 * 1024 * 1024


class CountingStream(io.RawIOBase):
    """An endless body of ``a`` bytes that counts how many the server read."""

    def __init__(self, size: int | None = None) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = len(buffer) if self.size is None else min(len(buffer), self.size - self.read_bytes)
        buffer[:left] = b"a" * left
        self.read_bytes += left
        return left


def post_stream(client, key: str, stream: CountingStream, *, length: int | None):
    """POST ``stream`` as the body: announced as ``length`` bytes, or chunked (a server that
    terminates the input stream, as gunicorn and werkzeug's server do for chunked bodies)."""
    overrides = {"wsgi.input": stream, "CONTENT_TYPE": "application/json"}
    if length is None:
        overrides.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    else:
        overrides["CONTENT_LENGTH"] = str(length)
    return client.post(f"/webhooks/{key}", environ_overrides=overrides)


def test_a_20_mb_post_to_an_unknown_key_is_404_and_the_body_is_not_read(app, client, dummy_shop):
    stream = CountingStream(TWENTY_MB)
    response = post_stream(client, "mzs_not-a-key-at-all", stream, length=TWENTY_MB)
    assert response.status_code == 404
    assert stream.read_bytes == 0


def test_a_20_mb_post_to_a_known_key_is_413_in_json_and_the_body_is_not_read(app, dummy_shop):
    stream = CountingStream(TWENTY_MB)
    response = post_stream(dummy_shop.client, dummy_shop.key, stream, length=TWENTY_MB)
    assert response.status_code == 413
    assert response.get_json()["status"] == 413
    assert stream.read_bytes == 0
    with app.app_context():
        assert count(WebhookDelivery) == 0


def test_a_chunked_body_without_length_is_read_only_up_to_the_limit(app, dummy_shop):
    """No Content-Length (chunked): the server reads at most the limit plus one buffer, then answers 413."""
    limit = app.config["WEBHOOK_MAX_BYTES"]
    stream = CountingStream()  # endless
    response = post_stream(dummy_shop.client, dummy_shop.key, stream, length=None)
    assert response.status_code == 413
    assert limit <= stream.read_bytes <= limit + 128 * 1024
    with app.app_context():
        assert count(WebhookDelivery) == 0


def test_a_signed_body_within_the_limit_is_still_received(app, dummy_shop):
    order = order_payload([("MUG-01", "1", "25.00")])
    body = json.dumps({"event": "order", "data": order, "padding": "x" * (1024 * 1024)}).encode()
    assert len(body) < app.config["WEBHOOK_MAX_BYTES"]
    response = dummy_shop.client.post(f"/webhooks/{dummy_shop.key}", data=body,
                                      headers={SIGNATURE_HEADER: sign(SECRET, body)})
    assert response.status_code == 200
    with app.app_context():
        assert count(WebhookDelivery) == 1


def _headers_only(url: str, path: str, length: int) -> bytes:
    """Send a POST's headers announcing ``length`` bytes, none of the body, and read the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


def test_a_real_server_answers_headers_only_posts_without_waiting_for_the_body(app, dummy_shop):
    """Over a socket that never sends the announced 20 MB: 404 for an unknown key, 413 for a known one."""
    with SandboxServer(app) as server:
        unknown = _headers_only(server.url, "/webhooks/mzs_unknownkey123", TWENTY_MB)
        known = _headers_only(server.url, f"/webhooks/{dummy_shop.key}", TWENTY_MB)
    assert unknown.startswith(b"HTTP/1.1 404")
    assert known.startswith(b"HTTP/1.1 413")


def test_an_api_body_over_the_api_limit_is_413_in_json(app, api):
    body = json.dumps({"name": "x" * (app.config["API_MAX_BYTES"] + 1)})
    response = api.post("/clients", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_a_web_form_over_the_app_wide_limit_is_413(app, client):
    response = client.post("/login", data=b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


@pytest.mark.parametrize("key", ["WEBHOOK_MAX_BYTES", "API_MAX_BYTES"])
def test_the_path_limits_are_tighter_than_the_app_wide_one(app, key):
    assert 0 < app.config[key] < app.config["MAX_CONTENT_LENGTH"]
