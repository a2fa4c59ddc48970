"""Configuration: embedded SQLite default, instance file and environment overrides."""
from __future__ import annotations

from core import create_app
from core.config import normalise_database_url


def test_without_configuration_the_app_uses_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/mizan.sqlite"
    assert app.config["REDIS_URL"] is None


def test_environment_variables_override_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/mizan")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/2")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/mizan"
    assert app.config["REDIS_URL"] == "redis://cache.example:6379/2"
    assert app.config["SECRET_KEY"] == "from-env"


def test_instance_file_is_read_and_environment_wins_over_it(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    (tmp_path / "mizan.cfg").write_text('SECRET_KEY = "from-file"\nAPI_PAGE_SIZE = 7\n')
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["API_PAGE_SIZE"] == 7
    assert app.config["SECRET_KEY"] == "from-env"


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
