"""Settings are typed, read from TRIAGE_* variables, and all listed in config/example.env."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from triage_service.errors import ConfigurationError
from triage_service.settings import Settings, load_settings

EXAMPLE_ENV = Path(__file__).resolve().parent.parent / "config" / "example.env"
GOOD_KEY = "k7Vq2mXw9RzT4pLs8NdB6hJc1YfG3aUe5QoK0iMv"
#: Production also needs the Web Push key and contact (made with `triage-service push-keys`).
PUSH_KEYS = {"TRIAGE_VAPID_PRIVATE_KEY": "KZBlwXpkHEeBPl8CWVwCLil3oKBf9RTofTOVZp-G2FM",
             "TRIAGE_VAPID_SUBJECT": "mailto:beheer@zorggroep.example.nl"}


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
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": GOOD_KEY,
                       "TRIAGE_KEYRING_PATH": str(tmp_path / "missing.json")})


def test_production_refuses_to_start_with_the_debugger_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigurationError, match="FLASK_DEBUG"):
        load_settings(env="production", instance_path=tmp_path, secret_key=GOOD_KEY)


def test_production_refuses_the_example_env_placeholder_as_secret_key() -> None:
    placeholder = re.search(r"^TRIAGE_SECRET_KEY=(.*)$", EXAMPLE_ENV.read_text(), re.MULTILINE)
    assert placeholder is not None
    with pytest.raises(ConfigurationError, match="placeholder"):
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": placeholder.group(1)})


def test_production_refuses_a_long_but_repetitive_secret_key() -> None:
    with pytest.raises(ConfigurationError, match="repetitive"):
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": "ab" * 30})


def _keys_made_by_a_development_instance(tmp_path: Path) -> tuple[Path, Path]:
    """What a developer's instance folder holds after ``triage-service demo``: generated keys."""
    from triage_service import create_app

    instance = tmp_path / "laptop"
    create_app(load_settings({"TRIAGE_INSTANCE_PATH": str(instance), "TRIAGE_DATABASE_URL": ""}))
    from triage_service.attachments.blobs import load_keyring

    load_keyring(load_settings({"TRIAGE_INSTANCE_PATH": str(instance)}))
    return instance / "keyring.json", instance / "field-keys.json"


def test_production_refuses_keys_copied_from_a_development_instance(tmp_path: Path) -> None:
    keyring, field_keys = _keys_made_by_a_development_instance(tmp_path)
    with pytest.raises(ConfigurationError, match="generated for 'development'"):
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": GOOD_KEY,
                       "TRIAGE_KEYRING_PATH": str(keyring), "TRIAGE_FIELD_KEYS_PATH": str(field_keys),
                       "TRIAGE_INSTANCE_PATH": str(tmp_path / "server")})


def test_production_starts_with_keys_created_for_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from triage_service.cli import main

    environment = {"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": GOOD_KEY, **PUSH_KEYS,
                   "TRIAGE_INSTANCE_PATH": str(tmp_path / "server"),
                   "TRIAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
                   "TRIAGE_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0"}  # loading settings does not connect
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["rotate-keys", "--new-keyring"])
    assert result.exit_code == 0, result.output
    settings = load_settings(environment)
    assert settings.is_production and '"made_for": "production"' in settings.keyring_path.read_text()


def test_production_refuses_key_files_made_before_they_were_stamped(tmp_path: Path) -> None:
    keyring, field_keys = _keys_made_by_a_development_instance(tmp_path)
    for path in (keyring, field_keys):
        content = json.loads(path.read_text())
        del content["made_for"]
        path.write_text(json.dumps(content))
    with pytest.raises(ConfigurationError, match="generated for 'unknown'"):
        load_settings({"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": GOOD_KEY,
                       "TRIAGE_KEYRING_PATH": str(keyring), "TRIAGE_FIELD_KEYS_PATH": str(field_keys)})


def test_production_refuses_rate_limits_counted_per_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from triage_service.cli import main

    environment = {"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": GOOD_KEY, **PUSH_KEYS,
                   "TRIAGE_INSTANCE_PATH": str(tmp_path / "server"), "TRIAGE_WORKERS": "2",
                   "TRIAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
                   "TRIAGE_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert CliRunner().invoke(main, ["rotate-keys", "--new-keyring"]).exit_code == 0
    load_settings(environment)  # production keys and a shared store: starts

    with pytest.raises(ConfigurationError, match=r"TRIAGE_RATE_LIMIT_STORAGE is memory:// with 2 workers.*redis://"):
        load_settings({**environment, "TRIAGE_RATE_LIMIT_STORAGE": "memory://"})
    load_settings({**environment, "TRIAGE_RATE_LIMIT_STORAGE": "memory://", "TRIAGE_WORKERS": "1"})  # one counts right


def test_a_webhook_claim_shorter_than_a_delivery_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TRIAGE_NOTIFICATION_CLAIM_SECONDS"):
        load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path), "TRIAGE_NOTIFICATION_TIMEOUT_SECONDS": "10",
                       "TRIAGE_NOTIFICATION_CLAIM_SECONDS": "20"})
