"""The floor for bench/webhooks.py: a bare Flask app whose webhook endpoint only answers 200.

Serve it like Mizan: ``gunicorn -w 2 'bench.bare_app:app'``.
"""
from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.post("/webhooks/<key>")
def receive_webhook(key: str) -> tuple[dict[str, object], int]:
    request.get_data(cache=False)  # read the body, as the real endpoint does
    return {"status": 200, "message": "received"}, 200


@app.get("/")
def index() -> dict[str, str]:
    return {"name": "bare"}
