"""Settings are typed, read from TRIAGE_* variables, and all listed in config/example.env."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from triage_service.errors import ConfigurationError
from triage_service.settings import Settings, load_settings

EXAMPLE_ENV = Path(__file__).resolve().parent.parent / "config" / "example.env"


def test_every_setting_is_listed_in_example_env() -> None:
    listed = set(re.findall(r"^(TRIAGE_[A-Z_]+)=", EXAMPLE_ENV.read_text(), re.MULTILINE))
    expected = {f"TRIAGE_{f.name.upper()}" for f in fields(Settings) if f.name != "extra"}
    assert listed == expected


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TRIAGE_SECRET_KEY"):
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="32"):
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": "short"})


def test_development_generates_and_keeps_a_secret_key(tmp_path: Path) -> None:
    first = load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path)})
    second = load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path)})
    assert len(first.secret_key) >= 32 and first.secret_key == second.secret_key


@pytest.mark.parametrize(("name", "value"), [("TRIAGE_MAX_PAGE_SIZE", "many"), ("TRIAGE_WORKERS", "0"),
                                             ("TRIAGE_ENV", "staging")])
def test_a_malformed_setting_is_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        load_settings({name: value, "TRIAGE_INSTANCE_PATH": str(tmp_path)})


def test_short_postgres_urls_use_psycopg_3(tmp_path: Path) -> None:
    settings = load_settings({"TRIAGE_DATABASE_URL": "postgresql://u@h/db", "TRIAGE_INSTANCE_PATH": str(tmp_path)})
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h/db"


def test_the_instance_folder_and_sqlite_database_are_private_to_the_owner(tmp_path: Path) -> None:
    from triage_service import create_app

    instance = tmp_path / "fresh-instance"
    app = create_app(load_settings({"TRIAGE_INSTANCE_PATH": str(instance), "TRIAGE_DATABASE_URL": ""}))
    with app.extensions["triage.engine"].connect():
        pass
    assert instance.stat().st_mode & 0o777 == 0o700
    assert (instance / "triage.sqlite3").stat().st_mode & 0o777 == 0o600
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_start_without_a_key_ring(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TRIAGE_KEYRING_PATH"):
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": "x" * 40,
                       "TRIAGE_KEYRING_PATH": str(tmp_path / "missing.json")})


def test_production_refuses_to_start_with_the_debugger_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigurationError, match="FLASK_DEBUG"):
        load_settings(env="production", instance_path=tmp_path, secret_key="x" * 40)
