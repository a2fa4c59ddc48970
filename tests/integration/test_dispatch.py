"""Issue 12: an acknowledgement is one read and one INSERT committed on its own; the workers' dispatcher queues the inbox."""
from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy import event, select

from core.extensions import db
from core.jobs import dispatch, make_worker
from core.models import SalesInvoice, StoreConnection, WebhookDelivery
from tests.integration.conftest import DUMMY_PLUGIN, DummyShop, order_payload
from tests.integration.reads import count

#: Nothing listens here: a Redis that cannot be reached.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def unreachable_redis_app(app, tmp_path):
    """The app on the session database with jobs on a Redis that is down."""
    from core import create_app

    down = create_app({
        "TESTING": True,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path / "down-instance"),
        "REDIS_URL": UNREACHABLE_REDIS,
        "JOB_QUEUE": f"mizan-test-{uuid.uuid4().hex}",
        "EXTRA_PLUGINS": (DUMMY_PLUGIN,),
    })
    yield down
    with down.app_context():
        db.engine.dispose()


def statements_of(app, action) -> tuple[list[str], int]:
    """The SQL statements (first words) and the number of COMMITs ``action()`` issues on ``app``'s engine."""
    statements: list[str] = []
    commits = [0]
    with app.app_context():
        engine = db.engine

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split())[:120])

    def on_commit(conn):
        commits[0] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
    return statements, commits[0]


def test_an_acknowledgement_is_one_read_and_one_insert_committed_on_its_own_and_never_updates_the_store(
    app, redis_app, redis_shop
):
    redis_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="warm-up")
    responses = []
    statements, commits = statements_of(redis_app, lambda: responses.append(
        redis_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="counted")))

    assert responses[0].status_code == 200 and responses[0].get_json()["message"] == "received"
    writes = [s for s in statements if s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert len(writes) == 1 and writes[0].upper().startswith("INSERT INTO WEBHOOK_DELIVERIES"), statements
    assert not any("store_connections" in s.lower() for s in writes)
    reads = [s for s in statements if s.upper().startswith("SELECT")]
    assert len(reads) == 1, statements  # the store by its key hash, with its plugin's enabled flag
    # Autocommit: the INSERT is a transaction of its own, with no BEGIN or COMMIT round trip ...
    assert commits == 0 and not any(s.upper().startswith(("BEGIN", "COMMIT")) for s in statements), statements
    # ... and it is committed when the answer goes out: another connection reads it at once.
    with app.app_context():
        stored = db.session.get(WebhookDelivery, responses[0].get_json()["delivery_id"])
        assert stored is not None and stored.delivery_key == "counted"
        db.session.remove()
    assert redis_app.extensions["mizan.jobs"].queue.count == 0  # no Redis on the request


def test_an_acknowledgement_gives_its_connection_back_to_the_pool_as_the_engine_set_it_up(app, dummy_shop):
    """The autocommit of the acknowledgement ends with it: on SQLite the driver stays in the mode
    core.dbsetup chose (it emits BEGIN itself), on PostgreSQL transactions begin again."""
    assert dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="pool").status_code == 200
    with app.app_context():
        pool = db.engine.pool
        pooled = [db.engine.raw_connection() for _ in range(pool.checkedin())]
        try:
            assert pooled
            for connection in pooled:
                if db.engine.dialect.name == "sqlite":
                    assert connection.driver_connection.isolation_level is None
                else:
                    assert connection.driver_connection.autocommit is False
        finally:
            for connection in pooled:
                connection.close()


def test_an_acknowledgement_succeeds_with_redis_unreachable_and_the_dispatcher_queues_it_later(
    app, redis_app, unreachable_redis_app, dummy_shop
):
    down_shop = DummyShop(unreachable_redis_app.test_client(), dummy_shop.key, dummy_shop.store_id, dummy_shop.ids)
    response = down_shop.deliver("order", order_payload([("MUG-01", "2", "25.00")]), delivery="while-down")
    assert response.status_code == 200 and response.get_json()["message"] == "received"
    delivery_id = response.get_json()["delivery_id"]

    assert dispatch(unreachable_redis_app) == 0  # the round fails; the claim is undone
    with app.app_context():
        assert db.session.get(WebhookDelivery, delivery_id).queued_at is None
        db.session.remove()

    assert dispatch(redis_app) == 1  # Redis is back (another worker): queued once
    assert dispatch(redis_app) == 0
    assert redis_app.extensions["mizan.jobs"].queue.count == 1
    make_worker(redis_app).work(burst=True)
    with app.app_context():
        assert count(SalesInvoice) == 1
        delivery = db.session.get(WebhookDelivery, delivery_id)
        assert delivery.status == "processed" and delivery.queued_at is not None
        db.session.remove()


def test_a_burst_worker_dispatches_the_inbox_before_it_stops(app, redis_app, redis_shop):
    for n in range(3):
        assert redis_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]),
                                  delivery=f"burst-{n}").status_code == 200
    make_worker(redis_app).work(burst=True)
    with app.app_context():
        assert count(SalesInvoice) == 3
        assert set(db.session.execute(select(WebhookDelivery.status)).scalars()) == {"processed"}
        db.session.remove()


def test_a_dispatch_round_claims_its_limit_of_the_oldest_deliveries_and_leaves_the_rest_waiting(app, redis_app, redis_shop):
    from core.integration.dispatcher import dispatch_inbox

    for n in range(30):
        assert redis_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]),
                                  delivery=f"round-{n}").status_code == 200
    with redis_app.app_context():
        assert dispatch_inbox(limit=12) == 12
        db.session.remove()
    with app.app_context():
        queued = db.session.execute(
            select(WebhookDelivery.id).where(WebhookDelivery.queued_at.is_not(None)).order_by(WebhookDelivery.id)
        ).scalars().all()
        everything = db.session.execute(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).scalars().all()
        assert queued == everything[:12]  # the oldest twelve; the other 18 wait for the next round
        db.session.remove()
    assert redis_app.extensions["mizan.jobs"].queue.count == 12


def test_a_duplicate_delivery_is_answered_duplicate_and_stored_once(app, redis_app, redis_shop):
    payload = order_payload([("MUG-01", "1", "25.00")])
    assert redis_shop.deliver("order", payload, delivery="twice").get_json()["message"] == "received"
    assert redis_shop.deliver("order", payload, delivery="twice").get_json()["message"].startswith("duplicate")
    assert dispatch(redis_app) == 1
    with app.app_context():
        assert count(WebhookDelivery) == 1
        db.session.remove()


def test_the_last_webhook_of_a_store_is_read_from_its_deliveries(app, dummy_shop):
    with app.app_context():
        assert db.session.get(StoreConnection, dummy_shop.store_id).last_webhook_at is None
        db.session.remove()
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="first")
    dummy_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]), delivery="second")
    with app.app_context():
        latest = db.session.execute(
            select(WebhookDelivery.received_at).order_by(WebhookDelivery.id.desc()).limit(1)
        ).scalar_one()
        store = db.session.get(StoreConnection, dummy_shop.store_id)
        assert store.last_webhook_at == latest and latest.tzinfo is not None
        db.session.remove()


def test_a_running_worker_dispatches_and_books_what_is_acknowledged_while_it_runs(app, redis_app, redis_shop, tmp_path):
    from tests.integration.test_jobs_redis import start_worker, wait_for

    log = tmp_path / "worker.log"
    worker = start_worker(redis_app, burst=False, log=log)
    try:
        for n in range(2):
            assert redis_shop.deliver("order", order_payload([("MUG-01", "1", "25.00")]),
                                      delivery=f"live-{n}").status_code == 200

        def booked() -> bool:
            with app.app_context():
                done = count(SalesInvoice) == 2
                db.session.remove()
            return done or worker.poll() is not None

        wait_for(booked, 120, "the worker to dispatch and book both deliveries")
        assert worker.poll() is None, log.read_text()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
