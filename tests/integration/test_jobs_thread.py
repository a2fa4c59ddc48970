"""The embedded default's background thread (``JOBS_MODE = "thread"``, used by ``flask demo serve``).

A webhook is answered once stored; the thread then books it (and runs the follow-up plugin
events) in its own app context, retries a failed job after its delay, and books what an earlier
process left unprocessed when it starts.
"""
from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from core import create_app
from core.extensions import db
from core.hookspecs import hookimpl
from core.jobs import run_in_background
from core.models import SalesInvoice, StoreOrder, WebhookDelivery
from core.plugins import registry
from core.testing.dummy import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from core.testing.sandbox import SandboxServer
from tests.integration.conftest import DUMMY_PLUGIN, SECRET, DummyShop, order_payload
from tests.integration.reads import count_in, delivery_row
from tests.integration.test_jobs_redis import wait_for
from tests.integration.test_jobs_retries import set_plugin

SLOW_SECONDS = 4.0  # far above a fast answer on any machine, yet a short test


class SlowListener:
    """A plugin that takes its time over each booked order, as a store answering slowly would."""

    name = "slow_listener"
    finished: list[float] = []

    @hookimpl
    def on_order_completed(self, store, order, invoice):  # noqa: ANN001, ANN201
        time.sleep(SLOW_SECONDS)
        self.finished.append(time.monotonic())


SLOW_PLUGIN = f"{__name__}:SlowListener"


@pytest.fixture
def thread_app(app, tmp_path):
    """An app on the session database whose jobs run in a background thread (stopped afterwards)."""
    made = []

    def make(**config):
        other = create_app({
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_PATH": str(tmp_path / f"instance-{uuid.uuid4().hex[:8]}"),
            "REDIS_URL": None,
            "JOBS_MODE": "thread",
            "EXTRA_PLUGINS": (DUMMY_PLUGIN, SLOW_PLUGIN),
            **config,
        })
        made.append(other)
        return other

    yield make
    for other in made:
        queue = other.extensions["mizan.jobs"]
        if hasattr(queue, "stop"):
            queue.stop()
        with other.app_context():
            db.engine.dispose()


def test_a_webhook_is_answered_before_its_slow_jobs_run_and_the_order_is_still_booked(app, thread_app, dummy_shop):
    """Issue 7 item 12: answered over HTTP before the slow jobs it starts have run (inline, the
    answer would wait for them: at least SLOW_SECONDS)."""
    served = thread_app()
    with served.app_context():
        registry().install("slow_listener")
        registry().enable("slow_listener")
        db.session.remove()
    SlowListener.finished.clear()
    body = order_payload([("MUG-01", "1", "25.00")])
    raw = json.dumps({"event": "order", "data": body}).encode()
    headers = {SIGNATURE_HEADER: sign(SECRET, raw), DELIVERY_HEADER: "fast-1", "Content-Type": "application/json"}

    with SandboxServer(served) as server:
        started = time.monotonic()
        response = httpx.post(f"{server.url}/webhooks/{dummy_shop.key}", content=raw, headers=headers, timeout=30)
        answered = time.monotonic() - started
        assert response.status_code == 200 and response.json()["message"] == "received"
        assert answered < SLOW_SECONDS, f"answered in {answered:.2f} s, after the slow job"
        wait_for(lambda: count_in(app, SalesInvoice) == 1 and bool(SlowListener.finished), 60,
                 "the order to be booked and its plugin event to run")
    assert SlowListener.finished[0] - started >= SLOW_SECONDS
    with app.app_context():
        assert db.session.get(WebhookDelivery, response.json()["delivery_id"]).status == "processed"
        db.session.remove()


def test_the_thread_retries_a_failed_job_after_its_delay(app, thread_app, dummy_shop, tmp_path):
    """The same retry delays as rq's: a job that failed once runs again 1 s later and books the order."""
    delivery_id = store_without_queueing(app, dummy_shop, tmp_path, "thread-retry")
    set_plugin(app, "dummy", enabled=False)  # the job cannot parse the delivery: it fails

    served = thread_app(JOB_RETRY_INTERVALS=(1, 1, 1))
    run_in_background(served)
    wait_for(lambda: delivery_row(app, delivery_id).attempts >= 1, 60, "the first attempt to fail")
    assert delivery_row(app, delivery_id).status == "received"
    set_plugin(app, "dummy", enabled=True)
    wait_for(lambda: delivery_row(app, delivery_id).status == "processed", 60, "the retry to book the order")
    assert count_in(app, SalesInvoice) == 1 and count_in(app, StoreOrder) == 1


def store_without_queueing(app, dummy_shop, tmp_path, key: str) -> int:
    """A delivery stored but never processed: received while Redis was unreachable."""
    down = create_app({
        "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path / f"down-{key}"), "REDIS_URL": "redis://127.0.0.1:1/0",
        "EXTRA_PLUGINS": (DUMMY_PLUGIN,),
    })
    lost = DummyShop(down.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    response = lost.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery=key)
    assert response.status_code == 200
    with down.app_context():
        db.engine.dispose()
    delivery_id = response.get_json()["delivery_id"]
    assert delivery_row(app, delivery_id).status == "received"
    return delivery_id


def test_the_thread_books_deliveries_left_unprocessed_when_it_starts(app, thread_app, dummy_shop, tmp_path):
    """Issue 7 item 12: a delivery stored but never processed (the last process died) is booked at start."""
    delivery_id = store_without_queueing(app, dummy_shop, tmp_path, "left-over")

    served = thread_app()
    run_in_background(served)  # what `flask demo serve` does before serving
    wait_for(lambda: delivery_row(app, delivery_id).status == "processed", 60, "the start-up recovery to book it")
    assert count_in(app, SalesInvoice) == 1
