"""The shipped deployment (deploy/gunicorn.conf.py) keeps answering while slow clients hold connections."""
from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

from core.testing.slow_clients import Gunicorn, SlowClients, timed_gets

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def server_env(tmp_path: Path) -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": f"sqlite:///{tmp_path / 'mizan.sqlite'}",
            "WEB_CONCURRENCY": "2"}


def test_healthz_answers_without_a_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.mark.slow
def test_the_shipped_gunicorn_config_answers_while_16_slow_clients_never_finish_their_requests(tmp_path):
    """Issue 7 item 4: 16 connections trickling one header byte a second; normal GETs still answer."""
    config = ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    with Gunicorn(GUNICORN, config, env=server_env(tmp_path), cwd=ROOT, log=tmp_path / "gunicorn.log") as server:
        with SlowClients(server.port, 16):
            times = timed_gets(server.url + "/healthz", 5, timeout=10)
    assert None not in times, f"answers (s): {times}; log: {(tmp_path / 'gunicorn.log').read_text()[-2000:]}"
    assert max(times) < 10
