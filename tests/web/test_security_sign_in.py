"""Sign-in counting under parallel attempts, and a wrong username costing the time of a wrong password."""
from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import User
from core.services.users import create_user, sign_in

PASSWORD = "right-password-1"
PARALLEL = 8


def _user_row(app, username: str) -> tuple[int, object]:
    with app.app_context():
        row = db.session.execute(
            select(User.failed_logins, User.locked_until).where(User.username == username)
        ).one()
        db.session.remove()
    return row.failed_logins, row.locked_until


def _parallel_sign_ins(app, username: str, password: str, max_failures: int) -> list:
    """``PARALLEL`` threads released together by a barrier, each trying one sign-in."""
    barrier = threading.Barrier(PARALLEL)

    def attempt(_: int):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                return sign_in(username, password, max_failures, 15)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(attempt, range(PARALLEL)))


def test_eight_parallel_wrong_passwords_count_as_eight_failures(app):
    """The counter is increased in the database (one UPDATE ... RETURNING), so no failure is lost."""
    with app.app_context():
        create_user("target", PASSWORD)
        db.session.remove()
    results = _parallel_sign_ins(app, "target", "wrong-password", max_failures=100)
    assert results == [None] * PARALLEL
    assert _user_row(app, "target")[0] == PARALLEL


def test_eight_parallel_wrong_passwords_lock_an_account_that_allows_five(app):
    with app.app_context():
        create_user("target", PASSWORD)
        db.session.remove()
    _parallel_sign_ins(app, "target", "wrong-password", max_failures=5)
    failed, locked_until = _user_row(app, "target")
    assert locked_until is not None
    with app.app_context():
        assert sign_in("target", PASSWORD, 5, 15) is None  # locked: even the right password is refused
        db.session.remove()


def test_the_right_password_resets_the_count(app):
    with app.app_context():
        create_user("target", PASSWORD)
        assert sign_in("target", "wrong-password", 5, 15) is None
        assert sign_in("target", "wrong-password", 5, 15) is None
        assert sign_in("target", PASSWORD, 5, 15) is not None
        db.session.remove()
    assert _user_row(app, "target") == (0, None)


@pytest.mark.slow
def test_a_wrong_username_takes_as_long_as_a_wrong_password(app):
    """No username enumeration by timing: an unknown user is checked against a dummy hash."""
    with app.app_context():
        create_user("known", PASSWORD)
        sign_in("nobody-warm-up", "x", 100, 15)  # the dummy hash is made once
        wrong_user, wrong_password = [], []
        for _ in range(5):
            for name, samples in (("nobody-by-this-name", wrong_user), ("known", wrong_password)):
                started = time.perf_counter()
                assert sign_in(name, "wrong-password", 100, 15) is None
                samples.append(time.perf_counter() - started)
        db.session.remove()
    ratio = statistics.median(wrong_user) / statistics.median(wrong_password)
    assert 0.4 < ratio < 2.5, (wrong_user, wrong_password)
