"""The console script: what an operator runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from triage_service import cli
from triage_service.security.crypto import generate_client_keypair
from triage_service.settings import Settings


@pytest.fixture
def runner(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI against the test database (the app fixture has migrated and loaded demo data)."""
    monkeypatch.setattr(cli, "_app", lambda: app)
    return CliRunner()


def test_init_db_and_load_demo_can_run_twice(runner: CliRunner) -> None:
    for _ in range(2):
        assert runner.invoke(cli.main, ["init-db"]).exit_code == 0
        result = runner.invoke(cli.main, ["load-demo"])
        assert result.exit_code == 0, result.output


def test_a_gp_system_is_registered_with_its_public_key(runner: CliRunner, tmp_path: Path) -> None:
    _, jwks = generate_client_keypair("k1")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    result = runner.invoke(cli.main, ["register-client", "--name", "HIS X", "--organization-agb", "03067890",
                                      "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/Task.read"])
    assert result.exit_code == 0, result.output
    assert "client_id: his-" in result.output


@pytest.mark.parametrize(("agb", "scope", "message"), [
    ("99999999", "system/Task.read", "No organisation"),
    ("06010001", "system/Task.read", "not a GP practice"),
    ("03067890", "user/Task.read", "unsupported scope"),
])
def test_registering_a_client_wrongly_is_refused(runner: CliRunner, tmp_path: Path, agb: str, scope: str,
                                                 message: str) -> None:
    _, jwks = generate_client_keypair("k1")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    result = runner.invoke(cli.main, ["register-client", "--name", "HIS X", "--organization-agb", agb,
                                      "--jwks", str(tmp_path / "jwks.json"), "--scope", scope])
    assert result.exit_code == 2
    assert message in result.output


def test_a_private_key_is_never_accepted_as_a_jwks(runner: CliRunner, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    private_jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1())))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [private_jwk]}))
    result = runner.invoke(cli.main, ["register-client", "--name", "HIS X", "--organization-agb", "03067890",
                                      "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/Task.read"])
    assert result.exit_code == 2
    assert "private key" in result.output


def test_a_user_is_created_with_a_totp_enrolment_uri(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["create-user", "--username", "smit", "--name", "dr. K. Smit",
                                      "--practitioner-agb", "03100002"],
                           input="een-lang-wachtwoord\neen-lang-wachtwoord\n")
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/" in result.output


def test_a_short_password_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["create-user", "--username", "kort", "--name", "K"], input="kort\nkort\n")
    assert result.exit_code == 2
    assert "12 characters" in result.output


def test_importing_a_broken_agreement_prints_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("code: X\nname: Y\nbogus: 1\n")
    result = runner.invoke(cli.main, ["import-agreements", str(tmp_path)])
    assert result.exit_code == 2
    assert "x.yaml:3: bogus: Unknown field." in result.output
    assert "Nothing was imported." in result.output
