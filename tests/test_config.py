"""Configuration: embedded SQLite default, instance file and environment overrides."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import create_app
from core.config import ConfigurationError, normalise_database_url

ROOT = Path(__file__).resolve().parents[1]
STRONG = "3f9c2a7d41b86e05c9d2f7a1e4b03c58d6a9e2f17b4c08d3a5e6f91c2b7d4e80"


def test_without_configuration_the_app_uses_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", STRONG)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/mizan.sqlite"
    assert app.config["REDIS_URL"] is None


def test_environment_variables_override_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/mizan")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/2")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/mizan"
    assert app.config["REDIS_URL"] == "redis://cache.example:6379/2"
    assert app.config["SECRET_KEY"] == STRONG


def test_instance_file_is_read_and_environment_wins_over_it(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", STRONG)
    (tmp_path / "mizan.cfg").write_text(f'SECRET_KEY = "{STRONG[::-1]}"\nAPI_PAGE_SIZE = 7\n')
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["API_PAGE_SIZE"] == 7
    assert app.config["SECRET_KEY"] == STRONG


def test_postgres_urls_use_the_psycopg3_driver():
    assert normalise_database_url("postgres://a@h/d") == "postgresql+psycopg://a@h/d"
    assert normalise_database_url("postgresql+psycopg://a@h/d") == "postgresql+psycopg://a@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_workers_and_servers_take_the_job_queue_and_extra_plugins_from_the_environment(monkeypatch):
    from core.config import apply_environment

    monkeypatch.setenv("MIZAN_JOB_QUEUE", "mizan-ci")
    monkeypatch.setenv("MIZAN_EXTRA_PLUGINS", " core.testing.dummy:DummyPlugin, pkg.mod:Other ,")
    cfg: dict = {}
    apply_environment(cfg)
    assert cfg["JOB_QUEUE"] == "mizan-ci"
    assert cfg["EXTRA_PLUGINS"] == ("core.testing.dummy:DummyPlugin", "pkg.mod:Other")


# --- SECRET_KEY and ENCRYPTION_KEY outside debug and testing (issue 7, item 1) ---------------------


@pytest.fixture
def no_secrets_in_env(monkeypatch):
    for name in ("SECRET_KEY", "ENCRYPTION_KEY", "DATABASE_URL", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_secret_key_the_app_refuses_to_start_and_says_how_to_make_one(tmp_path, no_secrets_in_env):
    with pytest.raises(ConfigurationError) as refused:
        create_app({"INSTANCE_PATH": str(tmp_path)})
    message = str(refused.value)
    assert "SECRET_KEY is not set" in message
    assert "secrets.token_hex(32)" in message and str(tmp_path / "mizan.cfg") in message


@pytest.mark.parametrize("weak", [
    "dev-only-change-me",  # the old built-in default: anyone could forge an admin session with it
    "from-env",
    "x" * 64,  # long but not random
    "change-me",
])
def test_the_old_default_and_weak_secret_keys_are_refused(tmp_path, no_secrets_in_env, monkeypatch, weak):
    monkeypatch.setenv("SECRET_KEY", weak)
    with pytest.raises(ConfigurationError, match="SECRET_KEY is"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_a_weak_secret_key_in_the_instance_file_is_refused_too(tmp_path, no_secrets_in_env):
    (tmp_path / "mizan.cfg").write_text('SECRET_KEY = "dev-only-change-me"\n')
    with pytest.raises(ConfigurationError, match="publicly known"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_an_encryption_key_that_is_not_a_fernet_key_is_refused(tmp_path, no_secrets_in_env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("ENCRYPTION_KEY", "not-a-fernet-key")
    with pytest.raises(ConfigurationError, match="ENCRYPTION_KEY is not a Fernet key"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_testing_without_a_secret_key_gets_a_random_one_never_a_known_default(tmp_path, no_secrets_in_env):
    first = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "a")}).config["SECRET_KEY"]
    second = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "b")}).config["SECRET_KEY"]
    assert len(first) == 64 and first != second
    assert not (tmp_path / "a" / "mizan.cfg").exists()


def test_debug_without_a_secret_key_generates_one_into_the_instance_file_and_keeps_it(tmp_path, no_secrets_in_env):
    key = create_app({"DEBUG": True, "INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert len(key) == 64 and key in (tmp_path / "mizan.cfg").read_text()
    assert create_app({"DEBUG": True, "INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"] == key
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"] == key  # production reads it


def test_make_run_writes_a_secret_key_once_and_never_overwrites_it(tmp_path, no_secrets_in_env):
    """`make run` runs ``python -m core.instance_secret`` before any flask command."""
    command = [sys.executable, "-m", "core.instance_secret", str(tmp_path)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    cfg_file = tmp_path / "mizan.cfg"
    assert cfg_file.stat().st_mode & 0o077 == 0  # the owner's only
    with cfg_file.open("a") as edited:
        edited.write("API_PAGE_SIZE = 7\n")
    written = cfg_file.read_text()
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "generated" in first.stdout and "kept" in second.stdout
    assert cfg_file.read_text() == written
    app = create_app({"INSTANCE_PATH": str(tmp_path)})  # no DEBUG, no TESTING: the kept key is real
    assert app.config["SECRET_KEY"] in written and app.config["API_PAGE_SIZE"] == 7
