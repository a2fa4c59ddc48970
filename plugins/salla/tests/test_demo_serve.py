"""``flask demo serve`` answers a sandbox store's webhook at once and books the order after (issue 7 item 12)."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from core import create_app
from core.demo import seed_demo_data
from core.extensions import db
from core.models import SalesInvoice
from core.testing.slow_clients import free_port
from plugins.salla.sandbox import CONTROL_PREFIX

ROOT = Path(__file__).resolve().parents[3]
#: One real secret for the setup app and the demo process (they share encrypted store credentials).
SECRET_KEY = secrets.token_hex(32)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def invoice_references(url: str, tmp_path: Path) -> list[str | None]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path / "reader"), "REDIS_URL": None,
                      "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        references = list(db.session.execute(select(SalesInvoice.reference)).scalars())
        db.engine.dispose()
    return references


@pytest.mark.slow
def test_the_demo_answers_a_sandbox_webhook_fast_and_then_books_the_order(tmp_path):
    """The sandbox makes its next API calls answer 429, so booking the order and pushing its stock
    take seconds; the webhook is still answered in under 1 s, and the order is booked after."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    setup = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path / "instance"), "REDIS_URL": None,
                        "SECRET_KEY": SECRET_KEY})
    with setup.app_context():
        upgrade(revision="heads")
        seed_demo_data()
        db.engine.dispose()
    port, sandbox_port = free_port(), free_ports_in_a_row(4)  # the sandboxes of Salla, Shopify, WooCommerce and Zid
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "MIZAN_JOBS_MODE")}
    env.update({"FLASK_APP": "core", "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY})
    flask = Path(sys.executable).with_name("flask")
    log = tmp_path / "demo.log"
    with log.open("ab") as output:
        demo = subprocess.Popen([str(flask), "demo", "serve", "--port", str(port), "--sandbox-port", str(sandbox_port)],
                                cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    sandbox = f"http://127.0.0.1:{sandbox_port}{CONTROL_PREFIX}"  # Salla's sandbox comes first
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/login") and _answers(sandbox + "/state")
                 or demo.poll() is not None, 60, "the demo to serve")
        assert demo.poll() is None, log.read_text()[-3000:]
        assert httpx.post(sandbox + "/throttle", json={"count": 3}).status_code == 200
        started = time.monotonic()
        placed = httpx.post(sandbox + "/orders", json={"items": [{"sku": "MUG-01", "quantity": 1}],
                                                      "status": "completed"}, timeout=30)
        answered = time.monotonic() - started
        assert placed.status_code == 200, placed.text
        assert placed.json()["webhook"]["status"] == 200, (placed.json()["webhook"], log.read_text()[-3000:])
        # Before: 3.6 s (the booking ran in the request); now ~0.1 s; 2.5 s leaves room for a busy machine.
        assert answered < 2.5, f"the webhook was answered after {answered:.2f} s"
        reference = str(placed.json()["order"]["reference_id"])
        wait_for(lambda: any(reference in (r or "") for r in invoice_references(url, tmp_path)), 60,
                 "the order to be booked")
    finally:
        demo.terminate()
        try:
            demo.wait(timeout=20)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()


def free_ports_in_a_row(count: int) -> int:
    """The first of ``count`` consecutive free ports on loopback."""
    import socket

    for _ in range(100):
        first = free_port()
        try:
            for offset in range(1, count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        return first
    raise RuntimeError("no consecutive free ports")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
