"""Timestamps leave the API timezone-aware in UTC, with an offset, on SQLite and PostgreSQL alike."""
from datetime import UTC, datetime, timedelta, timezone

from core.extensions import db
from core.integration import connections
from core.models import Client, StoreConnection
from core.plugins import registry


def test_created_at_has_a_utc_offset(api):
    created = api.post("/clients", {"name": "Walk-in"}).get_json()
    for client in (created, api.get(f"/clients/{created['id']}").get_json(), api.get("/clients").get_json()["items"][0]):
        stamp = datetime.fromisoformat(client["created_at"])
        assert stamp.utcoffset() == timedelta(0), client["created_at"]
        assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)


def test_store_timestamps_have_a_utc_offset(app, api):
    with app.app_context():
        registry().install("dummy")
        registry().enable("dummy")
        db.session.remove()
    store = api.post("/stores", {"platform": "dummy", "name": "Shop"}, role="admin").get_json()
    shown = api.get(f"/stores/{store['id']}").get_json()
    for name in ("created_at", "key_created_at"):
        assert datetime.fromisoformat(shown[name]).utcoffset() == timedelta(0), (name, shown[name])


def test_timestamps_read_back_aware_and_in_utc_whatever_offset_they_were_written_with(app):
    riyadh = timezone(timedelta(hours=3))
    with app.app_context():
        registry().install("dummy")
        registry().enable("dummy")
        store, _ = connections.create_store("dummy", "Shop")
        store.activated_at = datetime(2026, 3, 1, 12, 0, tzinfo=riyadh)
        db.session.add(Client(name="Naive", created_at=datetime(2026, 3, 1, 9, 30)))
        db.session.commit()
        db.session.expire_all()
        activated = db.session.get(StoreConnection, store.id).activated_at
        naive = db.session.execute(db.select(Client.created_at)).scalar_one()
        db.session.remove()
    assert activated == datetime(2026, 3, 1, 9, 0, tzinfo=UTC) and activated.utcoffset() == timedelta(0)
    assert naive == datetime(2026, 3, 1, 9, 30, tzinfo=UTC) and naive.utcoffset() == timedelta(0)
